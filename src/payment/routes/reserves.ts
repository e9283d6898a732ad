// GET /v1/reserves/:reservePub and GET /v1/loading (loader.ts). Being written.
import type { FastifyInstance } from 'fastify';
import type { PaymentDeps } from '../deps.ts';

export function reserveRoutes(_app: FastifyInstance, _deps: PaymentDeps): void {}
