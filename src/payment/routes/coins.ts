// POST /v1/swap (swap.ts) and GET /v1/coins/:coinPub (coins.ts).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { Ed25519PublicKey, SwapRequest } from '../../protocol/messages/payment.ts';
import { ok } from '../../protocol/result.ts';
import { coinState } from '../coins.ts';
import type { PaymentDeps } from '../deps.ts';
import { swap } from '../swap.ts';
import { sendResult } from './send.ts';
import { sendIssued } from './withdraw.ts';

export const CoinParams = z.strictObject({ coinPub: Ed25519PublicKey });

export function coinRoutes(app: FastifyInstance, deps: PaymentDeps): void {
  app.post('/v1/swap', async (request, reply) => {
    const body = parseOrThrow(SwapRequest, request.body);
    return sendIssued(reply, await swap(deps, body));
  });

  app.get('/v1/coins/:coinPub', async (request, reply) => {
    const { coinPub } = parseOrThrow(CoinParams, request.params, 'path');
    // A coin's state changes when it is spent: never cached.
    void reply.header('cache-control', 'no-store');
    return sendResult(reply, ok(await coinState(deps.db, coinPub)));
  });
}
