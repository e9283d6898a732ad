// Operator authentication by bearer token. The config holds only the token's
// SHA-256, so a leaked config file does not leak the credential.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { httpError } from './errors.ts';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newAdminToken(): string {
  return `qt_${randomBytes(32).toString('base64url')}`;
}

/** Throws 401 unless the request carries `Authorization: Bearer <token>` matching one of the hashes. */
export function requireBearer(request: FastifyRequest, tokenHashes: readonly string[]): void {
  const header = request.headers.authorization;
  if (!header) throw httpError('HTTP_AUTH_REQUIRED', 'operator authentication required (Authorization: Bearer …)');
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,256})$/.exec(header);
  if (!m) throw httpError('HTTP_AUTH_INVALID', 'malformed Authorization header');
  const presented = Buffer.from(hashToken(m[1]!), 'hex');
  // Compare against every configured hash without early exit (timing).
  let match = false;
  for (const h of tokenHashes) {
    const expected = Buffer.from(h, 'hex');
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) match = true;
  }
  if (!match) throw httpError('HTTP_AUTH_INVALID', 'operator token not accepted');
}
