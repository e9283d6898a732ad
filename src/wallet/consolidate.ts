// Consolidation: swapping many small coins into few larger ones (POST
// /v1/swap, DESIGN §4 "swap") before a payment that would otherwise need more
// than MAX_COINS coins. Crash-safe in the same way as withdraw.ts:
//
// 1. Plan: the smallest spendable coins of the payment server (at most
//    MAX_COINS) and the fewest coins of its current denominations worth
//    exactly as much (planCoins). A swap is planned only if it lowers the
//    number of coins.
// 2. Store — ONE wallet transaction, before anything is sent: every input coin
//    goes `unspent` → `spent` with request_id = the swap id (a conditional
//    update: a coin goes to one payment or swap only), and the new coins are
//    inserted `pending` with fresh derivation indices and the same request id.
// 3. Send: the request is rebuilt from the store alone — inputs in derivation
//    order with their stored denomination signatures, outputs blinded from the
//    seed (RFC 9474 deterministic variant), every input key signing the whole
//    body (Ed25519 is deterministic) — so the first send and every resume
//    send byte-identical requests; the payment server answers a repeated swap
//    with the blind signatures it gave the first time and spends the coins once.
// 4. Finalize: unblind and verify every signature before storing any (as
//    withdraw.ts), then the new coins become `unspent` in one transaction.
//
// How a swap is kept in the store, with no table of its own:
//   inputs   state `spent`, spent_in NULL, request_id = swap id
//   outputs  state `pending` (then `unspent`), reserve_pub NULL, request_id = swap id
// wallet_coins.spent_in cannot name the swap: it is a foreign key to
// wallet_purchases and the store enforces foreign keys. So a NULL spent_in on
// a spent coin means "swapped"; purchase views (purchases.ts) count only coins
// whose spent_in is their purchase, and never see a swap. A coin's old request
// id (its withdrawal, or the change of a purchase) is overwritten when it is
// swapped. Pending coins of a swap are told from pending change coins by the
// purchase that names the change's request id.
//
// A refusal for good. The payment server looks a swap id up (and answers a
// repeat) before it checks key windows, coins and envelopes, so a refusal
// from those checks proves this swap never took effect (SWAP_NEVER_COMMITTED).
// The swap is then undone, in one transaction: the wallet asks the server the
// state of every input coin; the coins it reports spent (by someone else: a
// copy of this wallet restored from a backup) stay `spent` — they are lost —
// and the others are `unspent` again; the planned coins are deleted (their
// derivation indices stay used). Anything else (unreachable, a garbled answer,
// a signature that does not verify, a conflict) leaves the swap exactly as
// stored for resumeConsolidation to repeat.
import { encodeBase64url, decodeBase64url } from '../protocol/base64url.ts';
import { formatAmount } from '../protocol/amount.ts';
import { signEd25519 } from '../protocol/ed25519.ts';
import { BlindSignaturesResponse, CoinStateView, MAX_COINS, MAX_ENVELOPES, swapSigningBytes, type SwapBody, type SwapRequest } from '../protocol/messages/payment.ts';
import { err, ok, type Err, type Result } from '../protocol/result.ts';
import { blind, blindingFactorFromSeed, finalize, type BlindingResult, type BlindRsaPublicKey } from '../protocol/rfc9474.ts';
import type { WalletDenominationTable } from './db.ts';
import { deriveCoin } from './derive.ts';
import type { WalletErrorCode } from './errors.ts';
import { callJson, type Fetch } from './http-client.ts';
import { denominationKey, fetchKeyList, serverUrl, type KeyListCode } from './key-list.ts';
import type { OpenedWallet } from './open.ts';
import { storePendingCoins } from './pending-coins.ts';
import { planCoins, withdrawableKeys } from './withdraw.ts';

export type ConsolidateCode =
  | KeyListCode
  | Extract<WalletErrorCode, 'WALLET_INSUFFICIENT_FUNDS' | 'WALLET_TOO_MANY_COINS' | 'WALLET_NO_DENOMINATION' | 'WALLET_BLIND_SIGNATURE_INVALID' | 'WALLET_PAYMENT_SERVER_MISMATCH' | 'WALLET_SWAP_REFUSED'>;

/** A subset of BuyDeps: buy.ts passes its own deps. `seed`: the unlocked wallet seed. */
export type ConsolidateDeps = { now: () => Date; fetch: Fetch; seed: Uint8Array };

export type ConsolidateParams = {
  /** Where to fetch the key list if every stored key of this server is past its withdraw window. */
  paymentUrl: string;
  paymentPartyId: string;
  currency: string;
  /** Minor units to be payable with at most MAX_COINS coins afterwards. */
  amount: bigint;
};

/** A swap the payment server refused for good, undone (see above). */
export type UndoneSwap = { swapId: string; code: string; message: string; currency: string; lostCoins: number; lostValue: bigint };

export type ResumeSwapsOutcome = {
  /** Stored swaps finished now. */
  finished: number;
  undone: UndoneSwap[];
  /** Swaps left as stored (unreachable server, bad answer…): a later resume repeats them. */
  failed: { swapId: string; code: ConsolidateCode; message: string }[];
};

export type ConsolidateOutcome = {
  /** Swaps made by this call. */
  swapped: number;
  /** Swaps an earlier run had stored, finished by this call. */
  resumed: number;
};

// ---------------------------------------------------------------- selection

export type SpendableCoin = { coin_pub: string; derivation_index: number; denomination_id: string; value: bigint; signature: string };

/** Unspent coins of `currency`, optionally of one payment server, that it still takes (deposit window open); largest first. */
export async function spendableCoins(wallet: OpenedWallet, currency: string, now: Date, paymentPartyId?: string): Promise<SpendableCoin[]> {
  let q = wallet.db
    .selectFrom('wallet_coins as c')
    .innerJoin('wallet_denominations as d', 'd.denomination_id', 'c.denomination_id')
    .select(['c.coin_pub', 'c.derivation_index', 'c.denomination_id', 'c.value', 'c.signature'])
    .where('c.state', '=', 'unspent')
    .where('c.currency', '=', currency)
    .where('d.deposit_until', '>', now.toISOString())
    .where('d.valid_from', '<=', now.toISOString());
  if (paymentPartyId !== undefined) q = q.where('d.payment_party_id', '=', paymentPartyId);
  const rows = await q.orderBy('c.value', 'desc').orderBy('c.derivation_index').execute();
  return rows.map((r) => ({ ...r, value: BigInt(r.value), signature: r.signature! }));
}

/** Largest coins first (as spendableCoins orders them) until the amount is covered; undefined when they do not cover it. */
export function chooseCoins<C extends { value: bigint }>(coins: readonly C[], amount: bigint): C[] | undefined {
  const out: C[] = [];
  let sum = 0n;
  for (const c of coins) {
    if (sum >= amount) break;
    out.push(c);
    sum += c.value;
  }
  return sum >= amount ? out : undefined;
}

function total(coins: readonly { value: bigint }[]): bigint {
  return coins.reduce((s, c) => s + c.value, 0n);
}

/**
 * One swap that lowers the number of coins: the k smallest coins (k from
 * MAX_COINS down to 2) whose value the denominations `values` express in
 * fewer than k coins (at most MAX_ENVELOPES), largest k first. Undefined when
 * no such swap exists (the small coins are already as few as they can be).
 */
export function planSwap<C extends { value: bigint; derivation_index: number }>(coins: readonly C[], values: readonly bigint[]): { inputs: C[]; outputs: bigint[] } | undefined {
  const ascending = [...coins].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : a.derivation_index - b.derivation_index));
  for (let k = Math.min(MAX_COINS, ascending.length); k >= 2; k--) {
    const inputs = ascending.slice(0, k);
    const outputs = planCoins(total(inputs), values, MAX_ENVELOPES);
    if (outputs && outputs.length < k) return { inputs, outputs };
  }
  return undefined;
}

// ---------------------------------------------------------------- store

/** Payment server refusals it makes only after its swap-id lookup: the swap never took effect. */
const SWAP_NEVER_COMMITTED: ReadonlySet<string> = new Set([
  'PAY_COIN_SPENT',
  'PAY_COIN_FORGED',
  'PAY_DENOMINATION_UNKNOWN',
  'PAY_DENOMINATION_NOT_WITHDRAWABLE',
  'PAY_DENOMINATION_NOT_DEPOSITABLE',
  'PAY_CURRENCY_MISMATCH',
  'PAY_ENVELOPE_INVALID',
  'PAY_ENVELOPE_REUSED',
  'PAY_SWAP_UNBALANCED',
]);

class CoinTaken extends Error {}

/** Step 2: inputs spent in the swap and outputs pending, one transaction. Undefined when another flow took an input meanwhile. */
async function storeSwap(wallet: OpenedWallet, inputs: readonly SpendableCoin[], outputs: readonly WalletDenominationTable[], seed: Uint8Array, now: Date): Promise<string | undefined> {
  const swapId = encodeBase64url(crypto.getRandomValues(new Uint8Array(18)));
  const at = now.toISOString();
  try {
    await wallet.db.transaction().execute(async (tx) => {
      for (const c of inputs) {
        const taken = await tx
          .updateTable('wallet_coins')
          .set({ state: 'spent', request_id: swapId, updated_at: at })
          .where('coin_pub', '=', c.coin_pub)
          .where('state', '=', 'unspent')
          .executeTakeFirst();
        if (taken.numUpdatedRows !== 1n) throw new CoinTaken();
      }
      await storePendingCoins(tx, seed, outputs, swapId, now);
    });
  } catch (e) {
    if (e instanceof CoinTaken) return undefined;
    throw e;
  }
  return swapId;
}

type StoredSwap = {
  inputs: { coin_pub: string; derivation_index: number; denomination_id: string; currency: string; value: bigint; signature: string }[];
  outputs: { coin_pub: string; derivation_index: number; denomination_id: string; value: bigint; public_key: string; payment_url: string }[];
};

async function readSwap(wallet: OpenedWallet, swapId: string): Promise<StoredSwap> {
  const inputs = await wallet.db
    .selectFrom('wallet_coins')
    .select(['coin_pub', 'derivation_index', 'denomination_id', 'currency', 'value', 'signature'])
    .where('request_id', '=', swapId)
    .where('state', '=', 'spent')
    .where('spent_in', 'is', null)
    .orderBy('derivation_index')
    .execute();
  const outputs = await wallet.db
    .selectFrom('wallet_coins as c')
    .innerJoin('wallet_denominations as d', 'd.denomination_id', 'c.denomination_id')
    .select(['c.coin_pub', 'c.derivation_index', 'c.denomination_id', 'c.value', 'd.public_key', 'd.payment_url'])
    .where('c.request_id', '=', swapId)
    .where('c.state', '=', 'pending')
    .orderBy('c.derivation_index')
    .execute();
  return {
    inputs: inputs.map((c) => ({ ...c, value: BigInt(c.value), signature: c.signature! })),
    outputs: outputs.map((c) => ({ ...c, value: BigInt(c.value) })),
  };
}

/** Request ids of pending coins that belong to a swap (not to a withdrawal, a purchase's change or a refund), oldest first. */
async function pendingSwapIds(wallet: OpenedWallet, paymentPartyId?: string): Promise<string[]> {
  let q = wallet.db
    .selectFrom('wallet_coins as c')
    .innerJoin('wallet_denominations as d', 'd.denomination_id', 'c.denomination_id')
    .select(['c.request_id'])
    .where('c.state', '=', 'pending')
    .where('c.reserve_pub', 'is', null)
    .where('c.request_id', 'is not', null)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('wallet_purchases as p').select('p.purchase_id').whereRef('p.change_request_id', '=', 'c.request_id'))))
    // Nor to a refund's fresh coins (refund.ts).
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('wallet_refunds as r').select('r.request_id').whereRef('r.coins_request_id', '=', 'c.request_id'))));
  if (paymentPartyId !== undefined) q = q.where('d.payment_party_id', '=', paymentPartyId);
  const rows = await q.orderBy('c.derivation_index').execute();
  return [...new Set(rows.map((r) => r.request_id!))];
}

// ---------------------------------------------------------------- send

type Sent = { kind: 'finished'; coins: number } | { kind: 'undone'; undone: UndoneSwap };

/** Steps 3 and 4 for one stored swap (the first send and every repeat alike). */
async function sendSwap(wallet: OpenedWallet, swapId: string, deps: ConsolidateDeps, askedAgain = false): Promise<Result<Sent, ConsolidateCode>> {
  const stored = await readSwap(wallet, swapId);
  if (stored.outputs.length === 0) return ok({ kind: 'finished', coins: 0 });
  const { inputs, outputs } = stored;
  // Step 2 writes 1–64 inputs and as much value in at most 64 pending coins: anything else is a damaged store, not a refusal.
  if (inputs.length === 0 || inputs.length > MAX_COINS || outputs.length > MAX_ENVELOPES || total(inputs) !== total(outputs)) {
    throw new Error(`wallet store: swap ${swapId} holds ${inputs.length} coins and ${outputs.length} pending coins of unequal or impossible shape`);
  }
  const paymentUrl = outputs[0]!.payment_url;

  const prepared: { key: BlindRsaPublicKey; msg: Uint8Array<ArrayBuffer>; blinded: BlindingResult }[] = [];
  for (const o of outputs) {
    const key = await denominationKey(o);
    if (!key.ok) return key;
    const derived = await deriveCoin(deps.seed, o.derivation_index);
    const r = blindingFactorFromSeed(key.value, derived.blindingSeed);
    if (!r.ok) return r;
    const b = await blind(key.value, derived.publicKeyBytes, r.value);
    if (!b.ok) return b;
    prepared.push({ key: key.value, msg: derived.publicKeyBytes, blinded: b.value });
  }
  const body: SwapBody = {
    swapId,
    coins: inputs.map((c) => ({ coinPub: c.coin_pub, denominationId: c.denomination_id, denominationSignature: c.signature })),
    envelopes: outputs.map((o, i) => ({ denominationId: o.denomination_id, blindedMessage: encodeBase64url(prepared[i]!.blinded.blindedMsg) })),
  };
  const bytes = swapSigningBytes(body);
  const coins: SwapRequest['coins'] = [];
  for (const [i, c] of inputs.entries()) {
    const k = await deriveCoin(deps.seed, c.derivation_index);
    coins.push({ ...body.coins[i]!, coinSignature: encodeBase64url(await signEd25519(k.privateKey, bytes)) });
  }
  const request: SwapRequest = { ...body, coins };

  const answer = await callJson(deps.fetch, 'payment', paymentUrl, { method: 'POST', path: '/v1/swap', body: request, schema: BlindSignaturesResponse, what: 'the swap', timeoutMs: 120_000 });
  if (!answer.ok) {
    if (!SWAP_NEVER_COMMITTED.has(answer.code)) return answer;
    const undone = await undoSwap(wallet, swapId, stored, paymentUrl, deps);
    if (!undone.ok) return undone;
    // Our own swap may have committed: ask once more (the identical request); still refused, it stays pending.
    if (undone.value === 'all-spent') return askedAgain ? answer : sendSwap(wallet, swapId, deps, true);
    return ok({ kind: 'undone', undone: { swapId, code: answer.code, message: answer.message, currency: inputs[0]!.currency, ...undone.value } });
  }
  const sigs = answer.value.value.blindSignatures;
  if (answer.value.value.requestId !== swapId || sigs.length !== prepared.length) return err('WALLET_PAYMENT_RESPONSE_INVALID', 'the swap answer does not match the request; the new coins stay pending');
  // Every signature verified before any is stored: a bad one leaves the whole swap pending (repeatable).
  const finals: string[] = [];
  for (const [i, p] of prepared.entries()) {
    // The schema admitted only canonical base64url.
    const sig = await finalize(p.key, p.msg, decodeBase64url(sigs[i]!)!, p.blinded.inv);
    if (!sig.ok) return err('WALLET_BLIND_SIGNATURE_INVALID', `the payment server's signature for swapped coin ${i + 1} does not verify under its denomination key; the coins stay pending`);
    finals.push(encodeBase64url(sig.value));
  }
  const at = deps.now().toISOString();
  await wallet.db.transaction().execute(async (tx) => {
    for (const [i, o] of outputs.entries()) {
      await tx.updateTable('wallet_coins').set({ signature: finals[i]!, state: 'unspent', updated_at: at }).where('coin_pub', '=', o.coin_pub).where('state', '=', 'pending').execute();
    }
  });
  return ok({ kind: 'finished', coins: outputs.length });
}

/**
 * A swap refused for good: inputs the payment server reports spent stay
 * spent (lost to this wallet), the others are unspent again, the planned
 * coins are dropped. Nothing changes unless every coin's state was learned.
 */
async function undoSwap(wallet: OpenedWallet, swapId: string, stored: StoredSwap, paymentUrl: string, deps: ConsolidateDeps): Promise<Result<{ lostCoins: number; lostValue: bigint } | 'all-spent', ConsolidateCode>> {
  const lost = new Set<string>();
  for (const c of stored.inputs) {
    const s = await callJson(deps.fetch, 'payment', paymentUrl, { method: 'GET', path: `/v1/coins/${c.coin_pub}`, schema: CoinStateView, what: 'the coin state request' });
    if (!s.ok) return s;
    if (s.value.value.coinPub !== c.coin_pub) return err('WALLET_PAYMENT_RESPONSE_INVALID', 'the payment server answered the state of another coin');
    if (s.value.value.state === 'spent') lost.add(c.coin_pub);
  }
  // A swap spends all its coins or none: all spent may be this very swap,
  // committed by an identical copy the refused one raced with. Nothing is
  // undone; the caller asks again (a replay answers with the signatures).
  if (lost.size === stored.inputs.length) return ok('all-spent');
  const at = deps.now().toISOString();
  await wallet.db.transaction().execute(async (tx) => {
    for (const c of stored.inputs) {
      if (lost.has(c.coin_pub)) continue;
      await tx.updateTable('wallet_coins').set({ state: 'unspent', updated_at: at }).where('coin_pub', '=', c.coin_pub).where('request_id', '=', swapId).where('state', '=', 'spent').where('spent_in', 'is', null).execute();
    }
    await tx.deleteFrom('wallet_coins').where('request_id', '=', swapId).where('state', '=', 'pending').execute();
  });
  const lostCoins = stored.inputs.filter((c) => lost.has(c.coin_pub));
  return ok({ lostCoins: lostCoins.length, lostValue: total(lostCoins) });
}

function refused(undone: readonly UndoneSwap[]): Err<'WALLET_SWAP_REFUSED'> {
  const first = undone[0]!;
  const lostCoins = undone.reduce((s, u) => s + u.lostCoins, 0);
  const lostValues = undone.filter((u) => u.lostCoins > 0).map((u) => formatAmount({ currency: u.currency, minor: u.lostValue }));
  const lost = lostCoins === 0 ? 'no coin was lost' : `${lostCoins} coin(s) worth ${lostValues.join(' + ')} were already spent elsewhere (another copy of this wallet?) and are lost`;
  return err(
    'WALLET_SWAP_REFUSED',
    `the payment server refused the swap of small coins (${first.code}: ${first.message}); it was undone: ${lost}, the other coins are unspent again — try again`,
    { swaps: undone.map((u) => ({ swapId: u.swapId, code: u.code, lostCoins: u.lostCoins, lost: formatAmount({ currency: u.currency, minor: u.lostValue }) })) },
  );
}

// ---------------------------------------------------------------- entry points

/**
 * Finishes every swap whose request was stored but whose answer was not
 * (a crash, a lost answer), or only those of `paymentPartyId`, repeating each
 * identical request. One swap failing does not stop the others.
 */
export async function resumeConsolidation(wallet: OpenedWallet, deps: ConsolidateDeps, paymentPartyId?: string): Promise<Result<ResumeSwapsOutcome, ConsolidateCode>> {
  const out: ResumeSwapsOutcome = { finished: 0, undone: [], failed: [] };
  for (const swapId of await pendingSwapIds(wallet, paymentPartyId)) {
    const r = await sendSwap(wallet, swapId, deps);
    if (!r.ok) out.failed.push({ swapId, code: r.code, message: r.message });
    else if (r.value.kind === 'undone') out.undone.push(r.value.undone);
    else if (r.value.coins > 0) out.finished++;
  }
  return ok(out);
}

/** The keys `paymentPartyId` signs `currency` with now: the stored ones, else its key list fetched and verified again. */
async function signingKeys(wallet: OpenedWallet, params: ConsolidateParams, deps: ConsolidateDeps, now: Date): Promise<Result<Map<bigint, WalletDenominationTable>, ConsolidateCode>> {
  const stored = await wallet.db.selectFrom('wallet_denominations').selectAll().where('payment_party_id', '=', params.paymentPartyId).execute();
  const keys = withdrawableKeys(stored, params.currency, now);
  if (keys.size > 0) return ok(keys);
  const list = await fetchKeyList(wallet, serverUrl(params.paymentUrl, 'payment URL'), deps);
  if (!list.ok) return list;
  if (list.value.partyId !== params.paymentPartyId) {
    return err('WALLET_PAYMENT_SERVER_MISMATCH', `the key list at ${params.paymentUrl} is signed by payment party ${list.value.partyId}, not ${params.paymentPartyId}`);
  }
  const fresh = withdrawableKeys(list.value.keys, params.currency, now);
  if (fresh.size === 0) return err('WALLET_NO_DENOMINATION', `payment server ${params.paymentPartyId} signs no ${params.currency} coins now, so small coins cannot be swapped`);
  return ok(fresh);
}

/**
 * Makes `amount` payable with at most MAX_COINS coins of `paymentPartyId`:
 * first finishes this server's stored swaps, then, only while the largest-
 * first choice (chooseCoins) needs more than MAX_COINS coins, swaps the
 * smallest coins (at most MAX_COINS a swap) into the fewest coins of the
 * server's current denominations. Does nothing when the amount is payable
 * already. The total value of the coins never changes; WALLET_SWAP_REFUSED
 * when the server refused a swap for good (undone: see the top of the file).
 */
export async function consolidateFor(wallet: OpenedWallet, params: ConsolidateParams, deps: ConsolidateDeps): Promise<Result<ConsolidateOutcome, ConsolidateCode>> {
  const resumed = await resumeConsolidation(wallet, deps, params.paymentPartyId);
  if (!resumed.ok) return resumed;
  // Payable as it is: an earlier swap that is still stuck must not stop this payment.
  const payable = chooseCoins(await spendableCoins(wallet, params.currency, deps.now(), params.paymentPartyId), params.amount);
  if (payable && payable.length <= MAX_COINS) return ok({ swapped: 0, resumed: resumed.value.finished });
  const stuck = resumed.value.failed[0];
  if (stuck) return err(stuck.code, `an earlier swap of small coins (${stuck.swapId}) is not finished: ${stuck.message}`);
  if (resumed.value.undone.length > 0) return refused(resumed.value.undone);

  const amount = formatAmount({ currency: params.currency, minor: params.amount });
  let keys: Map<bigint, WalletDenominationTable> | undefined;
  let swapped = 0;
  // Ends: every swap takes its inputs out of the spendable coins and puts back fewer.
  for (;;) {
    const now = deps.now();
    const coins = await spendableCoins(wallet, params.currency, now, params.paymentPartyId);
    const chosen = chooseCoins(coins, params.amount);
    if (!chosen) return err('WALLET_INSUFFICIENT_FUNDS', `the wallet holds less than ${amount} in coins of payment server ${params.paymentPartyId}`);
    if (chosen.length <= MAX_COINS) return ok({ swapped, resumed: resumed.value.finished });
    if (keys === undefined) {
      const k = await signingKeys(wallet, params, deps, now);
      if (!k.ok) return k;
      keys = k.value;
    }
    const signing = keys;
    const plan = planSwap(coins, [...signing.keys()]);
    if (!plan) {
      return err('WALLET_TOO_MANY_COINS', `${amount} needs ${chosen.length} coins, more than the ${MAX_COINS} one payment may carry, and swapping the small coins for the payment server's denominations would not make them fewer`);
    }
    const swapId = await storeSwap(wallet, plan.inputs, plan.outputs.map((v) => signing.get(v)!), deps.seed, now);
    if (swapId === undefined) continue; // another flow took a coin: choose again from what is left
    const sent = await sendSwap(wallet, swapId, deps);
    if (!sent.ok) return sent;
    if (sent.value.kind === 'undone') return refused([sent.value.undone]);
    swapped++;
  }
}
