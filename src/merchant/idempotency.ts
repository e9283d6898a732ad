// `Idempotency-Key` on the POSTs of the shop API (DESIGN §6): a shop's backend
// that lost an answer sends the same request again with the same key and gets
// the first answer, never a second effect.
//
// Keyed by (API key, Idempotency-Key), so two integrations cannot collide or
// read each other's answers. The request is fingerprinted by SHA-256 over
// method, path and the RFC 8785 form of the JSON body (the same JSON spelled
// with other whitespace or key order is the same request):
//   same key, same request, answered  → the stored status and body, `idempotent-replay: true`
//   same key, another request         → 422 MERCHANT_IDEMPOTENCY_MISMATCH
//   same key, first copy still running → 409 MERCHANT_IDEMPOTENCY_IN_FLIGHT
// The first copy claims the key by inserting an in-flight row (the primary key
// decides between concurrent copies), runs, and stores its answer. Answers of
// 5xx and requests that threw are not stored: the key is released and a retry
// runs again. A claim older than STALE_CLAIM_MS (its process died) may be
// taken over; the operation is then told it resumes, and looks for what the
// dead run did by its own record (an offer remembers the Idempotency-Key it
// was created under).
// Rows live 24 hours: purged when the key is used again and by
// purgeIdempotencyKeys (the serve loop's sweep).
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { HttpError } from '../http/errors.ts';
import { canonicalize } from '../protocol/rfc8785.ts';
import type { Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import type { MerchantDatabase } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import { MERCHANT_STATUS, type MerchantHttpErrorCode } from './errors.ts';

type Db = Kysely<MerchantDatabase>;

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Far longer than any shop API request takes; a claim this old is a dead process's. */
export const STALE_CLAIM_MS = 2 * 60 * 1000;

/** 1–255 printable ASCII characters (RFC 9110 field values; spaces inside allowed). */
const KEY = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

export type Answer = { status: number; body: unknown };

/** A service result as the route would send it: the value with `okStatus`, or `{code, message, details?}` with the code's status. */
export function answerOf<T>(result: Result<T, MerchantHttpErrorCode>, okStatus = 200): Answer {
  if (result.ok) return { status: okStatus, body: result.value };
  const body = result.details === undefined ? { code: result.code, message: result.message } : { code: result.code, message: result.message, details: result.details };
  return { status: MERCHANT_STATUS[result.code], body };
}

function coded(code: MerchantHttpErrorCode, message: string, details?: unknown): HttpError {
  return new HttpError(MERCHANT_STATUS[code], code, message, details);
}

/** The request's Idempotency-Key, undefined when absent; a malformed one is a 400. */
export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !KEY.test(raw)) {
    throw coded('MERCHANT_IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 255 printable ASCII characters, given once');
  }
  return raw;
}

export function requestFingerprint(method: string, url: string, body: unknown): string {
  const canonical = canonicalize(body ?? null);
  // The body passed the JSON parser, so it is canonicalizable; anything else is a bug.
  if (!canonical.ok) throw new Error(`request body is not canonicalizable: ${canonical.code}`);
  return createHash('sha256').update(`${method}\n${url}\n${canonical.value}`, 'utf8').digest('hex');
}

type Claim = { kind: 'claimed'; resumed: boolean } | { kind: 'replay'; answer: Answer };

async function claim(deps: Pick<MerchantDeps, 'db' | 'clock' | 'isUniqueViolation'>, apiKeyId: string, key: string, hash: string): Promise<Claim> {
  const db = deps.db;
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = deps.clock();
    // Purged on use: a key older than its 24 hours is free again.
    await db
      .deleteFrom('merchant_idempotency_keys')
      .where('api_key_id', '=', apiKeyId)
      .where('idempotency_key', '=', key)
      .where('created_at', '<', new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString())
      .execute();
    try {
      await db
        .insertInto('merchant_idempotency_keys')
        .values({ api_key_id: apiKeyId, idempotency_key: key, request_hash: hash, state: 'in-flight', status: null, response_json: null, created_at: now.toISOString() })
        .execute();
      return { kind: 'claimed', resumed: false };
    } catch (e) {
      if (!deps.isUniqueViolation(e)) throw e;
    }
    const row = await db.selectFrom('merchant_idempotency_keys').selectAll().where('api_key_id', '=', apiKeyId).where('idempotency_key', '=', key).executeTakeFirst();
    if (!row) continue; // released or purged meanwhile: claim again
    if (row.request_hash !== hash) {
      throw coded('MERCHANT_IDEMPOTENCY_MISMATCH', 'this Idempotency-Key was used for another request (method, path or body) in the last 24 hours; use a new key');
    }
    if (row.state === 'done') return { kind: 'replay', answer: { status: row.status!, body: JSON.parse(row.response_json!) as unknown } };
    if (Date.parse(row.created_at) < now.getTime() - STALE_CLAIM_MS) {
      // Take over a dead claim, one taker at a time (the conditional update decides).
      const taken = await db
        .updateTable('merchant_idempotency_keys')
        .set({ created_at: now.toISOString() })
        .where('api_key_id', '=', apiKeyId)
        .where('idempotency_key', '=', key)
        .where('state', '=', 'in-flight')
        .where('created_at', '=', row.created_at)
        .executeTakeFirst();
      if (taken.numUpdatedRows > 0n) return { kind: 'claimed', resumed: true };
      continue;
    }
    throw coded('MERCHANT_IDEMPOTENCY_IN_FLIGHT', 'a request with this Idempotency-Key is still being processed; retry in a moment');
  }
  throw coded('MERCHANT_IDEMPOTENCY_IN_FLIGHT', 'this Idempotency-Key is contended; retry in a moment');
}

async function release(db: Db, apiKeyId: string, key: string): Promise<void> {
  await db.deleteFrom('merchant_idempotency_keys').where('api_key_id', '=', apiKeyId).where('idempotency_key', '=', key).where('state', '=', 'in-flight').execute();
}

/**
 * Runs `run` at most once per (API key, Idempotency-Key) and sends its answer;
 * without the header it simply runs. `run` receives the key, to record it with
 * whatever it creates, and whether it takes over a dead run's claim.
 */
export async function idempotent(
  deps: Pick<MerchantDeps, 'db' | 'clock' | 'isUniqueViolation'>,
  apiKeyId: string,
  request: FastifyRequest,
  reply: FastifyReply,
  run: (idempotency: { key: string; resumed: boolean } | undefined) => Promise<Answer>,
): Promise<FastifyReply> {
  void reply.header('cache-control', 'no-store');
  const key = idempotencyKeyOf(request);
  if (key === undefined) {
    const answer = await run(undefined);
    return reply.code(answer.status).send(answer.body);
  }
  const hash = requestFingerprint(request.method, request.url, request.body);
  const claimed = await claim(deps, apiKeyId, key, hash);
  if (claimed.kind === 'replay') return reply.code(claimed.answer.status).header('idempotent-replay', 'true').send(claimed.answer.body);
  let answer: Answer;
  try {
    answer = await run({ key, resumed: claimed.resumed });
  } catch (e) {
    await release(deps.db, apiKeyId, key);
    throw e;
  }
  // A 409 says the state is not ready yet (nothing awaits approval, an offer is taken): the same
  // request may succeed later, so it is not pinned to that answer for a day.
  if (answer.status >= 500 || answer.status === 409) await release(deps.db, apiKeyId, key);
  else {
    await withRetry(() =>
      deps.db
        .updateTable('merchant_idempotency_keys')
        .set({ state: 'done', status: answer.status, response_json: JSON.stringify(answer.body) })
        .where('api_key_id', '=', apiKeyId)
        .where('idempotency_key', '=', key)
        .where('state', '=', 'in-flight')
        .execute(),
    );
  }
  return reply.code(answer.status).send(answer.body);
}

/** Deletes the stored answers older than 24 hours; returns how many. For the serve loop's periodic sweep. */
export async function purgeIdempotencyKeys(db: Db, now: Date): Promise<number> {
  const r = await db.deleteFrom('merchant_idempotency_keys').where('created_at', '<', new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString()).executeTakeFirst();
  return Number(r.numDeletedRows);
}
