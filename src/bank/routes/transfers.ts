// Transfers by account holders (from their own accounts) and the operator,
// and funding from the bank's issuance account (operator only, for demos).
import type { FastifyInstance } from 'fastify';
import { httpError } from '../../http/errors.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { FundRequest, TransferRequest } from '../../protocol/messages/bank.ts';
import { authenticate } from '../auth.ts';
import type { BankDeps } from '../deps.ts';
import { fund, transfer, type TransferOutcome } from '../transfers.ts';
import type { Result } from '../../protocol/result.ts';
import type { BankErrorCode } from '../errors.ts';
import { sendResult } from './send.ts';
import type { FastifyReply } from 'fastify';

// 201 when this request moved the money, 200 with the identical body when it
// repeated an earlier one (same transfer id, same request).
function sendTransfer(reply: FastifyReply, r: Result<TransferOutcome, BankErrorCode>): FastifyReply {
  if (!r.ok) return sendResult(reply, r);
  if (r.value.replayed) void reply.header('idempotent-replay', 'true');
  return reply.code(r.value.replayed ? 200 : 201).send(r.value.transfer);
}

export function transferRoutes(app: FastifyInstance, deps: BankDeps): void {
  app.post('/v1/transfers', async (request, reply) => {
    const actor = await authenticate(deps, request);
    const body = parseOrThrow(TransferRequest, request.body);
    return sendTransfer(reply, await transfer(deps, actor!, body));
  });

  app.post('/v1/admin/fund', async (request, reply) => {
    const actor = await authenticate(deps, request);
    if (actor?.kind !== 'operator') throw httpError('HTTP_FORBIDDEN', 'only the operator funds accounts');
    const body = parseOrThrow(FundRequest, request.body);
    return sendTransfer(reply, await fund(deps, body));
  });
}
