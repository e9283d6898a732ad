// The books must balance at every moment (DESIGN §4): used by tests after any
// sequence of operations, and usable by an auditor on a live database.
// Returns the list of problems found; empty means the ledger is sound.
import { sql, type Kysely } from 'kysely';
import type { BankDatabase } from './db.ts';
import { toBigInt } from './money.ts';

export async function checkLedger(db: Kysely<BankDatabase>): Promise<string[]> {
  const problems: string[] = [];

  // 1. Double entry: the entries of each currency sum to zero.
  const perCurrency = await db
    .selectFrom('bank_entries as e')
    .innerJoin('bank_accounts as a', 'a.id', 'e.account_id')
    .select(['a.currency', sql<unknown>`cast(sum(e.amount) as bigint)`.as('s')])
    .groupBy('a.currency')
    .execute();
  for (const r of perCurrency) if (toBigInt(r.s) !== 0n) problems.push(`entries in ${r.currency} sum to ${toBigInt(r.s)}, not 0`);

  // 2. Each balance is the sum of its entries, never below its floor, and its
  //    entry count matches gap-free sequence numbers 1..n.
  const perAccount = new Map(
    (
      await db
        .selectFrom('bank_entries')
        .select([
          'account_id',
          sql<unknown>`cast(sum(amount) as bigint)`.as('s'),
          sql<unknown>`count(*)`.as('n'),
          sql<unknown>`max(seq)`.as('m'),
        ])
        .groupBy('account_id')
        .execute()
    ).map((r) => [r.account_id, { sum: toBigInt(r.s), count: Number(r.n), max: Number(r.m) }]),
  );
  for (const a of await db.selectFrom('bank_accounts').selectAll().execute()) {
    const e = perAccount.get(a.id) ?? { sum: 0n, count: 0, max: 0 };
    if (a.balance !== e.sum) problems.push(`account ${a.id}: balance ${a.balance} but entries sum to ${e.sum}`);
    if (a.balance < a.min_balance) problems.push(`account ${a.id}: balance ${a.balance} below its limit ${a.min_balance}`);
    if (a.entry_count !== e.count || e.count !== e.max) problems.push(`account ${a.id}: entry_count ${a.entry_count}, ${e.count} entries, last seq ${e.max}`);
  }

  // 3. Each transfer has exactly one debit and one credit entry of its amount.
  const perTransfer = await db
    .selectFrom('bank_transfers as t')
    .leftJoin('bank_entries as e', (j) => j.onRef('e.debit_account', '=', 't.debit_account').onRef('e.transfer_id', '=', 't.transfer_id'))
    .select([
      't.debit_account',
      't.transfer_id',
      't.amount',
      sql<unknown>`count(e.seq)`.as('n'),
      sql<unknown>`cast(coalesce(sum(case when e.amount > 0 then e.amount else 0 end), 0) as bigint)`.as('credit'),
      sql<unknown>`cast(coalesce(sum(e.amount), 0) as bigint)`.as('s'),
    ])
    .groupBy(['t.debit_account', 't.transfer_id', 't.amount'])
    .execute();
  for (const t of perTransfer) {
    if (Number(t.n) !== 2 || toBigInt(t.s) !== 0n || toBigInt(t.credit) !== t.amount) {
      problems.push(`transfer ${t.debit_account}/${t.transfer_id}: ${Number(t.n)} entries, credit ${toBigInt(t.credit)}, net ${toBigInt(t.s)}`);
    }
  }
  return problems;
}
