// Who is calling the bank: the operator (a bearer token whose SHA-256 is in
// bank.json) or an account holder (a bearer token issued when the holder's
// first account was opened; the bank stores only its SHA-256). A holder sees
// and debits only its own accounts.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { hashToken } from '../http/admin-auth.ts';
import { httpError } from '../http/errors.ts';
import type { BankDeps } from './deps.ts';

export type Actor = { readonly kind: 'operator' } | { readonly kind: 'holder'; readonly holder: string };

export const OPERATOR: Actor = Object.freeze({ kind: 'operator' });

export function newHolderToken(random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n))): string {
  return `qbh_${Buffer.from(random(32)).toString('base64url')}`;
}

/**
 * The caller, or undefined when the request carries no Authorization header
 * and `optional` is set (self-service opening). Bad credentials are always a
 * 401, never a fall-back to anonymous.
 */
export async function authenticate(deps: BankDeps, request: FastifyRequest, optional = false): Promise<Actor | undefined> {
  const header = request.headers.authorization;
  if (header === undefined) {
    if (optional) return undefined;
    throw httpError('HTTP_AUTH_REQUIRED', 'authentication required (Authorization: Bearer <holder or operator token>)');
  }
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{16,256})$/.exec(header);
  if (!m) throw httpError('HTTP_AUTH_INVALID', 'malformed Authorization header');
  const hash = hashToken(m[1]!);
  const presented = Buffer.from(hash, 'hex');
  // Every operator hash is compared, without early exit (timing).
  let operator = false;
  for (const h of deps.config.adminTokenHashes) {
    const expected = Buffer.from(h, 'hex');
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) operator = true;
  }
  if (operator) return OPERATOR;
  // A 256-bit random token: looking its hash up by index leaks nothing useful.
  const row = await deps.db.selectFrom('bank_holders').select('holder').where('token_hash', '=', hash).executeTakeFirst();
  if (!row) throw httpError('HTTP_AUTH_INVALID', 'token not accepted');
  return { kind: 'holder', holder: row.holder };
}
