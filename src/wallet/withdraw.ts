// Withdrawing coins from a loaded reserve (DESIGN §4), crash-safe:
//
// 1. Plan: split what the reserve still holds into denominations, allocate
//    coin indices and store the coins as `pending` with the id of the request
//    that will sign them — one wallet transaction, before anything is sent.
// 2. Send: derive each coin's key and blinding factor from the seed and its
//    index, blind, sign the request with the reserve key, POST it.
// 3. Finalize: unblind, verify against the stored (verified) denomination
//    key, mark the coins `unspent`.
//
// A crash anywhere leaves pending coins with their request id; running the
// withdrawal again rebuilds byte-identical envelopes from the seed, the
// payment server answers the repeated request with the same signatures and
// debits the reserve once (RFC 9474 deterministic variant: see rfc9474.ts).
import { sql } from 'kysely';
import { decodeBase64url, encodeBase64url } from '../protocol/base64url.ts';
import { signEd25519 } from '../protocol/ed25519.ts';
import { BlindSignaturesResponse, MAX_ENVELOPES, withdrawSigningBytes, type WithdrawRequest } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { blind, blindingFactorFromSeed, finalize, type BlindingResult, type BlindRsaErrorCode, type BlindRsaPublicKey } from '../protocol/rfc9474.ts';
import type { WalletDatabase, WalletDenominationTable, WalletReserveTable } from './db.ts';
import { deriveCoin, deriveReserve } from './derive.ts';
import type { WalletErrorCode } from './errors.ts';
import { callJson, type ClientCode, type Fetch } from './http-client.ts';
import { denominationKey } from './key-list.ts';
import type { OpenedWallet } from './open.ts';
import type { Transaction } from 'kysely';

export type WithdrawCode = ClientCode | BlindRsaErrorCode | Extract<WalletErrorCode, 'WALLET_BLIND_SIGNATURE_INVALID' | 'WALLET_NO_DENOMINATION'>;

/** `seed`: the unlocked wallet seed (coin and reserve keys are derived from it). */
export type WithdrawDeps = { now: () => Date; fetch: Fetch; seed: Uint8Array };

/** More coins than this for one load is a configuration mistake (a tiny largest denomination), not a plan. */
export const MAX_COINS_PER_LOAD = 4096;

/**
 * Values (minor units) summing to `minor`, largest first: as many of the
 * largest denomination as fit, then the binary digits of the rest. With
 * powers of two from 1 up this always succeeds and uses the fewest coins.
 * Undefined when `values` cannot express `minor` exactly, or only with more
 * than `maxCoins` coins.
 */
export function planCoins(minor: bigint, values: readonly bigint[], maxCoins = MAX_COINS_PER_LOAD): bigint[] | undefined {
  const sorted = [...new Set(values)].filter((v) => v > 0n).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  const out: bigint[] = [];
  let rest = minor;
  for (const v of sorted) {
    const n = rest / v;
    if (BigInt(out.length) + n > BigInt(maxCoins)) return undefined;
    for (let i = 0n; i < n; i++) out.push(v);
    rest -= n * v;
  }
  return rest === 0n ? out : undefined;
}

/** The newest key per value that signs coins now (its withdraw window is open), for one payment server and currency. */
export function withdrawableKeys(keys: readonly WalletDenominationTable[], currency: string, now: Date): Map<bigint, WalletDenominationTable> {
  const t = now.getTime();
  const best = new Map<bigint, WalletDenominationTable>();
  for (const k of keys) {
    if (k.currency !== currency || t < Date.parse(k.valid_from) || t >= Date.parse(k.withdraw_until)) continue;
    const cur = best.get(k.value);
    if (!cur || Date.parse(cur.valid_from) < Date.parse(k.valid_from)) best.set(k.value, k);
  }
  return best;
}

function newRequestId(): string {
  return encodeBase64url(crypto.getRandomValues(new Uint8Array(18)));
}

async function nextIndex(tx: Transaction<WalletDatabase>, purpose: 'coin' | 'reserve'): Promise<number> {
  const r = await tx.selectFrom('wallet_derivations').select(sql<unknown>`max(idx)`.as('m')).where('purpose', '=', purpose).executeTakeFirst();
  return r?.m === null || r?.m === undefined ? 0 : Number(r.m) + 1;
}

/** Allocates `n` fresh derivation indices of `purpose` inside `tx` (never reused: the primary key refuses it). */
export async function allocateIndices(tx: Transaction<WalletDatabase>, purpose: 'coin' | 'reserve', n: number, now: Date): Promise<number[]> {
  const first = await nextIndex(tx, purpose);
  const out = Array.from({ length: n }, (_, i) => first + i);
  for (const idx of out) await tx.insertInto('wallet_derivations').values({ purpose, idx, created_at: now.toISOString() }).execute();
  return out;
}

/**
 * Stores pending coins for `remaining` minor units of the reserve, in
 * requests of at most MAX_ENVELOPES. Returns the new request ids.
 */
async function planWithdrawal(wallet: OpenedWallet, seed: Uint8Array, reserve: WalletReserveTable, remaining: bigint, keys: Map<bigint, WalletDenominationTable>, now: Date): Promise<Result<string[], WithdrawCode>> {
  const values = planCoins(remaining, [...keys.keys()]);
  if (!values) return err('WALLET_NO_DENOMINATION', `the payment server signs no set of at most ${MAX_COINS_PER_LOAD} ${reserve.currency} coins that adds up to the reserve's balance now`);
  return ok(
    await wallet.db.transaction().execute(async (tx) => {
      const indices = await allocateIndices(tx, 'coin', values.length, now);
      const ids: string[] = [];
      for (let i = 0; i < values.length; i += MAX_ENVELOPES) {
        const requestId = newRequestId();
        ids.push(requestId);
        for (let j = i; j < Math.min(values.length, i + MAX_ENVELOPES); j++) {
          const key = keys.get(values[j]!)!;
          const derived = await deriveCoin(seed, indices[j]!);
          await tx
            .insertInto('wallet_coins')
            .values({
              coin_pub: encodeBase64url(derived.publicKeyBytes),
              derivation_index: indices[j]!,
              denomination_id: key.denomination_id,
              currency: key.currency,
              value: key.value,
              signature: null,
              state: 'pending',
              reserve_pub: reserve.reserve_pub,
              request_id: requestId,
              created_at: now.toISOString(),
              updated_at: now.toISOString(),
            })
            .execute();
        }
      }
      return ids;
    }),
  );
}

/** Sends (or re-sends) one stored withdrawal request and stores the coins it signs. */
async function sendRequest(wallet: OpenedWallet, reserve: WalletReserveTable, requestId: string, deps: WithdrawDeps): Promise<Result<number, WithdrawCode>> {
  const coins = await wallet.db
    .selectFrom('wallet_coins as c')
    .innerJoin('wallet_denominations as d', 'd.denomination_id', 'c.denomination_id')
    .select(['c.coin_pub', 'c.derivation_index', 'c.denomination_id', 'c.state', 'd.public_key'])
    .where('c.request_id', '=', requestId)
    .orderBy('c.derivation_index')
    .execute();
  if (coins.every((c) => c.state !== 'pending')) return ok(0);
  const seed = deps.seed;
  const prepared: { coin: (typeof coins)[number]; key: BlindRsaPublicKey; msg: Uint8Array<ArrayBuffer>; blinded: BlindingResult }[] = [];
  for (const c of coins) {
    const key = await denominationKey(c);
    if (!key.ok) return key;
    const derived = await deriveCoin(seed, c.derivation_index);
    const r = blindingFactorFromSeed(key.value, derived.blindingSeed);
    if (!r.ok) return r;
    const b = await blind(key.value, derived.publicKeyBytes, r.value);
    if (!b.ok) return b;
    prepared.push({ coin: c, key: key.value, msg: derived.publicKeyBytes, blinded: b.value });
  }
  const reserveKeys = await deriveReserve(seed, reserve.derivation_index);
  const body = {
    requestId,
    reservePub: reserve.reserve_pub,
    envelopes: prepared.map((p) => ({ denominationId: p.coin.denomination_id, blindedMessage: encodeBase64url(p.blinded.blindedMsg) })),
  };
  const request: WithdrawRequest = { ...body, reserveSignature: encodeBase64url(await signEd25519(reserveKeys.privateKey, withdrawSigningBytes(body))) };
  const answer = await callJson(deps.fetch, 'payment', reserve.payment_url!, {
    method: 'POST',
    path: `/v1/reserves/${reserve.reserve_pub}/withdraw`,
    body: request,
    schema: BlindSignaturesResponse,
    what: 'the withdrawal',
    timeoutMs: 120_000,
  });
  if (!answer.ok) return answer;
  const sigs = answer.value.value.blindSignatures;
  if (answer.value.value.requestId !== requestId || sigs.length !== prepared.length) {
    return err('WALLET_PAYMENT_RESPONSE_INVALID', 'the withdrawal answer does not match the request');
  }
  // Unblind and verify every signature before storing any: a bad one leaves
  // the whole request pending (repeatable) instead of half-stored coins.
  const finals: string[] = [];
  for (const [i, p] of prepared.entries()) {
    // The schema admitted only canonical base64url.
    const sig = await finalize(p.key, p.msg, decodeBase64url(sigs[i]!)!, p.blinded.inv);
    if (!sig.ok) return err('WALLET_BLIND_SIGNATURE_INVALID', `the payment server's signature for coin ${i + 1} does not verify under its denomination key; the coins stay pending`);
    finals.push(encodeBase64url(sig.value));
  }
  const now = deps.now().toISOString();
  await wallet.db.transaction().execute(async (tx) => {
    for (const [i, p] of prepared.entries()) {
      await tx.updateTable('wallet_coins').set({ signature: finals[i]!, state: 'unspent', updated_at: now }).where('coin_pub', '=', p.coin.coin_pub).where('state', '=', 'pending').execute();
    }
  });
  return ok(prepared.length);
}

export type WithdrawOutcome = { coins: number; amount: bigint };

/**
 * Refusals of a withdrawal that prove it was never carried out: the payment
 * server answers a repeat of a committed request with its stored signatures
 * before it checks key windows and envelopes. Coins refused this way are
 * dropped (their indices stay used) and their value planned again with the
 * keys that sign now — otherwise they would stay pending forever and hold the
 * reserve's money.
 */
const NEVER_COMMITTED: ReadonlySet<string> = new Set(['PAY_DENOMINATION_NOT_WITHDRAWABLE', 'PAY_DENOMINATION_UNKNOWN', 'PAY_CURRENCY_MISMATCH', 'PAY_ENVELOPE_INVALID']);

async function dropRequest(wallet: OpenedWallet, requestId: string): Promise<void> {
  await wallet.db.deleteFrom('wallet_coins').where('request_id', '=', requestId).where('state', '=', 'pending').execute();
}

/**
 * Withdraws everything `reserve` (credited with reserve.amount) still holds:
 * first repeats any request a previous run left pending, then plans and
 * sends new ones. `keys` are the payment server's verified keys.
 */
export async function withdrawReserve(
  wallet: OpenedWallet,
  reserve: WalletReserveTable,
  keys: readonly WalletDenominationTable[],
  deps: WithdrawDeps,
): Promise<Result<WithdrawOutcome, WithdrawCode>> {
  const pendingIds = async () =>
    (
      await wallet.db
        .selectFrom('wallet_coins')
        .select('request_id')
        .distinct()
        .where('reserve_pub', '=', reserve.reserve_pub)
        .where('state', '=', 'pending')
        .where('request_id', 'is not', null)
        .execute()
    ).map((r) => r.request_id!);

  let coins = 0;
  for (const id of await pendingIds()) {
    const r = await sendRequest(wallet, reserve, id, deps);
    if (!r.ok && NEVER_COMMITTED.has(r.code)) {
      await dropRequest(wallet, id);
      continue;
    }
    if (!r.ok) return r;
    coins += r.value;
  }
  const planned = await wallet.db
    .selectFrom('wallet_coins')
    .select(sql<unknown>`cast(coalesce(sum(value), 0) as bigint)`.as('s'))
    .where('reserve_pub', '=', reserve.reserve_pub)
    .executeTakeFirstOrThrow();
  const remaining = reserve.amount - BigInt(planned.s as bigint | number | string);
  if (remaining > 0n) {
    const ids = await planWithdrawal(wallet, deps.seed, reserve, remaining, withdrawableKeys(keys, reserve.currency, deps.now()), deps.now());
    if (!ids.ok) return ids;
    for (const id of ids.value) {
      const r = await sendRequest(wallet, reserve, id, deps);
      if (!r.ok) return r;
      coins += r.value;
    }
  }
  return ok({ coins, amount: reserve.amount });
}
