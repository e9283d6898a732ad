// Unauthenticated CA endpoints: registration, fetching a certificate, the CA
// chain and the CRL.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { RegistrationRequest } from '../../protocol/messages/ca.ts';
import type { CaDeps } from '../deps.ts';
import { currentCrl } from '../crl.ts';
import { getRegistration, submitRegistration } from '../registrations.ts';
import { sendResult } from './send.ts';

export const RegistrationId = z.strictObject({ id: z.string().regex(/^reg_[A-Za-z0-9_-]{22}$/, 'registration id') });

export function publicRoutes(app: FastifyInstance, deps: CaDeps): void {
  void app.register(async (scoped) => {
    // Registration is the one endpoint an anonymous client can make the CA
    // work (and store) for; limit it per client address.
    await scoped.register(rateLimit, {
      max: deps.config.registrationRateLimit.max,
      timeWindow: deps.config.registrationRateLimit.windowSeconds * 1000,
    });
    scoped.post('/v1/registrations', async (request, reply) => {
      const body = parseOrThrow(RegistrationRequest, request.body);
      const result = await submitRegistration(deps, body);
      return sendResult(reply, result, 201);
    });
  });

  app.get('/v1/registrations/:id', async (request, reply) => {
    const { id } = parseOrThrow(RegistrationId, request.params, 'path');
    return sendResult(reply, await getRegistration(deps, id));
  });

  app.get('/v1/ca/chain', async (_request, reply) => {
    return reply.type('application/pem-certificate-chain').send(deps.authority.chainPem.join(''));
  });

  // RFC 5280 §4.2.1.13 / RFC 2585: the CRL is served as DER with application/pkix-crl.
  app.get('/v1/ca/crl', async (_request, reply) => {
    const crl = await currentCrl(deps);
    return reply
      .type('application/pkix-crl')
      .header('cache-control', `public, max-age=${cacheSeconds(crl, deps.clock())}`)
      .send(Buffer.from(crl.der));
  });

  app.get('/v1/ca/crl.pem', async (_request, reply) => {
    const crl = await currentCrl(deps);
    const b64 = Buffer.from(crl.der).toString('base64').replace(/.{64}/g, '$&\n');
    return reply
      .type('application/x-pem-file')
      .header('cache-control', `public, max-age=${cacheSeconds(crl, deps.clock())}`)
      .send(`-----BEGIN X509 CRL-----\n${b64.replace(/\n$/, '')}\n-----END X509 CRL-----\n`);
  });
}

function cacheSeconds(crl: { nextUpdate: Date }, now: Date): number {
  // Cache for at most a few minutes so revocations propagate quickly.
  return Math.max(0, Math.min(300, Math.floor((crl.nextUpdate.getTime() - now.getTime()) / 1000)));
}
