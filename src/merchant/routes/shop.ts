// The shop integration API (issue 6): the shop's own backend, authenticated
// with an API key (`Authorization: Bearer qk_…`, api-keys.ts), creates offers
// and hands the shopper their payment URI, reads them with the payment state
// of the order that took them, and approves refunds. Every POST takes an
// `Idempotency-Key` (idempotency.ts).
//
// Pipeline: API key (401) → Idempotency-Key format (400) → body or query
// schema (400) → idempotency claim (409/422, or the stored answer) → business
// rules (404/409/422) → one transaction.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { httpError } from '../../http/errors.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { formatAmount } from '../../protocol/amount.ts';
import { ShortId } from '../../protocol/documents/fields.ts';
import { CreateShopOrder, ShopOrderListQuery, ShopRefundCall, type CreatedShopOrder } from '../../protocol/messages/shop.ts';
import { formatPaymentUri } from '../../protocol/payment-uri.ts';
import { err, ok } from '../../protocol/result.ts';
import { requireApiKey } from '../api-keys.ts';
import type { MerchantDeps } from '../deps.ts';
import { answerOf, idempotencyKeyOf, idempotent } from '../idempotency.ts';
import { createOffer } from '../offers.ts';
import { approveShopRefunds } from '../shop-refunds.ts';
import { getShopOrder, listShopOrders } from '../shop-views.ts';
import { sendResult } from './send.ts';

export const OfferParams = z.strictObject({ offerId: ShortId });
const DEFAULT_PAGE = 20;

/** The shop's base URL for payment URIs: merchant.json `url`, else the address this request came to. */
function shopUrl(deps: MerchantDeps, request: FastifyRequest): string {
  if (deps.config.url) return deps.config.url;
  try {
    return new URL(`${request.protocol}://${request.host}/`).href;
  } catch {
    throw httpError('HTTP_SCHEMA_INVALID', 'the Host header is not a host name', [{ path: '(header host)', message: 'not a host' }]);
  }
}

export function shopRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  app.post('/v1/shop/orders', async (request, reply) => {
    const key = await requireApiKey(deps.db, request);
    idempotencyKeyOf(request);
    const body = parseOrThrow(CreateShopOrder, request.body);
    const base = shopUrl(deps, request);
    return idempotent(deps, key.keyId, request, reply, async (idempotency) => {
      const r = await createOffer(deps, key.keyId, idempotency, body);
      if (!r.ok) return answerOf(r);
      const created: CreatedShopOrder = {
        offerId: r.value.offer_id,
        paymentUri: formatPaymentUri({ kind: 'offer', shop: base, offerId: r.value.offer_id }),
        amount: formatAmount({ currency: r.value.currency, minor: BigInt(r.value.total) }),
        expiresAt: r.value.expires_at,
      };
      return answerOf(ok(created), 201);
    });
  });

  app.get('/v1/shop/orders', async (request, reply) => {
    await requireApiKey(deps.db, request);
    const q = parseOrThrow(ShopOrderListQuery, request.query, 'query');
    const page = await listShopOrders(
      deps.db,
      { limit: q.limit ?? DEFAULT_PAGE, ...(q.state !== undefined ? { state: q.state } : {}), ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) },
      shopUrl(deps, request),
      deps.clock(),
    );
    return reply.header('cache-control', 'no-store').send(page);
  });

  app.get('/v1/shop/orders/:offerId', async (request, reply) => {
    await requireApiKey(deps.db, request);
    const { offerId } = parseOrThrow(OfferParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    const detail = await getShopOrder(deps.db, offerId, shopUrl(deps, request), deps.clock());
    return sendResult(reply, detail ? ok(detail) : err('MERCHANT_OFFER_NOT_FOUND', `no offer ${offerId}`));
  });

  app.post('/v1/shop/orders/:offerId/refunds', async (request, reply) => {
    const key = await requireApiKey(deps.db, request);
    idempotencyKeyOf(request);
    const { offerId } = parseOrThrow(OfferParams, request.params, 'path');
    const body = parseOrThrow(ShopRefundCall, request.body);
    return idempotent(deps, key.keyId, request, reply, async () => answerOf(await approveShopRefunds(deps, offerId, body)));
  });
}
