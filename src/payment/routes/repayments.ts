// Refunds at the payment server (DESIGN §3): POST /v1/repayments (1150 + 1170
// → 1160/1180), POST /v1/repayments/:permitId/receipt (1190 → 1200) and
// GET /v1/repayments/:shopId/:permitId (1210 → 1220). Both POSTs answer 201
// the first time and 200 with `idempotent-replay: true` and the same signed
// documents when they come again.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { ShortId } from '../../protocol/documents/fields.ts';
import { PartyId } from '../../protocol/identity.ts';
import { RemittanceCall, RepaymentReceiptCall } from '../../protocol/messages/payment.ts';
import { ok, type Result } from '../../protocol/result.ts';
import type { PaymentDeps } from '../deps.ts';
import type { IssueOutcome } from '../envelopes.ts';
import type { PayHttpErrorCode } from '../errors.ts';
import type { PurchaseOptions } from '../money-reception.ts';
import { remit } from '../remittance.ts';
import { acceptRepaymentReceipt, repaymentState } from '../repayments.ts';
import { sendResult } from './send.ts';

export const PermitParams = z.strictObject({ permitId: ShortId });
export const RepaymentParams = z.strictObject({ shopId: PartyId, permitId: ShortId });

function sendOutcome<T>(reply: FastifyReply, r: Result<IssueOutcome<T>, PayHttpErrorCode>): FastifyReply {
  void reply.header('cache-control', 'no-store');
  if (!r.ok) return sendResult(reply, r);
  if (r.value.replay) void reply.header('idempotent-replay', 'true');
  return sendResult(reply, ok(r.value.response), r.value.replay ? 200 : 201);
}

export function repaymentRoutes(app: FastifyInstance, deps: PaymentDeps, opts: PurchaseOptions = {}): void {
  app.post('/v1/repayments', async (request, reply) => {
    const body = parseOrThrow(RemittanceCall, request.body);
    return sendOutcome(reply, await remit(deps, opts, body));
  });

  app.post('/v1/repayments/:permitId/receipt', async (request, reply) => {
    const { permitId } = parseOrThrow(PermitParams, request.params, 'path');
    const body = parseOrThrow(RepaymentReceiptCall, request.body);
    return sendOutcome(reply, await acceptRepaymentReceipt(deps, opts, permitId, body));
  });

  app.get('/v1/repayments/:shopId/:permitId', async (request, reply) => {
    const { shopId, permitId } = parseOrThrow(RepaymentParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await repaymentState(deps, shopId, permitId));
  });
}
