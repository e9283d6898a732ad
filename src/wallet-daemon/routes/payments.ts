// Paying a payment URI through the trusted display:
//
//   POST /api/payments {uri, mode?, anonymous?}        → 202 the new session
//        (uri: quittance://pay?shop=…&items=A:1,B:2 or …&offer=ID, src/protocol/payment-uri.ts)
//   GET  /api/payments                                  → every kept session
//   GET  /api/payments/:id[?after=N&wait=S]             → the session (waits up to S s for a version > N)
//   POST /api/payments/:id/answer {accept, step}        → OK / Cancel of the prompt shown
//
// Steps: checking → merchant (the verified shop: accept?) → checking →
// invoice (accept?) → paying → done (receipt); or cancelled, or failed with
// the code of the check that stopped it (the hard stop).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { MAX_PAYMENT_URI_LENGTH, parsePaymentUri } from '../../protocol/payment-uri.ts';
import { err } from '../../protocol/result.ts';
import { PathId, sendResult, type RouteContext } from '../deps.ts';

const PaymentBody = z.strictObject({
  uri: z.string().min(1).max(MAX_PAYMENT_URI_LENGTH),
  mode: z.enum(['ecash', 'account']).optional(),
  anonymous: z.boolean().optional(),
});

const AnswerBody = z.strictObject({
  accept: z.boolean(),
  /**
   * The step the page showed, required: an answer to an older prompt (a double
   * click, a retried request) is refused instead of accepting a newer prompt
   * the shopper never saw — the invoice above all.
   */
  step: z.enum(['merchant', 'invoice']),
});

const SessionParams = z.strictObject({ sessionId: PathId });

/** Long polls end after at most this long; the page asks again. */
const MAX_WAIT_SECONDS = 30;

const SessionQuery = z.strictObject({
  after: z.string().regex(/^\d{1,9}$/).optional(),
  wait: z.string().regex(/^\d{1,2}$/).optional(),
});

export function paymentRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/payments', async (request, reply) => {
    const body = parseOrThrow(PaymentBody, request.body);
    const uri = parsePaymentUri(body.uri);
    // Malformed input of the page's own making: 400, not a failure of another party.
    if (!uri.ok) return reply.code(400).send({ code: uri.code, message: uri.message, ...(uri.details !== undefined ? { details: uri.details } : {}) });
    const mode = body.mode ?? 'ecash';
    const anonymous = body.anonymous ?? false;
    if (mode === 'account' && anonymous) {
      return sendResult(reply, err('WALLET_PAYMENT_MODE_UNAVAILABLE', 'an account payment names you (the purse is registered to your certified identity); pay anonymous purchases with e-money'));
    }
    const what = uri.value.kind === 'offer' ? { items: [], offer: uri.value.offerId } : { items: uri.value.items };
    return sendResult(reply, ctx.sessions.start({ shop: uri.value.shop, ...what, mode, anonymous }), 202);
  });

  app.get('/payments', async () => ({ sessions: ctx.sessions.list() }));

  app.get('/payments/:sessionId', async (request, reply) => {
    const { sessionId } = parseOrThrow(SessionParams, request.params, 'path');
    const q = parseOrThrow(SessionQuery, request.query, 'query');
    const wait = Math.min(Number(q.wait ?? 0), MAX_WAIT_SECONDS);
    if (q.after === undefined || wait === 0) return sendResult(reply, ctx.sessions.get(sessionId));
    return sendResult(reply, await ctx.sessions.wait(sessionId, Number(q.after), wait * 1000));
  });

  app.post('/payments/:sessionId/answer', async (request, reply) => {
    const { sessionId } = parseOrThrow(SessionParams, request.params, 'path');
    const body = parseOrThrow(AnswerBody, request.body);
    return sendResult(reply, ctx.sessions.answer(sessionId, body.accept, body.step));
  });
}
