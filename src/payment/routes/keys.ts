// The public key list: what wallets blind coins under and merchants check coins with.
import type { FastifyInstance } from 'fastify';
import type { PaymentDeps } from '../deps.ts';
import { signedKeyList } from '../key-list.ts';

export function keyRoutes(app: FastifyInstance, deps: PaymentDeps): void {
  app.get('/v1/keys', async (_request, reply) => {
    const jws = await signedKeyList(deps);
    // The list changes at rotations (days apart, announced an overlap ahead):
    // a few minutes of caching by clients and proxies is harmless.
    return reply.header('cache-control', 'public, max-age=300').send(jws);
  });
}
