// Settlement at the payment server (settlement.ts): POST /v1/settlements/query
// (a shop's signed query → its signed reports) and the operator's
// POST /v1/admin/settlements/run (bearer token from payment.json's
// adminTokenHashes), which runs a settlement now, like `quittance payment settle`.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireBearer } from '../../http/admin-auth.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { SettlementQueryCall } from '../../protocol/documents/index.ts';
import { PartyId } from '../../protocol/identity.ts';
import { err, ok } from '../../protocol/result.ts';
import type { Fetch } from '../bank-client.ts';
import type { PaymentDeps } from '../deps.ts';
import type { PurchaseOptions } from '../money-reception.ts';
import { querySettlements } from '../settlement-query.ts';
import { runSettlements, type SettlementDeps } from '../settlement.ts';
import { sendResult } from './send.ts';

export const RunBody = z.strictObject({ merchantId: PartyId.optional() });

export function settlementRoutes(app: FastifyInstance, deps: PaymentDeps & Pick<SettlementDeps, 'newSettlementId'>, opts: PurchaseOptions & { fetch?: Fetch } = {}): void {
  app.post('/v1/settlements/query', async (request, reply) => {
    const body = parseOrThrow(SettlementQueryCall, request.body);
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await querySettlements(deps, opts, body));
  });

  app.post('/v1/admin/settlements/run', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const body = parseOrThrow(RunBody, request.body ?? {});
    void reply.header('cache-control', 'no-store');
    if (!deps.bankLink) return sendResult(reply, err('PAY_SETTLEMENT_UNAVAILABLE', 'this payment server has no bank link (quittance payment link-bank)'));
    if (body.merchantId !== undefined && !(await deps.db.selectFrom('payment_merchants').select('merchant_id').where('merchant_id', '=', body.merchantId).executeTakeFirst())) {
      return sendResult(reply, err('PAY_MERCHANT_NOT_ACCEPTED', `no contract with merchant ${body.merchantId}`));
    }
    const r = await runSettlements(deps, opts.fetch ?? fetch, { ...(body.merchantId !== undefined ? { merchantId: body.merchantId } : {}), log: request.log });
    return sendResult(reply, ok(r));
  });
}
