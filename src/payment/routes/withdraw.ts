// POST /v1/reserves/:reservePub/withdraw (withdraw.ts). Being written.
import type { FastifyInstance } from 'fastify';
import type { PaymentDeps } from '../deps.ts';

export function withdrawRoutes(_app: FastifyInstance, _deps: PaymentDeps): void {}
