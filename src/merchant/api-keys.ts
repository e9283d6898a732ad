// API keys of the shop's own backend (shop integration API, issue 6):
// `qk_<id>_<secret>`, the id 64 random bits (hex, shown in lists), the secret
// 256 random bits (base64url). Only the SHA-256 of the whole key is stored —
// a fast hash is enough for a 256-bit random secret, which no dictionary
// holds — so a leaked database lets no one call the API. Shown once, at creation.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { httpError, HttpError } from '../http/errors.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { MerchantDatabase } from './db.ts';
import { MERCHANT_STATUS, type MerchantErrorCode } from './errors.ts';

type Db = Kysely<MerchantDatabase>;

const KEY = /^qk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const BEARER = /^Bearer ([!-~]{1,200})$/;

export type ApiKeySummary = { keyId: string; name?: string; createdAt: string; revokedAt?: string };
export type CreatedApiKey = ApiKeySummary & { key: string };
export type AuthenticatedKey = { keyId: string };

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export async function createApiKey(db: Db, opts: { name?: string; now: Date }): Promise<CreatedApiKey> {
  const keyId = randomBytes(8).toString('hex');
  const key = `qk_${keyId}_${randomBytes(32).toString('base64url')}`;
  const createdAt = opts.now.toISOString();
  await db.insertInto('merchant_api_keys').values({ key_id: keyId, name: opts.name ?? null, key_hash: hashKey(key).toString('hex'), created_at: createdAt, revoked_at: null }).execute();
  return { keyId, ...(opts.name !== undefined ? { name: opts.name } : {}), createdAt, key };
}

/** Oldest first, revoked ones included. */
export async function listApiKeys(db: Db): Promise<ApiKeySummary[]> {
  const rows = await db.selectFrom('merchant_api_keys').select(['key_id', 'name', 'created_at', 'revoked_at']).orderBy('created_at').orderBy('key_id').execute();
  return rows.map((r) => ({ keyId: r.key_id, ...(r.name !== null ? { name: r.name } : {}), createdAt: r.created_at, ...(r.revoked_at !== null ? { revokedAt: r.revoked_at } : {}) }));
}

/** Revokes at once: the next request with it is refused. Revoking again keeps the first time. */
export async function revokeApiKey(db: Db, keyId: string, now: Date): Promise<Result<ApiKeySummary, Extract<MerchantErrorCode, 'MERCHANT_API_KEY_NOT_FOUND'>>> {
  await db.updateTable('merchant_api_keys').set({ revoked_at: now.toISOString() }).where('key_id', '=', keyId).where('revoked_at', 'is', null).execute();
  const row = await db.selectFrom('merchant_api_keys').select(['key_id', 'name', 'created_at', 'revoked_at']).where('key_id', '=', keyId).executeTakeFirst();
  if (!row) return err('MERCHANT_API_KEY_NOT_FOUND', `no API key ${keyId} (see \`merchant api-key list\`)`);
  return ok({ keyId: row.key_id, ...(row.name !== null ? { name: row.name } : {}), createdAt: row.created_at, ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}) });
}

function refused(code: 'MERCHANT_API_KEY_INVALID' | 'MERCHANT_API_KEY_REVOKED', message: string): HttpError {
  return new HttpError(MERCHANT_STATUS[code], code, message);
}

// Compared against when the id is unknown, so that an unknown id costs the same as a wrong secret.
const DUMMY_HASH = hashKey('qk_0000000000000000_unknown');

/**
 * Throws 401 unless the request carries `Authorization: Bearer qk_…` of a key
 * that exists and is not revoked. Revoked is told apart only to whoever holds
 * the very key (the secret matched), so a guessed id learns nothing.
 */
export async function requireApiKey(db: Db, request: FastifyRequest): Promise<AuthenticatedKey> {
  const header = request.headers.authorization;
  if (header === undefined) throw httpError('HTTP_AUTH_REQUIRED', 'an API key is required (Authorization: Bearer qk_…; `quittance merchant api-key create`)');
  const m = BEARER.exec(header);
  const key = m ? KEY.exec(m[1]!) : null;
  if (!key) throw refused('MERCHANT_API_KEY_INVALID', 'the Authorization header does not carry an API key (Bearer qk_<id>_<secret>)');
  const presented = hashKey(key[0]);
  const row = await db.selectFrom('merchant_api_keys').select(['key_id', 'key_hash', 'revoked_at']).where('key_id', '=', key[1]!).executeTakeFirst();
  const stored = row ? Buffer.from(row.key_hash, 'hex') : DUMMY_HASH;
  const match = stored.length === presented.length && timingSafeEqual(stored, presented);
  if (!row || !match) throw refused('MERCHANT_API_KEY_INVALID', 'API key not accepted');
  if (row.revoked_at !== null) throw refused('MERCHANT_API_KEY_REVOKED', `API key ${row.key_id} was revoked at ${row.revoked_at}`);
  return { keyId: row.key_id };
}
