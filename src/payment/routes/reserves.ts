// GET /v1/reserves/:reservePub (long polling until a load arrives) and
// GET /v1/loading (where to send money to load a reserve).
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { parseAmount } from '../../protocol/amount.ts';
import { Ed25519PublicKey, ReserveQuery } from '../../protocol/messages/payment.ts';
import { err, ok } from '../../protocol/result.ts';
import { loadingAccounts } from '../bank-link.ts';
import type { PaymentDeps } from '../deps.ts';
import { waitForReserve } from '../reserves.ts';
import { sendResult } from './send.ts';

export const ReserveParams = z.strictObject({ reservePub: Ed25519PublicKey });

/**
 * Reserve polls per client address and minute. Anyone may poll (a reserve key
 * is no secret once sent to the bank), and each poll may hold a database
 * query every 150 ms for up to 30 s; a wallet waiting for its load makes one
 * poll at a time, so this is generous for it and bounds an anonymous flood.
 */
export const RESERVE_POLLS_PER_MINUTE = 120;

export function reserveRoutes(app: FastifyInstance, deps: PaymentDeps): void {
  // A long poll must not hold up shutdown for its whole wait: closing the
  // server answers every waiting poll with what it has.
  const closing = new AbortController();
  app.addHook('preClose', async () => {
    closing.abort();
  });

  void app.register(async (scoped) => {
    await scoped.register(rateLimit, { max: RESERVE_POLLS_PER_MINUTE, timeWindow: 60_000 });
    scoped.get('/v1/reserves/:reservePub', async (request, reply) => {
      const { reservePub } = parseOrThrow(ReserveParams, request.params, 'path');
      const q = parseOrThrow(ReserveQuery, request.query, 'query');
      const credited = q.credited === undefined ? undefined : parseAmount(q.credited);
      if (credited && !credited.ok) throw new TypeError('credited: schema let a bad amount through');
      // Stop polling for a client that has gone away.
      const gone = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) gone.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const view = await waitForReserve(deps.db, reservePub, {
          waitSeconds: q.wait,
          credited: credited?.value,
          signal: AbortSignal.any([gone.signal, closing.signal]),
        });
        void reply.header('cache-control', 'no-store');
        // Answered because the server is closing: a kept-alive socket would
        // otherwise hold the close up until the keep-alive timeout.
        if (closing.signal.aborted) void reply.header('connection', 'close');
        return sendResult(reply, view ? ok(view) : err('PAY_RESERVE_UNKNOWN', 'no load has reached this reserve (yet)'));
      } finally {
        reply.raw.off('close', onClose);
      }
    });
  });

  app.get('/v1/loading', async (_request, reply) => {
    const accounts = loadingAccounts(deps);
    if (!accounts) return sendResult(reply, err('PAY_LOADING_UNAVAILABLE', 'this payment server has no bank account to load from'));
    return sendResult(reply, ok({ accounts }));
  });
}
