// Denomination keys (DESIGN §4): for every configured currency one RSA key per
// power of two up to the configured maximum, with windows (withdraw until,
// deposit until) and rotation.
//
// Rotation. A denomination needs a new key when it has none that is
// withdrawable, or when its newest key stops signing within the rotation
// overlap: the successor is published `rotationOverlapDays` before, so every
// wallet has seen it by the time it is the only one. Wallets withdraw with the
// newest key; old keys stay listed (coins stay spendable) until depositUntil.
//
// Many processes. A new key is "generation N+1" of its (currency, value), and
// (currency, value, generation) is unique: two processes that both saw N race
// on the insert and exactly one new key per denomination survives; the loser
// drops its freshly made key. No lock, no clock agreement needed.
import type { KeyObject } from 'node:crypto';
import { generateDenominationKey } from '../crypto/blind-signer.ts';
import { formatAmount } from '../protocol/amount.ts';
import { encodeBase64url } from '../protocol/base64url.ts';
import { denominationIdOf } from '../protocol/documents/denomination-keys.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { denominationsOf } from './config.ts';
import type { PaymentDenominationKeyTable } from './db.ts';
import type { PaymentDeps } from './deps.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { unwrapPrivateKey, wrapPrivateKey } from './key-wrap.ts';

const DAY_MS = 86_400_000;

export type DenominationKeyInfo = {
  denominationId: string;
  currency: string;
  /** Minor units. */
  value: bigint;
  /** The value as an amount string, e.g. "JPY:64". */
  amount: string;
  generation: number;
  /** SPKI DER, base64url. */
  publicKey: string;
  validFrom: string;
  withdrawUntil: string;
  depositUntil: string;
};

type Row = PaymentDenominationKeyTable;

export function keyInfo(r: Omit<Row, 'private_key_wrapped' | 'created_at'>): DenominationKeyInfo {
  return {
    denominationId: r.denomination_id,
    currency: r.currency,
    value: r.value,
    amount: formatAmount({ currency: r.currency, minor: r.value }),
    generation: r.generation,
    publicKey: r.public_key,
    validFrom: r.valid_from,
    withdrawUntil: r.withdraw_until,
    depositUntil: r.deposit_until,
  };
}

type EnsureDeps = Pick<PaymentDeps, 'db' | 'config' | 'wrapKey' | 'isUniqueViolation'>;

/** The keys every denomination should have, newest generation first per denomination. */
function configured(config: PaymentDeps['config']): { currency: string; value: bigint }[] {
  return config.currencies.flatMap((c) => {
    const d = denominationsOf(c);
    return d.values.map((value) => ({ currency: d.currency, value }));
  });
}

/** True when (currency, value) needs a new key at `now`, given its newest key (any window). */
export function rotationDue(config: PaymentDeps['config'], newest: Pick<Row, 'valid_from' | 'withdraw_until'> | undefined, now: Date): boolean {
  if (newest === undefined) return true;
  const overlap = config.rotationOverlapDays * DAY_MS;
  return Date.parse(newest.withdraw_until) - overlap <= now.getTime();
}

/**
 * Creates the keys that are due at `now` (all of them with `force`, for
 * `quittance payment rotate`). Returns the new keys; a key another process
 * created first is not among them.
 */
export async function ensureDenominationKeys(deps: EnsureDeps, now: Date, opts: { force?: boolean } = {}): Promise<DenominationKeyInfo[]> {
  const newest = await deps.db
    .selectFrom('payment_denomination_keys as k')
    .select(['k.currency', 'k.value', 'k.generation', 'k.valid_from', 'k.withdraw_until'])
    .where(({ eb, selectFrom }) =>
      eb(
        'k.generation',
        '=',
        selectFrom('payment_denomination_keys as n')
          .select((e) => e.fn.max('n.generation').as('g'))
          .whereRef('n.currency', '=', 'k.currency')
          .whereRef('n.value', '=', 'k.value'),
      ),
    )
    .execute();
  const byDenomination = new Map(newest.map((r) => [`${r.currency}:${r.value}`, r]));
  const due = configured(deps.config)
    .map((d) => ({ ...d, newest: byDenomination.get(`${d.currency}:${d.value}`) }))
    .filter((d) => opts.force === true || rotationDue(deps.config, d.newest, now));
  if (due.length === 0) return [];

  // Whole seconds: the windows are what a wallet shows and compares.
  const validFrom = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const withdrawUntil = new Date(validFrom.getTime() + deps.config.withdrawDays * DAY_MS).toISOString();
  const depositUntil = new Date(validFrom.getTime() + deps.config.depositDays * DAY_MS).toISOString();
  const created: DenominationKeyInfo[] = [];
  // Key generation runs on libuv's thread pool; a few at a time keeps one
  // rotation from starving the other work of the process.
  for (let i = 0; i < due.length; i += 4) {
    const batch = due.slice(i, i + 4);
    const pairs = await Promise.all(batch.map(() => generateDenominationKey(deps.config.denominationKeyBits)));
    for (const [j, d] of batch.entries()) {
      const pair = pairs[j]!;
      const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
      const id = await denominationIdOf(spki);
      const row: Row = {
        denomination_id: id,
        currency: d.currency,
        value: d.value,
        generation: (d.newest?.generation ?? 0) + 1,
        public_key: encodeBase64url(spki),
        private_key_wrapped: wrapPrivateKey(deps.wrapKey, pair.privateKey, id),
        valid_from: validFrom.toISOString(),
        withdraw_until: withdrawUntil,
        deposit_until: depositUntil,
        created_at: now.toISOString(),
      };
      try {
        await deps.db.insertInto('payment_denomination_keys').values(row).execute();
        created.push(keyInfo(row));
      } catch (e) {
        // Another process made this generation first: its key is the one.
        if (!deps.isUniqueViolation(e)) throw e;
      }
    }
  }
  return created;
}

/** Keys still listed at `now` (depositUntil not passed), by currency, value, generation. */
export async function listDenominationKeys(deps: Pick<PaymentDeps, 'db'>, now: Date, opts: { all?: boolean } = {}): Promise<DenominationKeyInfo[]> {
  let q = deps.db
    .selectFrom('payment_denomination_keys')
    .select(['denomination_id', 'currency', 'value', 'generation', 'public_key', 'valid_from', 'withdraw_until', 'deposit_until'])
    .orderBy('currency')
    .orderBy('value')
    .orderBy('generation');
  if (opts.all !== true) q = q.where('deposit_until', '>=', now.toISOString());
  return (await q.execute()).map(keyInfo);
}

export type DenominationUse = 'withdraw' | 'deposit';

export type FoundDenomination = {
  key: DenominationKeyInfo;
  /** The RSA private key, unwrapped once per process (withdrawal signs with it). */
  privateKey: () => KeyObject;
};

/**
 * The key `denominationId` if it may be used for `use` at `now`: withdraw
 * within [validFrom, withdrawUntil], deposit within [validFrom, depositUntil].
 */
export async function findDenomination(
  deps: Pick<PaymentDeps, 'db' | 'wrapKey' | 'caches'>,
  denominationId: string,
  now: Date,
  use: DenominationUse,
): Promise<Result<FoundDenomination, PayHttpErrorCode>> {
  const row = await deps.db.selectFrom('payment_denomination_keys').selectAll().where('denomination_id', '=', denominationId).executeTakeFirst();
  if (!row) return err('PAY_DENOMINATION_UNKNOWN', 'no denomination key with this id');
  const t = now.getTime();
  const until = Date.parse(use === 'withdraw' ? row.withdraw_until : row.deposit_until);
  if (t < Date.parse(row.valid_from) || t > until) {
    return use === 'withdraw'
      ? err('PAY_DENOMINATION_NOT_WITHDRAWABLE', `denomination key signs coins from ${row.valid_from} until ${row.withdraw_until}`)
      : err('PAY_DENOMINATION_NOT_DEPOSITABLE', `denomination key accepts coins from ${row.valid_from} until ${row.deposit_until}`);
  }
  return ok({
    key: keyInfo(row),
    privateKey: () => {
      let k = deps.caches.privateKeys.get(row.denomination_id);
      if (k === undefined) {
        k = unwrapPrivateKey(deps.wrapKey, row.private_key_wrapped, row.denomination_id);
        deps.caches.privateKeys.set(row.denomination_id, k);
      }
      return k;
    },
  });
}
