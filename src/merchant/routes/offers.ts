// GET /v1/offers/:offerId: the offer a payment URI names, for the shopper's
// wallet to order exactly its lines. Public: offer ids are 128 random bits,
// and what it shows (lines, total, the shop's reference, expiry, state) is
// what the shop gave to whoever holds the URI.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { ShortId } from '../../protocol/documents/fields.ts';
import { err, ok } from '../../protocol/result.ts';
import type { MerchantDeps } from '../deps.ts';
import { findOffer } from '../offers.ts';
import { publicOfferView } from '../shop-views.ts';
import { sendResult } from './send.ts';

export const OfferParams = z.strictObject({ offerId: ShortId });

export function offerRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  app.get('/v1/offers/:offerId', async (request, reply) => {
    const { offerId } = parseOrThrow(OfferParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    const found = await findOffer(deps.db, offerId);
    if (!found) return sendResult(reply, err('MERCHANT_OFFER_NOT_FOUND', `no offer ${offerId}`));
    return sendResult(reply, ok(publicOfferView(deps, found.offer, found.order, deps.clock())));
  });
}
