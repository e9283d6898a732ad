// Operator endpoints (bearer token whose SHA-256 is in merchant.json).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireBearer } from '../../http/admin-auth.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { ShortId, Text } from '../../protocol/documents/fields.ts';
import { err, ok } from '../../protocol/result.ts';
import { REFUND_STATES } from '../db.ts';
import type { MerchantDeps } from '../deps.ts';
import { refreshOrderRefunds } from '../repayment-state.ts';
import { approveRepayment, refuseRepayment } from '../repayments.ts';
import { settleFromPaymentServer } from '../settle.ts';
import { storedSettlementReports } from '../settlement-reports.ts';
import { getOrder, listOrders, listRefunds, MAX_LISTED } from '../views.ts';
import { sendResult } from './send.ts';

export const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(MAX_LISTED).optional() });
export const RefundQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_LISTED).optional(),
  state: z.enum(REFUND_STATES).optional(),
  transactionId: ShortId.optional(),
});
export const OrderParams = z.strictObject({ transactionId: ShortId });
export const RequestParams = z.strictObject({ transactionId: ShortId, requestId: ShortId });
/** The reason is shown to the shopper as the shop wrote it: displayable text (fields.ts Text). */
export const RefuseBody = z.strictObject({ reason: Text(500) });

export function adminRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  app.get('/v1/admin/orders', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const q = parseOrThrow(ListQuery, request.query, 'query');
    const orders = await listOrders(deps.db, q.limit !== undefined ? { limit: q.limit } : {});
    return reply.header('cache-control', 'no-store').send({ orders });
  });

  app.get('/v1/admin/orders/:transactionId', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const { transactionId } = parseOrThrow(OrderParams, request.params, 'path');
    const order = await getOrder(deps.db, transactionId);
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, order ? ok(order) : err('MERCHANT_ORDER_NOT_FOUND', `no order ${transactionId}`));
  });

  // Asks the payment server now and settles the order if it was paid (settle.ts).
  app.post('/v1/admin/orders/:transactionId/refresh', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const { transactionId } = parseOrThrow(OrderParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await settleFromPaymentServer(deps, transactionId));
  });

  // The payment server's signed settlement reports as stored (checked when fetched: `merchant
  // settlements`, and `merchant serve` every settlementWatchSeconds); reading them asks nobody.
  app.get('/v1/admin/settlements', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    return reply.header('cache-control', 'no-store').send({ settlements: await storedSettlementReports(deps.db) });
  });

  // Refunds (1110 → 1140, 1210/1220).
  app.get('/v1/admin/repayments', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const q = parseOrThrow(RefundQuery, request.query, 'query');
    const repayments = await listRefunds(deps.db, {
      ...(q.limit !== undefined ? { limit: q.limit } : {}),
      ...(q.state !== undefined ? { state: q.state } : {}),
      ...(q.transactionId !== undefined ? { transactionId: q.transactionId } : {}),
    });
    return reply.header('cache-control', 'no-store').send({ repayments });
  });

  // Asks the payment server about the order's permits and records what it signed (repayment-state.ts).
  app.post('/v1/admin/orders/:transactionId/repayments/refresh', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const { transactionId } = parseOrThrow(OrderParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await refreshOrderRefunds(deps, transactionId));
  });

  app.post('/v1/admin/orders/:transactionId/repayments/:requestId/approve', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const { transactionId, requestId } = parseOrThrow(RequestParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await approveRepayment(deps, transactionId, requestId));
  });

  app.post('/v1/admin/orders/:transactionId/repayments/:requestId/refuse', async (request, reply) => {
    requireBearer(request, deps.config.adminTokenHashes);
    const { transactionId, requestId } = parseOrThrow(RequestParams, request.params, 'path');
    const { reason } = parseOrThrow(RefuseBody, request.body);
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await refuseRepayment(deps, transactionId, requestId, reason));
  });
}
