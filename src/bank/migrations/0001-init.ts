import { sql, type Kysely } from 'kysely';

// Times are RFC 3339 UTC strings (sortable, identical on SQLite and PostgreSQL).
// Money is `bigint` minor units. The CHECK constraints are the last line of
// defence: even a code path that forgets the conditional update cannot take a
// balance below its limit or write a non-positive transfer.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('bank_holders')
    .addColumn('holder', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('bank_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('shopper', 'merchant', 'payment', 'bank')`))
    .addColumn('min_balance', 'bigint', (c) => c.notNull().check(sql`min_balance <= 0`))
    .addColumn('balance', 'bigint', (c) => c.notNull())
    .addColumn('entry_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addCheckConstraint('bank_accounts_balance_floor', sql`balance >= min_balance`)
    // 2^53 − 1: the largest amount the protocol can express (src/protocol/amount.ts).
    .addCheckConstraint('bank_accounts_balance_ceiling', sql`balance <= 9007199254740991`)
    .execute();
  await db.schema.createIndex('bank_accounts_holder').on('bank_accounts').columns(['holder', 'currency']).execute();

  await db.schema
    .createTable('bank_transfers')
    .addColumn('debit_account', 'text', (c) => c.notNull().references('bank_accounts.id'))
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('credit_account', 'text', (c) => c.notNull().references('bank_accounts.id'))
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // The client-chosen id is unique per debited account: two concurrent
    // requests with one id collide here, and only one of them moves money.
    .addPrimaryKeyConstraint('bank_transfers_pk', ['debit_account', 'transfer_id'])
    .execute();

  await db.schema
    .createTable('bank_entries')
    .addColumn('account_id', 'text', (c) => c.notNull().references('bank_accounts.id'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('debit_account', 'text', (c) => c.notNull())
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount <> 0`))
    .addColumn('balance_after', 'bigint', (c) => c.notNull())
    .addColumn('counterparty', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // seq comes from the account row's entry_count, bumped by the same
    // conditional update that moves the balance: gap-free per account and a
    // cursor that any number of server processes agree on.
    .addPrimaryKeyConstraint('bank_entries_pk', ['account_id', 'seq'])
    .addForeignKeyConstraint('bank_entries_transfer', ['debit_account', 'transfer_id'], 'bank_transfers', ['debit_account', 'transfer_id'])
    .execute();
  await db.schema.createIndex('bank_entries_time').on('bank_entries').columns(['account_id', 'created_at']).execute();
}
