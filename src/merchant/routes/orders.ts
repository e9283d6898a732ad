// POST /v1/orders (message 130 → 140): 201 with the payment request the first
// time, 200 with the same invoice and `idempotent-replay: true` when the same
// signed order comes again.
import type { FastifyInstance } from 'fastify';
import { parseOrThrow } from '../../http/validate.ts';
import { ok } from '../../protocol/result.ts';
import type { MerchantDeps } from '../deps.ts';
import { OrderRequest } from '../../protocol/messages/merchant.ts';
import { acceptOrder } from '../orders.ts';
import { sendResult } from './send.ts';

export function orderRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  app.post('/v1/orders', async (request, reply) => {
    const body = parseOrThrow(OrderRequest, request.body);
    const r = await acceptOrder(deps, body);
    void reply.header('cache-control', 'no-store');
    if (!r.ok) return sendResult(reply, r);
    if (r.value.replay) void reply.header('idempotent-replay', 'true');
    return sendResult(reply, ok(r.value.response), r.value.replay ? 200 : 201);
  });
}
