// GET /v1/catalogue and POST /v1/hello (messages 110 → 120).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { httpError } from '../../http/errors.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { HELLO_RESPONSE_TYP, type HelloResponse } from '../../protocol/documents/index.ts';
import { signDocument } from '../../protocol/jws.ts';
import { sellingConditionsHash } from '../config.ts';
import type { MerchantDeps } from '../deps.ts';
import { HelloRequest, type CatalogueView } from '../../protocol/messages/merchant.ts';
import { ACCEPTED_MODES, soldUnits } from '../orders.ts';

/** The configured public address, else the one this request came to, in its one canonical spelling. */
function publicUrl(deps: MerchantDeps, request: FastifyRequest): string {
  if (deps.config.url) return deps.config.url;
  try {
    const u = new URL(`${request.protocol}://${request.host}/`);
    return u.href;
  } catch {
    throw httpError('HTTP_SCHEMA_INVALID', 'the Host header is not a host name', [{ path: '(header host)', message: 'not a host' }]);
  }
}

export function catalogueRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  const catalogue: CatalogueView = {
    merchant: { id: deps.signer.partyId, name: deps.signer.displayName },
    articles: deps.config.catalogue.articles.map((a) => ({ id: a.id, name: a.name, unitPrice: a.unitPrice, ...(a.stock !== undefined ? { stock: a.stock } : {}) })),
    paymentModes: [...ACCEPTED_MODES],
    sellingConditions: { text: deps.config.catalogue.sellingConditions, hash: sellingConditionsHash(deps.config.catalogue.sellingConditions) },
  };

  const limited = deps.config.catalogue.articles.filter((a) => a.stock !== undefined).map((a) => a.id);
  app.get('/v1/catalogue', async (_request, reply) => {
    void reply.header('cache-control', 'no-cache');
    if (limited.length === 0) return reply.send(catalogue);
    // What is left: the listed stock minus the units in paid orders.
    const sold = await soldUnits(deps.db, limited);
    const articles = catalogue.articles.map((a) => {
      if (a.stock === undefined) return a;
      const left = BigInt(a.stock) - (sold.get(a.id) ?? 0n);
      return { ...a, stock: Number(left > 0n ? left : 0n) };
    });
    return reply.send({ ...catalogue, articles });
  });

  app.post('/v1/hello', async (request, reply) => {
    const { nonce } = parseOrThrow(HelloRequest, request.body);
    const hello: HelloResponse = {
      typ: HELLO_RESPONSE_TYP,
      nonce,
      merchant: { id: deps.signer.partyId, name: deps.signer.displayName, url: publicUrl(deps, request) },
      time: deps.clock().toISOString(),
    };
    // Fresh per nonce: the wallet knows the shop holds its key now.
    const jws = await signDocument({ payload: hello, typ: HELLO_RESPONSE_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
    return reply.header('cache-control', 'no-store').send(jws);
  });
}
