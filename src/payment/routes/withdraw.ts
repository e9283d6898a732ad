// POST /v1/reserves/:reservePub/withdraw (withdraw.ts): 201 with the blind
// signatures the first time, 200 with the same signatures and
// `idempotent-replay: true` when the same request comes again.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { httpError } from '../../http/errors.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { Ed25519PublicKey, WithdrawRequest, type BlindSignaturesResponse } from '../../protocol/messages/payment.ts';
import { ok, type Result } from '../../protocol/result.ts';
import type { PaymentDeps } from '../deps.ts';
import type { IssueOutcome } from '../envelopes.ts';
import type { PayHttpErrorCode } from '../errors.ts';
import { withdraw } from '../withdraw.ts';
import { sendResult } from './send.ts';

export const WithdrawParams = z.strictObject({ reservePub: Ed25519PublicKey });

/** Shared with POST /v1/swap: 201 first time, 200 + `idempotent-replay: true` for a repeat. */
export function sendIssued(reply: FastifyReply, r: Result<IssueOutcome<BlindSignaturesResponse>, PayHttpErrorCode>): FastifyReply {
  void reply.header('cache-control', 'no-store');
  if (!r.ok) return sendResult(reply, r);
  if (r.value.replay) void reply.header('idempotent-replay', 'true');
  return sendResult(reply, ok(r.value.response), r.value.replay ? 200 : 201);
}

export function withdrawRoutes(app: FastifyInstance, deps: PaymentDeps): void {
  app.post('/v1/reserves/:reservePub/withdraw', async (request, reply) => {
    const { reservePub } = parseOrThrow(WithdrawParams, request.params, 'path');
    const body = parseOrThrow(WithdrawRequest, request.body);
    if (body.reservePub !== reservePub) {
      throw httpError('HTTP_SCHEMA_INVALID', 'the reserve key in the path and in the body differ', [{ path: 'reservePub', message: 'must equal the path parameter' }]);
    }
    return sendIssued(reply, await withdraw(deps, body));
  });
}
