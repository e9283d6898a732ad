// The payment server's books (DESIGN §4): double entry, after TigerBeetle's
// model. Every movement is a transfer between two accounts of one currency;
// transfers are immutable rows with unique ids; money can be held (a pending
// transfer) and later posted or voided by a second transfer that names it.
//
// Accounts and what their balance (credits − debits) means:
//   bank:CUR      mirror of the payment server's account at the bank; the
//                 only account that goes negative: −(money received there)
//   reserve:PUB   loaded but not yet withdrawn (a shopper's reserve)
//   float:CUR     e-money outstanding: the value of issued, unspent coins
//   suspense:CUR  money received that must go back (a bounced load)
//   merchant:…, fees:CUR   (purchases, issue 4)
// So a load is bank → reserve, a withdrawal reserve → float, a bounce
// bank → suspense and back. The balances of each currency sum to zero at
// every moment: every transfer adds its amount to one side and the other.
//
// Concurrency (DESIGN §6): a debit is one conditional UPDATE
// ("… where available >= amount"), so two transactions can never both spend
// the same balance; the CHECK constraints of 0002-books.ts refuse any
// overdraft that a bug let through. Call these inside a transaction: a
// transfer's balance updates and its row commit together or not at all.
import { sql, type Kysely } from 'kysely';
import { toBigInt } from '../store/index.ts';
import type { LedgerAccountKind, PaymentDatabase } from './db.ts';

type Db = Kysely<PaymentDatabase>;

export const ledgerAccount = {
  bank: (currency: string) => `bank:${currency}`,
  float: (currency: string) => `float:${currency}`,
  suspense: (currency: string) => `suspense:${currency}`,
  reserve: (reservePub: string) => `reserve:${reservePub}`,
} as const;

export type TransferSpec = {
  id: string;
  debit: string;
  credit: string;
  currency: string;
  /** Minor units, > 0. */
  amount: bigint;
  reason: string;
};

/** Creates the account if it does not exist; an existing one must have this currency and kind. */
export async function ensureAccount(db: Db, id: string, currency: string, kind: LedgerAccountKind, now: Date): Promise<void> {
  await db
    .insertInto('payment_ledger_accounts')
    .values({ id, currency, kind, debits_posted: 0n, credits_posted: 0n, debits_pending: 0n, credits_pending: 0n, created_at: now.toISOString() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await db.selectFrom('payment_ledger_accounts').select(['currency', 'kind']).where('id', '=', id).executeTakeFirstOrThrow();
  if (row.currency !== currency || row.kind !== kind) throw new Error(`ledger account ${id} is ${row.kind} in ${row.currency}, not ${kind} in ${currency}`);
}

function assertSpec(s: TransferSpec): void {
  if (typeof s.amount !== 'bigint' || s.amount <= 0n) throw new RangeError(`ledger transfer ${s.id}: amount must be a positive bigint`);
  if (s.debit === s.credit) throw new RangeError(`ledger transfer ${s.id}: debit and credit are the same account`);
}

/**
 * Takes `amount` from `account`'s available balance into `column`
 * (debits_posted or debits_pending). False when the balance does not cover
 * it; nothing is written then. The bank mirror may always be debited.
 */
async function debit(db: Db, account: string, currency: string, amount: bigint, column: 'debits_posted' | 'debits_pending'): Promise<boolean> {
  const r = await db
    .updateTable('payment_ledger_accounts')
    .set(column === 'debits_posted' ? { debits_posted: sql`debits_posted + ${amount}` } : { debits_pending: sql`debits_pending + ${amount}` })
    .where('id', '=', account)
    .where('currency', '=', currency)
    .where((eb) => eb.or([eb('kind', '=', 'bank'), eb(sql`credits_posted - debits_posted - debits_pending`, '>=', amount)]))
    .executeTakeFirst();
  if (r.numUpdatedRows === 0n) {
    const exists = await db.selectFrom('payment_ledger_accounts').select('id').where('id', '=', account).where('currency', '=', currency).executeTakeFirst();
    if (!exists) throw new Error(`ledger account ${account} (${currency}) does not exist`);
    return false;
  }
  return true;
}

async function credit(db: Db, account: string, currency: string, amount: bigint, column: 'credits_posted' | 'credits_pending'): Promise<void> {
  const r = await db
    .updateTable('payment_ledger_accounts')
    .set(column === 'credits_posted' ? { credits_posted: sql`credits_posted + ${amount}` } : { credits_pending: sql`credits_pending + ${amount}` })
    .where('id', '=', account)
    .where('currency', '=', currency)
    .executeTakeFirst();
  if (r.numUpdatedRows === 0n) throw new Error(`ledger account ${account} (${currency}) does not exist`);
}

async function insertTransfer(db: Db, s: TransferSpec, flow: 'posted' | 'pending' | 'post_pending' | 'void_pending', pendingId: string | null, now: Date): Promise<void> {
  await db
    .insertInto('payment_ledger_transfers')
    .values({ id: s.id, flow, debit_account: s.debit, credit_account: s.credit, currency: s.currency, amount: s.amount, pending_id: pendingId, reason: s.reason, created_at: now.toISOString() })
    .execute();
}

/**
 * Moves `amount` from debit to credit at once. False (and nothing written)
 * when the debit account's available balance does not cover it. A transfer id
 * used before makes the insert fail with a unique violation: the caller's
 * transaction rolls back.
 */
export async function postTransfer(db: Db, s: TransferSpec, now: Date): Promise<boolean> {
  assertSpec(s);
  if (!(await debit(db, s.debit, s.currency, s.amount, 'debits_posted'))) return false;
  await credit(db, s.credit, s.currency, s.amount, 'credits_posted');
  await insertTransfer(db, s, 'posted', null, now);
  return true;
}

/** Holds `amount` on the debit account (no longer available) until postPending or voidPending. */
export async function createPending(db: Db, s: TransferSpec, now: Date): Promise<boolean> {
  assertSpec(s);
  if (!(await debit(db, s.debit, s.currency, s.amount, 'debits_pending'))) return false;
  await credit(db, s.credit, s.currency, s.amount, 'credits_pending');
  await insertTransfer(db, s, 'pending', null, now);
  return true;
}

export type Resolution = 'resolved' | 'already_resolved' | 'unknown';

async function resolve(db: Db, pendingId: string, id: string, flow: 'post_pending' | 'void_pending', now: Date): Promise<Resolution> {
  const p = await db.selectFrom('payment_ledger_transfers').selectAll().where('id', '=', pendingId).where('flow', '=', 'pending').executeTakeFirst();
  if (!p) return 'unknown';
  const done = await db.selectFrom('payment_ledger_transfers').select('id').where('pending_id', '=', pendingId).executeTakeFirst();
  if (done) return 'already_resolved';
  // The unique pending_id makes a concurrent second resolution fail here.
  await insertTransfer(db, { id, debit: p.debit_account, credit: p.credit_account, currency: p.currency, amount: p.amount, reason: p.reason }, flow, pendingId, now);
  const a = p.amount;
  if (flow === 'post_pending') {
    await db.updateTable('payment_ledger_accounts').set({ debits_pending: sql`debits_pending - ${a}`, debits_posted: sql`debits_posted + ${a}` }).where('id', '=', p.debit_account).execute();
    await db.updateTable('payment_ledger_accounts').set({ credits_pending: sql`credits_pending - ${a}`, credits_posted: sql`credits_posted + ${a}` }).where('id', '=', p.credit_account).execute();
  } else {
    await db.updateTable('payment_ledger_accounts').set({ debits_pending: sql`debits_pending - ${a}` }).where('id', '=', p.debit_account).execute();
    await db.updateTable('payment_ledger_accounts').set({ credits_pending: sql`credits_pending - ${a}` }).where('id', '=', p.credit_account).execute();
  }
  return 'resolved';
}

/** Completes a pending transfer: the held money moves. */
export function postPending(db: Db, pendingId: string, id: string, now: Date): Promise<Resolution> {
  return resolve(db, pendingId, id, 'post_pending', now);
}

/** Cancels a pending transfer: the held money is available again where it was. */
export function voidPending(db: Db, pendingId: string, id: string, now: Date): Promise<Resolution> {
  return resolve(db, pendingId, id, 'void_pending', now);
}

export type AccountBalance = {
  id: string;
  currency: string;
  kind: LedgerAccountKind;
  /** credits_posted − debits_posted. */
  balance: bigint;
  /** Money on hold, leaving this account once posted. */
  pendingOut: bigint;
  pendingIn: bigint;
  /** balance − pendingOut: what may still be debited. */
  available: bigint;
  creditsPosted: bigint;
  debitsPosted: bigint;
};

export async function accountBalance(db: Db, id: string): Promise<AccountBalance | undefined> {
  const r = await db.selectFrom('payment_ledger_accounts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) return undefined;
  const balance = r.credits_posted - r.debits_posted;
  return {
    id: r.id,
    currency: r.currency,
    kind: r.kind,
    balance,
    pendingOut: r.debits_pending,
    pendingIn: r.credits_pending,
    available: balance - r.debits_pending,
    creditsPosted: r.credits_posted,
    debitsPosted: r.debits_posted,
  };
}

/**
 * The ledger's own invariants, for `quittance audit` and for tests after any
 * sequence of operations. Returns the problems found; empty means sound.
 */
export async function checkLedger(db: Db): Promise<string[]> {
  const problems: string[] = [];

  // 1. Double entry: posted balances of each currency sum to zero; holds too.
  const perCurrency = await db
    .selectFrom('payment_ledger_accounts')
    .select([
      'currency',
      sql<unknown>`cast(sum(credits_posted - debits_posted) as bigint)`.as('net'),
      sql<unknown>`cast(sum(credits_pending - debits_pending) as bigint)`.as('held'),
    ])
    .groupBy('currency')
    .execute();
  for (const r of perCurrency) {
    if (toBigInt(r.net) !== 0n) problems.push(`ledger: posted balances in ${r.currency} sum to ${toBigInt(r.net)}, not 0`);
    if (toBigInt(r.held) !== 0n) problems.push(`ledger: money on hold in ${r.currency} sums to ${toBigInt(r.held)}, not 0`);
  }

  // 2. Every account's columns equal what its transfers say. A post_pending
  //    row repeats its pending transfer's accounts and amount.
  type Sums = { dp: bigint; cp: bigint; dh: bigint; ch: bigint };
  const sums = new Map<string, Sums>();
  const get = (id: string) => {
    let s = sums.get(id);
    if (!s) sums.set(id, (s = { dp: 0n, cp: 0n, dh: 0n, ch: 0n }));
    return s;
  };
  const rows = await db
    .selectFrom('payment_ledger_transfers')
    .select(['debit_account', 'credit_account', 'flow', sql<unknown>`cast(sum(amount) as bigint)`.as('s')])
    .groupBy(['debit_account', 'credit_account', 'flow'])
    .execute();
  for (const r of rows) {
    const a = toBigInt(r.s);
    const d = get(r.debit_account);
    const c = get(r.credit_account);
    if (r.flow === 'posted' || r.flow === 'post_pending') {
      d.dp += a;
      c.cp += a;
    }
    // A hold is counted when created and released when resolved either way.
    if (r.flow === 'pending') {
      d.dh += a;
      c.ch += a;
    } else if (r.flow === 'post_pending' || r.flow === 'void_pending') {
      d.dh -= a;
      c.ch -= a;
    }
  }
  for (const a of await db.selectFrom('payment_ledger_accounts').selectAll().execute()) {
    const s = sums.get(a.id) ?? { dp: 0n, cp: 0n, dh: 0n, ch: 0n };
    if (a.debits_posted !== s.dp || a.credits_posted !== s.cp || a.debits_pending !== s.dh || a.credits_pending !== s.ch) {
      problems.push(
        `ledger: account ${a.id} holds debits ${a.debits_posted}/${a.debits_pending} credits ${a.credits_posted}/${a.credits_pending} (posted/pending) but its transfers say ${s.dp}/${s.dh} and ${s.cp}/${s.ch}`,
      );
    }
    if (a.kind !== 'bank' && a.credits_posted - a.debits_posted - a.debits_pending < 0n) problems.push(`ledger: account ${a.id} is overdrawn`);
  }

  // 3. A resolution repeats its pending transfer exactly.
  const mismatched = await db
    .selectFrom('payment_ledger_transfers as r')
    .innerJoin('payment_ledger_transfers as p', 'p.id', 'r.pending_id')
    .select(['r.id'])
    .where((eb) =>
      eb.or([
        eb('p.flow', '<>', 'pending'),
        eb('p.amount', '<>', eb.ref('r.amount')),
        eb('p.debit_account', '<>', eb.ref('r.debit_account')),
        eb('p.credit_account', '<>', eb.ref('r.credit_account')),
      ]),
    )
    .execute();
  for (const m of mismatched) problems.push(`ledger: transfer ${m.id} resolves a pending transfer it does not match`);
  return problems;
}
