// History, one purchase with its documents, refunds and the evidence:
//
//   GET  /api/purchases                          the history (as `wallet history`)
//   GET  /api/purchases/:tx                      order sheet, invoice, receipt, refunds with permits, documents
//   POST /api/purchases/:tx/resume               finish an interrupted purchase (as `wallet buy --resume TX`)
//   POST /api/purchases/:tx/refunds {amount?, reason?}   ask for money back and follow it through
//   POST /api/refunds/:requestId/resume          finish a refund (e.g. once the shop approved it)
//   GET  /api/purchases/:tx/evidence             the evidence bundle, as a download
//
// The page's request for a refund is the shopper's decision to claim it: the
// permit is verified by the wallet (our request, our amount, the invoice's
// payment server) before anything is claimed, and shown afterwards.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { parseAmount } from '../../protocol/amount.ts';
import { err, ok } from '../../protocol/result.ts';
import { resumePurchases, type BuyDeps } from '../../wallet/buy.ts';
import { exportEvidence } from '../../wallet/export.ts';
import { purchaseHistory } from '../../wallet/purchases.ts';
import { refund, resumeRefunds, type RefundDeps } from '../../wallet/refund.ts';
import { PathId, sendResult, type RouteContext } from '../deps.ts';
import { purchaseView } from '../views.ts';

const TxParams = z.strictObject({ tx: PathId });
const RequestParams = z.strictObject({ requestId: PathId });

const RefundBody = z.strictObject({
  /** Default: all that is left of the purchase. */
  amount: z.string().min(1).max(40).optional(),
  reason: z.string().trim().min(1).max(500).optional(),
});

/** A file name that no header parser can misread. */
function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
}

export function purchaseRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const w = ctx.wallet;
  const refundDeps = (): RefundDeps => ({ now: ctx.now, fetch: ctx.fetch, seed: ctx.seed, passphrase: ctx.passphrase, confirm: async () => true });
  // Resuming never asks: the shopper accepted the invoice before the purchase was stored.
  const buyDeps = (): BuyDeps => ({ now: ctx.now, fetch: ctx.fetch, seed: ctx.seed, passphrase: ctx.passphrase, confirm: async () => false });

  app.get('/purchases', async () => purchaseHistory(w));

  app.get('/purchases/:tx', async (request, reply) => {
    const { tx } = parseOrThrow(TxParams, request.params, 'path');
    return sendResult(reply, await purchaseView(w, tx));
  });

  app.post('/purchases/:tx/resume', async (request, reply) => {
    const { tx } = parseOrThrow(TxParams, request.params, 'path');
    const found = await purchaseView(w, tx);
    // COMPLETED has nothing left to do: the answer is the purchase as it is.
    if (!found.ok || found.value.state === 'COMPLETED') return sendResult(reply, found);
    const r = await resumePurchases(w, buyDeps(), found.value.transactionId);
    if (!r.ok) return sendResult(reply, r);
    const failed = r.value.failed[0];
    if (failed) return sendResult(reply, err(failed.code, failed.message));
    return sendResult(reply, await purchaseView(w, tx));
  });

  app.post('/purchases/:tx/refunds', async (request, reply) => {
    const { tx } = parseOrThrow(TxParams, request.params, 'path');
    const body = parseOrThrow(RefundBody, request.body ?? {});
    let amount;
    if (body.amount !== undefined) {
      const a = parseAmount(body.amount);
      if (!a.ok) return reply.code(400).send({ code: a.code, message: `amount: ${a.message}` });
      amount = a.value;
    }
    const r = await refund(w, { transactionId: tx, reason: body.reason ?? 'refund', ...(amount ? { amount } : {}) }, refundDeps());
    return sendResult(reply, r, 201);
  });

  app.post('/refunds/:requestId/resume', async (request, reply) => {
    const { requestId } = parseOrThrow(RequestParams, request.params, 'path');
    const r = await resumeRefunds(w, refundDeps(), requestId);
    if (!r.ok) return sendResult(reply, r);
    const failed = r.value.failed[0];
    return sendResult(reply, failed ? err(failed.code, failed.message) : ok(r.value.resumed[0]!));
  });

  app.get('/purchases/:tx/evidence', async (request, reply) => {
    const { tx } = parseOrThrow(TxParams, request.params, 'path');
    const bundle = await exportEvidence(w, tx);
    if (!bundle.ok) return sendResult(reply, bundle);
    return reply
      .header('content-disposition', `attachment; filename="quittance-evidence-${fileSafe(bundle.value.transactionId)}.json"`)
      .type('application/json')
      .send(JSON.stringify(bundle.value, null, 2) + '\n');
  });
}
