// Operator endpoints (bearer token whose SHA-256 is in merchant.json).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireBearer } from '../../http/admin-auth.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { ShortId } from '../../protocol/documents/fields.ts';
import { err, ok } from '../../protocol/result.ts';
import type { MerchantDeps } from '../deps.ts';
import { settleFromPaymentServer } from '../settle.ts';
import { getOrder, listOrders, MAX_LISTED } from '../views.ts';
import { sendResult } from './send.ts';

const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(MAX_LISTED).optional() });
const OrderParams = z.strictObject({ transactionId: ShortId });

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
}
