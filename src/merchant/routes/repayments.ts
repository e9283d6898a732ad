// POST /v1/orders/:transactionId/repayments (message 1110 → 1140): 201 with
// the signed permit the first time, 202 while an operator must approve it
// (config refundsNeedApproval), 200 with the same answer (and
// `idempotent-replay: true`) when the same signed request comes again.
// GET /v1/orders/:transactionId/repayments/:requestId: the answer as it stands,
// which the wallet polls while the request awaits approval.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { ShortId } from '../../protocol/documents/index.ts';
import { RepaymentRequestCall } from '../../protocol/messages/merchant.ts';
import { ok } from '../../protocol/result.ts';
import type { MerchantDeps } from '../deps.ts';
import { acceptRepaymentRequest, repaymentAnswer } from '../repayments.ts';
import { sendResult } from './send.ts';

export const OrderParams = z.strictObject({ transactionId: ShortId });
export const RequestParams = z.strictObject({ transactionId: ShortId, requestId: ShortId });

export function repaymentRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  app.post('/v1/orders/:transactionId/repayments', async (request, reply) => {
    const { transactionId } = parseOrThrow(OrderParams, request.params, 'path');
    const body = parseOrThrow(RepaymentRequestCall, request.body);
    void reply.header('cache-control', 'no-store');
    const r = await acceptRepaymentRequest(deps, transactionId, body);
    if (!r.ok) return sendResult(reply, r);
    if (r.value.replay) void reply.header('idempotent-replay', 'true');
    const status = r.value.answer.state === 'awaiting-approval' ? 202 : r.value.replay ? 200 : 201;
    return sendResult(reply, ok(r.value.answer), status);
  });

  app.get('/v1/orders/:transactionId/repayments/:requestId', async (request, reply) => {
    const { transactionId, requestId } = parseOrThrow(RequestParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await repaymentAnswer(deps.db, transactionId, requestId));
  });
}
