// POST /v1/swap and GET /v1/coins/:coinPub (swap.ts, coins.ts). Being written.
import type { FastifyInstance } from 'fastify';
import type { PaymentDeps } from '../deps.ts';

export function coinRoutes(_app: FastifyInstance, _deps: PaymentDeps): void {}
