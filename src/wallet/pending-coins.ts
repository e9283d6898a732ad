// Fresh coins asked for under one request id (a refund's coins): stored as
// `pending` rows before the request is sent, their keys and blinding factors
// derived from the seed, so the request can be rebuilt byte for byte after a
// crash; unblinded and verified, all of them, before any becomes `unspent`.
// Used for payment change, swaps and refunds (a withdrawal stores its coins
// with their reserve, in withdraw.ts).
import type { Transaction } from 'kysely';
import { decodeBase64url, encodeBase64url } from '../protocol/base64url.ts';
import type { Envelope } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { blind, blindingFactorFromSeed, finalize, type BlindingResult, type BlindRsaErrorCode, type BlindRsaPublicKey } from '../protocol/rfc9474.ts';
import type { WalletDatabase, WalletDenominationTable } from './db.ts';
import { deriveCoin, type DerivedCoin } from './derive.ts';
import type { WalletErrorCode } from './errors.ts';
import { denominationKey } from './key-list.ts';
import type { OpenedWallet } from './open.ts';
import { allocateIndices } from './withdraw.ts';

/**
 * Inserts one pending coin per key (fresh derivation indices, `requestId`),
 * in the caller's transaction; returns each coin's derived keys, in order.
 */
export async function storePendingCoins(
  tx: Transaction<WalletDatabase>,
  seed: Uint8Array,
  keys: readonly WalletDenominationTable[],
  requestId: string,
  now: Date,
): Promise<{ key: WalletDenominationTable; derived: DerivedCoin }[]> {
  const indices = await allocateIndices(tx, 'coin', keys.length, now);
  const out: { key: WalletDenominationTable; derived: DerivedCoin }[] = [];
  for (const [i, key] of keys.entries()) {
    const derived = await deriveCoin(seed, indices[i]!);
    await tx
      .insertInto('wallet_coins')
      .values({
        coin_pub: encodeBase64url(derived.publicKeyBytes),
        derivation_index: indices[i]!,
        denomination_id: key.denomination_id,
        currency: key.currency,
        value: key.value,
        signature: null,
        state: 'pending',
        reserve_pub: null,
        request_id: requestId,
        spent_in: null,
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      })
      .execute();
    out.push({ key, derived });
  }
  return out;
}

export type PreparedCoins = {
  envelopes: Envelope[];
  coins: { coinPub: string; key: BlindRsaPublicKey; msg: Uint8Array<ArrayBuffer>; blinded: BlindingResult }[];
};

/** The envelopes of the pending coins of `requestId`, in derivation order, rebuilt from the seed. */
export async function blindPending(wallet: OpenedWallet, requestId: string, seed: Uint8Array): Promise<Result<PreparedCoins, BlindRsaErrorCode>> {
  const rows = await wallet.db
    .selectFrom('wallet_coins as c')
    .innerJoin('wallet_denominations as d', 'd.denomination_id', 'c.denomination_id')
    .select(['c.coin_pub', 'c.derivation_index', 'c.denomination_id', 'd.public_key'])
    .where('c.request_id', '=', requestId)
    .where('c.state', '=', 'pending')
    .orderBy('c.derivation_index')
    .execute();
  const out: PreparedCoins = { envelopes: [], coins: [] };
  for (const r of rows) {
    const key = await denominationKey(r);
    if (!key.ok) return key;
    const derived = await deriveCoin(seed, r.derivation_index);
    const factor = blindingFactorFromSeed(key.value, derived.blindingSeed);
    if (!factor.ok) return factor;
    const b = await blind(key.value, derived.publicKeyBytes, factor.value);
    if (!b.ok) return b;
    out.envelopes.push({ denominationId: r.denomination_id, blindedMessage: encodeBase64url(b.value.blindedMsg) });
    out.coins.push({ coinPub: r.coin_pub, key: key.value, msg: derived.publicKeyBytes, blinded: b.value });
  }
  return ok(out);
}

/**
 * Unblinds and verifies one signature per prepared coin; only when every one
 * verifies are they stored and the coins `unspent` (in `tx`, with whatever
 * else the caller commits with them). A bad or missing one leaves all pending.
 */
export async function finalizePending(
  prepared: PreparedCoins,
  blindSignatures: readonly string[],
): Promise<Result<(tx: Transaction<WalletDatabase>, now: Date) => Promise<void>, Extract<WalletErrorCode, 'WALLET_BLIND_SIGNATURE_INVALID' | 'WALLET_PAYMENT_RESPONSE_INVALID'>>> {
  if (blindSignatures.length !== prepared.coins.length) return err('WALLET_PAYMENT_RESPONSE_INVALID', `the answer carries ${blindSignatures.length} blind signatures for ${prepared.coins.length} envelopes`);
  const finals: string[] = [];
  for (const [i, c] of prepared.coins.entries()) {
    const raw = decodeBase64url(blindSignatures[i]!);
    const sig = raw === undefined ? undefined : await finalize(c.key, c.msg, raw, c.blinded.inv);
    if (!sig?.ok) return err('WALLET_BLIND_SIGNATURE_INVALID', `the payment server's signature for coin ${i + 1} does not verify under its denomination key; the coins stay pending`);
    finals.push(encodeBase64url(sig.value));
  }
  return ok(async (tx, now) => {
    for (const [i, c] of prepared.coins.entries()) {
      await tx.updateTable('wallet_coins').set({ signature: finals[i]!, state: 'unspent', updated_at: now.toISOString() }).where('coin_pub', '=', c.coinPub).where('state', '=', 'pending').execute();
    }
  });
}
