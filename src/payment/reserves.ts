// Reserves (DESIGN §4 "loading"): a reserve is named by an Ed25519 public key
// that a shopper put as the subject of a bank transfer to the payment server.
// The loader (loader.ts) credits it; withdrawals (withdraw.ts) spend it with
// signatures by that key. Here: which subjects are reserve keys, and what a
// reserve looks like on the wire (GET /v1/reserves/:reservePub).
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { formatAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { ed25519PublicKeyProblem } from '../protocol/ed25519.ts';
import { Ed25519PublicKey, type ReserveView } from '../protocol/messages/payment.ts';
import { toBigInt } from '../store/index.ts';
import type { PaymentDatabase } from './db.ts';
import { accountBalance, ledgerAccount } from './ledger.ts';

type Db = Kysely<PaymentDatabase>;

// ---------------------------------------------------------------- reserve keys

/**
 * Why `subject` cannot name a reserve, or undefined when it can: a canonical
 * base64url Ed25519 public key that is a curve point of large order. WebCrypto
 * alone is not enough: Node imports any 32 bytes as an Ed25519 key, and a
 * reserve whose key is no point could never sign a withdrawal (the money
 * would be stuck), while one of small order could be emptied by anybody.
 */
export async function reserveKeyProblem(subject: string): Promise<string | undefined> {
  if (!Ed25519PublicKey.safeParse(subject).success) return 'the subject is not a reserve public key (32 bytes, base64url)';
  const bytes = decodeBase64url(subject)!;
  const problem = ed25519PublicKeyProblem(bytes);
  if (problem === 'not-a-point') return 'the subject is not an Ed25519 public key (not a point of the curve)';
  if (problem === 'small-order') return 'the subject is a weak Ed25519 key (small order)';
  try {
    await crypto.subtle.importKey('raw', bytes.slice(), { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return 'the subject is not an Ed25519 public key';
  }
  return undefined;
}

// ---------------------------------------------------------------- views

async function sumOf(q: Promise<{ s: unknown } | undefined>): Promise<bigint> {
  const r = await q;
  return r?.s === null || r?.s === undefined ? 0n : toBigInt(r.s);
}

/** The reserve as GET /v1/reserves shows it, or undefined when no load reached it. */
export async function reserveView(db: Db, reservePub: string): Promise<ReserveView | undefined> {
  const reserve = await db.selectFrom('payment_reserves').selectAll().where('reserve_pub', '=', reservePub).executeTakeFirst();
  if (!reserve) return undefined;
  const account = ledgerAccount.reserve(reservePub);
  const credited = await sumOf(
    db
      .selectFrom('payment_ledger_transfers')
      .select(sql<unknown>`cast(sum(amount) as bigint)`.as('s'))
      .where('credit_account', '=', account)
      .where('reason', '=', 'load')
      .where('flow', '=', 'posted')
      .executeTakeFirst(),
  );
  const withdrawn = await sumOf(
    db.selectFrom('payment_withdrawals').select(sql<unknown>`cast(sum(amount) as bigint)`.as('s')).where('reserve_pub', '=', reservePub).executeTakeFirst(),
  );
  const purse = await db.selectFrom('payment_purses').select('purse_key').where('purse_key', '=', reservePub).executeTakeFirst();
  const paid = purse
    ? await sumOf(db.selectFrom('payment_payments').select(sql<unknown>`cast(sum(amount) as bigint)`.as('s')).where('purse_key', '=', reservePub).where('state', '=', 'PAID').executeTakeFirst())
    : undefined;
  const refunded = purse
    ? await sumOf(db.selectFrom('payment_repayments').select(sql<unknown>`cast(sum(amount) as bigint)`.as('s')).where('purse_key', '=', reservePub).executeTakeFirst())
    : 0n;
  // What may still be withdrawn is the ledger's word (money on hold is not available).
  const balance = (await accountBalance(db, account))?.available ?? 0n;
  const cur = reserve.currency;
  return {
    reservePub,
    currency: cur,
    credited: formatAmount({ currency: cur, minor: credited }),
    withdrawn: formatAmount({ currency: cur, minor: withdrawn }),
    ...(paid !== undefined ? { paid: formatAmount({ currency: cur, minor: paid }) } : {}),
    ...(refunded > 0n ? { refunded: formatAmount({ currency: cur, minor: refunded }) } : {}),
    balance: formatAmount({ currency: cur, minor: balance < 0n ? 0n : balance }),
    createdAt: reserve.created_at,
  };
}

export const RESERVE_POLL_MS = 150;
export const RESERVE_MAX_WAIT_SECONDS = 30;

function satisfied(view: ReserveView | undefined, credited: Amount | undefined): boolean {
  if (!view) return false;
  if (!credited) return true;
  // A reserve in another currency can never reach the amount: answer now.
  if (view.currency !== credited.currency) return true;
  const got = parseAmount(view.credited);
  return got.ok && got.value.minor >= credited.minor;
}

/**
 * The reserve once it exists and has been credited at least `credited`, or
 * whatever it is after min(waitSeconds, 30) seconds. The database is looked
 * at every 150 ms, so a load by any process ends the wait; `signal` ends it
 * early (client gone, server closing).
 */
export async function waitForReserve(
  db: Db,
  reservePub: string,
  opts: { waitSeconds: number; credited?: Amount | undefined; signal?: AbortSignal; pollMs?: number },
): Promise<ReserveView | undefined> {
  // Monotonic: the injected clock may stand still in tests.
  const deadline = performance.now() + Math.min(opts.waitSeconds, RESERVE_MAX_WAIT_SECONDS) * 1000;
  for (;;) {
    const view = await reserveView(db, reservePub);
    const left = deadline - performance.now();
    if (satisfied(view, opts.credited) || left <= 0 || opts.signal?.aborted) return view;
    try {
      await sleep(Math.min(opts.pollMs ?? RESERVE_POLL_MS, left), undefined, opts.signal ? { signal: opts.signal } : {});
    } catch {
      // Aborted: the next round answers with what there is.
    }
  }
}
