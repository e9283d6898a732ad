// POST /v1/orders/:transactionId/receipt (message 210 → 190 / 220). 200 with
// the signed completion; the same receipt again is answered with the same
// completion and `idempotent-replay: true`. Every refusal once the transaction
// id is known — a body that is not a receipt copy included — carries the
// refusal signed by the shop (`signedError`, message 220) next to the usual
// `{ code, message, details? }`. Bodies refused before the route (not JSON,
// too large, wrong content type) and a malformed transaction id are not
// signed: there is no transaction to bind the refusal to.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { describeIssues, parseOrThrow } from '../../http/validate.ts';
import { HTTP_STATUS } from '../../http/errors.ts';
import { ShortId, type JwsGeneral } from '../../protocol/documents/index.ts';
import { ReceiptCopy, type ReceiptRefusal } from '../../protocol/messages/merchant.ts';
import type { MerchantDeps } from '../deps.ts';
import { MERCHANT_STATUS } from '../errors.ts';
import { acceptReceipt } from '../receipts.ts';
import { signRefusal } from '../signed-error.ts';

export const ReceiptParams = z.strictObject({ transactionId: ShortId });

async function refuse(
  reply: FastifyReply,
  deps: MerchantDeps,
  status: number,
  refusal: { transactionId: string; code: string; message: string; details?: unknown; subject?: JwsGeneral },
): Promise<FastifyReply> {
  const signedError = await signRefusal(deps, refusal);
  const body: ReceiptRefusal = {
    code: refusal.code,
    message: refusal.message,
    ...(refusal.details !== undefined ? { details: refusal.details } : {}),
    signedError,
  };
  return reply.code(status).send(body);
}

export function receiptRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  app.post('/v1/orders/:transactionId/receipt', async (request, reply) => {
    const { transactionId } = parseOrThrow(ReceiptParams, request.params, 'path');
    void reply.header('cache-control', 'no-store');
    const body = ReceiptCopy.safeParse(request.body);
    if (!body.success) {
      return refuse(reply, deps, HTTP_STATUS.HTTP_SCHEMA_INVALID, {
        transactionId,
        code: 'HTTP_SCHEMA_INVALID',
        message: 'request body does not match the schema',
        details: describeIssues(body.error),
      });
    }
    const r = await acceptReceipt(deps, transactionId, body.data.receipt);
    if (!r.ok) {
      return refuse(reply, deps, MERCHANT_STATUS[r.code], {
        transactionId,
        code: r.code,
        message: r.message,
        ...(r.details !== undefined ? { details: r.details } : {}),
        subject: body.data.receipt,
      });
    }
    if (r.value.replay) void reply.header('idempotent-replay', 'true');
    return reply.code(200).send(r.value.response);
  });
}
