// The purchase at the payment server (DESIGN §2): POST /v1/money-reception
// (150 → 160), POST /v1/payments/ecash and /v1/payments/account (170 → 180),
// POST /v1/purses (mode account: a purse registered to a shopper) and
// GET /v1/payments/:shopId/:transactionId. Both POSTs answer 201 the first
// time and 200 with `idempotent-replay: true` and the same signed documents
// when the same request comes again.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { ShortId } from '../../protocol/documents/fields.ts';
import { PartyId } from '../../protocol/identity.ts';
import { AccountPaymentRequest, EcashPaymentRequest, MoneyReceptionCall, PurseRegistrationCall } from '../../protocol/messages/payment.ts';
import { ok, type Result } from '../../protocol/result.ts';
import type { PaymentDeps } from '../deps.ts';
import { payEcash, paymentState } from '../ecash-payment.ts';
import type { IssueOutcome } from '../envelopes.ts';
import type { PayHttpErrorCode } from '../errors.ts';
import { moneyReception, type PurchaseOptions } from '../money-reception.ts';
import { payFromPurse, registerPurse } from '../purses.ts';
import { sendResult } from './send.ts';

export const PaymentParams = z.strictObject({ shopId: PartyId, transactionId: ShortId });

function sendOutcome<T>(reply: FastifyReply, r: Result<IssueOutcome<T>, PayHttpErrorCode>): FastifyReply {
  void reply.header('cache-control', 'no-store');
  if (!r.ok) return sendResult(reply, r);
  if (r.value.replay) void reply.header('idempotent-replay', 'true');
  return sendResult(reply, ok(r.value.response), r.value.replay ? 200 : 201);
}

export function purchaseRoutes(app: FastifyInstance, deps: PaymentDeps, opts: PurchaseOptions = {}): void {
  app.post('/v1/money-reception', async (request, reply) => {
    const body = parseOrThrow(MoneyReceptionCall, request.body);
    return sendOutcome(reply, await moneyReception(deps, opts, body));
  });

  app.post('/v1/payments/ecash', async (request, reply) => {
    const body = parseOrThrow(EcashPaymentRequest, request.body);
    return sendOutcome(reply, await payEcash(deps, body));
  });

  app.post('/v1/payments/account', async (request, reply) => {
    const body = parseOrThrow(AccountPaymentRequest, request.body);
    return sendOutcome(reply, await payFromPurse(deps, body));
  });

  app.post('/v1/purses', async (request, reply) => {
    const body = parseOrThrow(PurseRegistrationCall, request.body);
    return sendOutcome(reply, await registerPurse(deps, opts, body));
  });

  app.get('/v1/payments/:shopId/:transactionId', async (request, reply) => {
    const { shopId, transactionId } = parseOrThrow(PaymentParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, await paymentState(deps.db, shopId, transactionId));
  });
}
