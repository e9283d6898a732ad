// Coins presented to the payment server (DESIGN §4), shared by every flow
// that spends them: swap now, payments in issue 4. A coin is accepted when
// its denomination still takes deposits, its denomination signature verifies
// (else it is forged), its key signed the request (else the sender does not
// own it) and it is not in payment_spent_coins. That table's primary key is
// the double-spend guard: the insert is made in the spending transaction,
// so of two transactions spending one coin exactly one commits.
import type { KeyObject } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { denominationVerifyKey, verifyCoinSignature } from '../crypto/coin-verify.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { verifyEd25519 } from '../protocol/ed25519.ts';
import type { Coin, CoinStateView, SpentCoin } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { PaymentDatabase } from './db.ts';
import type { PaymentDeps } from './deps.ts';
import { lookupDenominations } from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';

type Db = Kysely<PaymentDatabase>;

export type CheckedCoin = {
  coinPub: string;
  denominationId: string;
  currency: string;
  value: bigint;
};

/** PAY_COIN_SIGNATURE_INVALID unless every coin's key signed `bytes` (the flow's signing bytes). */
export async function verifyCoinOwnership(coins: readonly SpentCoin[], bytes: Uint8Array<ArrayBuffer>): Promise<Result<void, PayHttpErrorCode>> {
  for (const [i, c] of coins.entries()) {
    if (!(await verifyEd25519(c.coinPub, c.coinSignature, bytes))) return err('PAY_COIN_SIGNATURE_INVALID', `coin ${i}: the coin key did not sign this request`);
  }
  return ok(undefined);
}

/**
 * Coins that are genuine and depositable at `now`, all in one currency:
 * PAY_DENOMINATION_*, PAY_CURRENCY_MISMATCH or PAY_COIN_FORGED otherwise.
 */
export async function checkCoins(deps: Pick<PaymentDeps, 'db' | 'wrapKey' | 'caches'>, coins: readonly Coin[], now: Date): Promise<Result<CheckedCoin[], PayHttpErrorCode>> {
  const denominations = await lookupDenominations(
    deps,
    coins.map((c) => c.denominationId),
    now,
    'deposit',
    'coin',
  );
  if (!denominations.ok) return denominations;
  const currency = denominations.value.get(coins[0]!.denominationId)!.key.currency;
  const keys = new Map<string, KeyObject>();
  const out: CheckedCoin[] = [];
  for (const [i, c] of coins.entries()) {
    const d = denominations.value.get(c.denominationId)!.key;
    if (d.currency !== currency) return err('PAY_CURRENCY_MISMATCH', `coin ${i} is in ${d.currency}, coin 0 in ${currency}`);
    let key = keys.get(d.denominationId);
    if (key === undefined) {
      key = denominationVerifyKey(decodeBase64url(d.publicKey)!);
      keys.set(d.denominationId, key);
    }
    // The schema admitted canonical base64url of 32 bytes (coinPub) and of an RSA-sized value.
    if (!verifyCoinSignature(key, decodeBase64url(c.coinPub)!, decodeBase64url(c.denominationSignature)!)) {
      return err('PAY_COIN_FORGED', `coin ${i}: the denomination signature does not verify under key ${d.denominationId}`);
    }
    out.push({ coinPub: c.coinPub, denominationId: d.denominationId, currency, value: d.value });
  }
  return ok(out);
}

/** PAY_COIN_SPENT when any coin is already spent. Not the guard (insertSpentCoins is); it spares work. */
export async function refuseSpentCoins(db: Db, coins: readonly { coinPub: string }[]): Promise<Result<void, PayHttpErrorCode>> {
  const spent = await db
    .selectFrom('payment_spent_coins')
    .select('coin_pub')
    .where(
      'coin_pub',
      'in',
      coins.map((c) => c.coinPub),
    )
    .executeTakeFirst();
  if (!spent) return ok(undefined);
  const i = coins.findIndex((c) => c.coinPub === spent.coin_pub);
  return err('PAY_COIN_SPENT', `coin ${i} was already spent; nothing in this request took effect`);
}

/**
 * Marks the coins spent inside the spending transaction. A unique violation
 * means a coin was spent first by another request: the caller's transaction
 * rolls back. Inserted in key order, so two transactions sharing coins wait
 * for each other instead of deadlocking.
 */
export async function insertSpentCoins(trx: Transaction<PaymentDatabase>, coins: readonly CheckedCoin[], spentBy: string, spentRef: string, now: Date): Promise<void> {
  const sorted = [...coins].sort((a, b) => (a.coinPub < b.coinPub ? -1 : a.coinPub > b.coinPub ? 1 : 0));
  for (const c of sorted) {
    await trx
      .insertInto('payment_spent_coins')
      .values({ coin_pub: c.coinPub, denomination_id: c.denominationId, currency: c.currency, value: c.value, spent_by: spentBy, spent_ref: spentRef, created_at: now.toISOString() })
      .execute();
  }
}

/** GET /v1/coins/:coinPub. The server knows spent coins only; any other key is "unspent" as far as it can tell. */
export async function coinState(db: Db, coinPub: string): Promise<CoinStateView> {
  const row = await db.selectFrom('payment_spent_coins').select(['denomination_id', 'spent_by', 'created_at']).where('coin_pub', '=', coinPub).executeTakeFirst();
  if (!row) return { coinPub, state: 'unspent' };
  return { coinPub, state: 'spent', spentAt: row.created_at, spentBy: row.spent_by, denominationId: row.denomination_id };
}
