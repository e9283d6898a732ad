// Blinded envelopes (RFC 9474 §4.3 inputs), shared by every flow that issues
// coins: withdrawal, swap, the change of a payment (issue 4) and a refund in
// fresh coins (issue 5). Each flow checks its envelopes, signs them outside
// its transaction (RSA is CPU work that must not hold locks) and records them
// inside it.
//
// An envelope is signed once (payment_issued_envelopes' primary key is its
// SHA-256): a wallet that reused one would pay twice for one coin, and the
// float is the value of the envelopes issued minus that of the coins spent.
import { Buffer } from 'node:buffer';
import { createHash, type KeyObject } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { blindSign, denominationPublicKey } from '../crypto/blind-signer.ts';
import { decodeBase64url, encodeBase64url } from '../protocol/base64url.ts';
import type { Envelope } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { PaymentDatabase } from './db.ts';
import { findDenomination, type DenominationUse, type FoundDenomination } from './denominations.ts';
import type { PaymentDeps } from './deps.ts';
import type { PayHttpErrorCode } from './errors.ts';

type Db = Kysely<PaymentDatabase>;
type DenominationDeps = Pick<PaymentDeps, 'db' | 'wrapKey' | 'caches'>;

export type IssueSource = 'withdraw' | 'swap' | 'change' | 'refund';

/** A request that issues coins answers with this; `replay` when it repeats what the first copy got. */
export type IssueOutcome<T> = { response: T; replay: boolean };

export type CheckedEnvelope = {
  position: number;
  denominationId: string;
  currency: string;
  value: bigint;
  blindedMessage: Uint8Array;
  /** SHA-256 of the blinded message, base64url: the once-only key. */
  hash: string;
  privateKey: () => KeyObject;
};

export function sha256B64u(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Each distinct denomination of `ids` usable for `use` at `now`, looked up
 * once; the first refusal in request order otherwise.
 */
export async function lookupDenominations(deps: DenominationDeps, ids: readonly string[], now: Date, use: DenominationUse, what: string): Promise<Result<Map<string, FoundDenomination>, PayHttpErrorCode>> {
  const found = new Map<string, FoundDenomination>();
  for (const [i, id] of ids.entries()) {
    if (found.has(id)) continue;
    const d = await findDenomination(deps, id, now, use);
    if (!d.ok) return err(d.code, `${what} ${i}: ${d.message}`);
    found.set(id, d.value);
  }
  return ok(found);
}

/**
 * Envelopes a request may have signed in `currency`: each denomination
 * withdrawable at `now`, each blinded message an integer of the modulus'
 * length below n (RFC 9474 §4.3 step 1).
 */
export async function checkEnvelopes(deps: DenominationDeps, envelopes: readonly Envelope[], currency: string, now: Date): Promise<Result<CheckedEnvelope[], PayHttpErrorCode>> {
  const denominations = await lookupDenominations(
    deps,
    envelopes.map((e) => e.denominationId),
    now,
    'withdraw',
    'envelope',
  );
  if (!denominations.ok) return denominations;
  const out: CheckedEnvelope[] = [];
  for (const [position, e] of envelopes.entries()) {
    const d = denominations.value.get(e.denominationId)!;
    if (d.key.currency !== currency) return err('PAY_CURRENCY_MISMATCH', `envelope ${position}: denomination is in ${d.key.currency}, the request in ${currency}`);
    // The schema admitted canonical base64url only.
    const blinded = decodeBase64url(e.blindedMessage);
    if (!blinded) throw new TypeError('blindedMessage: schema let bad base64url through');
    // The same test blindSign makes, before any signing: refuse the whole request up front.
    const invalid = envelopeProblem(d.privateKey(), blinded);
    if (invalid !== undefined) return err('PAY_ENVELOPE_INVALID', `envelope ${position}: ${invalid}`);
    out.push({ position, denominationId: e.denominationId, currency, value: d.key.value, blindedMessage: blinded, hash: sha256B64u(blinded), privateKey: d.privateKey });
  }
  return ok(out);
}

function envelopeProblem(privateKey: KeyObject, blinded: Uint8Array): string | undefined {
  const { n } = denominationPublicKey(privateKey);
  const kLen = Math.ceil(n.toString(16).length / 2);
  if (blinded.length !== kLen) return `blinded message must be ${kLen} bytes, the denomination key's modulus length`;
  if (BigInt(`0x${Buffer.from(blinded).toString('hex')}`) >= n) return "blinded message is not below the denomination key's modulus";
  return undefined;
}

export function totalValue(items: readonly { value: bigint }[]): bigint {
  return items.reduce((sum, i) => sum + i.value, 0n);
}

/** PAY_ENVELOPE_REUSED when any of the envelopes was signed before (by any request). */
export async function refuseReusedEnvelopes(db: Db, envelopes: readonly CheckedEnvelope[]): Promise<Result<void, PayHttpErrorCode>> {
  const used = await db
    .selectFrom('payment_issued_envelopes')
    .select('envelope_hash')
    .where(
      'envelope_hash',
      'in',
      envelopes.map((e) => e.hash),
    )
    .executeTakeFirst();
  if (!used) return ok(undefined);
  const position = envelopes.find((e) => e.hash === used.envelope_hash)!.position;
  return err('PAY_ENVELOPE_REUSED', `envelope ${position} was already signed in another request; blind a fresh coin`);
}

/** RFC 9474 BlindSign of every envelope, base64url, in order. CPU only: call it outside a transaction. */
export function signEnvelopes(envelopes: readonly CheckedEnvelope[]): Result<string[], PayHttpErrorCode> {
  const out: string[] = [];
  for (const e of envelopes) {
    const s = blindSign(e.privateKey(), e.blindedMessage);
    if (!s.ok) return err('PAY_ENVELOPE_INVALID', `envelope ${e.position}: ${s.message}`);
    out.push(encodeBase64url(s.value));
  }
  return ok(out);
}

/**
 * Records the signed envelopes inside the issuing transaction. A unique
 * violation here means another request signed one of them first: the caller's
 * transaction rolls back. Inserted in hash order, so two transactions that
 * share envelopes wait for each other instead of deadlocking.
 */
export async function insertIssuedEnvelopes(
  trx: Transaction<PaymentDatabase>,
  source: IssueSource,
  sourceId: string,
  envelopes: readonly CheckedEnvelope[],
  signatures: readonly string[],
  now: Date,
): Promise<void> {
  const rows = envelopes.map((e) => ({
    envelope_hash: e.hash,
    source,
    source_id: sourceId,
    position: e.position,
    denomination_id: e.denominationId,
    currency: e.currency,
    value: e.value,
    blind_signature: signatures[e.position]!,
    created_at: now.toISOString(),
  }));
  rows.sort((a, b) => (a.envelope_hash < b.envelope_hash ? -1 : a.envelope_hash > b.envelope_hash ? 1 : 0));
  for (const row of rows) await trx.insertInto('payment_issued_envelopes').values(row).execute();
}

/** The blind signatures of an earlier request, in the request's order (its idempotent replay). */
export async function issuedSignatures(db: Db, source: IssueSource, sourceId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('payment_issued_envelopes')
    .select('blind_signature')
    .where('source', '=', source)
    .where('source_id', '=', sourceId)
    .orderBy('position')
    .execute();
  return rows.map((r) => r.blind_signature);
}
