import { sql, type Kysely } from 'kysely';

// The payment server's books (ledger.ts) and e-money tables. The constraints
// are the last line of defence behind the code (DESIGN §4, §6):
// - a ledger transfer is never updated; a pending transfer is resolved (posted
//   or voided) by a second transfer whose `pending_id` is unique, so it is
//   resolved at most once;
// - no account but the bank mirror goes below zero, counting money on hold;
// - a coin is spent once: its public key is the primary key of spent coins,
//   written in the transaction that moves its value;
// - a blinded envelope is signed once (a wallet bug that reused one would
//   otherwise pay twice for the same coin).
// Open-ended kinds (what spent a coin, what an envelope was signed for) have
// no CHECK: later flows (payments, refunds) add values without rebuilding tables.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('payment_ledger_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('bank', 'float', 'reserve', 'suspense', 'merchant', 'fees')`))
    .addColumn('debits_posted', 'bigint', (c) => c.notNull().check(sql`debits_posted >= 0`))
    .addColumn('credits_posted', 'bigint', (c) => c.notNull().check(sql`credits_posted >= 0`))
    .addColumn('debits_pending', 'bigint', (c) => c.notNull().check(sql`debits_pending >= 0`))
    .addColumn('credits_pending', 'bigint', (c) => c.notNull().check(sql`credits_pending >= 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    // The bank mirror is the only account whose balance is negative: it is
    // the other side of every load (money that arrived at the bank).
    .addCheckConstraint('payment_ledger_accounts_floor', sql`kind = 'bank' or credits_posted - debits_posted - debits_pending >= 0`)
    .execute();

  await db.schema
    .createTable('payment_ledger_transfers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('flow', 'text', (c) => c.notNull().check(sql`flow in ('posted', 'pending', 'post_pending', 'void_pending')`))
    .addColumn('debit_account', 'text', (c) => c.notNull().references('payment_ledger_accounts.id'))
    .addColumn('credit_account', 'text', (c) => c.notNull().references('payment_ledger_accounts.id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('pending_id', 'text', (c) => c.unique().references('payment_ledger_transfers.id'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addCheckConstraint('payment_ledger_transfers_two_sides', sql`debit_account <> credit_account`)
    .addCheckConstraint('payment_ledger_transfers_resolution', sql`(flow in ('post_pending', 'void_pending')) = (pending_id is not null)`)
    .execute();
  await db.schema.createIndex('payment_ledger_transfers_debit').on('payment_ledger_transfers').column('debit_account').execute();
  await db.schema.createIndex('payment_ledger_transfers_credit').on('payment_ledger_transfers').column('credit_account').execute();

  // Loading: the bank account(s) the server watches, and every entry seen there.
  await db.schema
    .createTable('payment_bank_cursors')
    .addColumn('bank_account', 'text', (c) => c.primaryKey())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('last_seq', 'integer', (c) => c.notNull().check(sql`last_seq >= 0`))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('payment_bank_incoming')
    .addColumn('bank_account', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('bank_transfer_id', 'text', (c) => c.notNull())
    .addColumn('counterparty', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('credited', 'bounced')`))
    .addColumn('reserve_pub', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    // One bank entry, one effect, however many processes watch the account.
    .addPrimaryKeyConstraint('payment_bank_incoming_pk', ['bank_account', 'seq'])
    .addCheckConstraint('payment_bank_incoming_reserve', sql`(outcome = 'credited') = (reserve_pub is not null)`)
    .execute();

  await db.schema
    .createTable('payment_bounces')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('bank_account', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('to_account', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'sent', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('payment_bounces_entry', ['bank_account', 'seq'])
    .execute();
  await db.schema.createIndex('payment_bounces_state').on('payment_bounces').column('state').execute();

  await db.schema
    .createTable('payment_reserves')
    .addColumn('reserve_pub', 'text', (c) => c.primaryKey())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  // Withdrawals and swaps: the request (for idempotent replay) and every envelope signed.
  await db.schema
    .createTable('payment_withdrawals')
    .addColumn('reserve_pub', 'text', (c) => c.notNull().references('payment_reserves.reserve_pub'))
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('payment_withdrawals_pk', ['reserve_pub', 'request_id'])
    .execute();

  await db.schema
    .createTable('payment_swaps')
    .addColumn('swap_id', 'text', (c) => c.primaryKey())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('payment_issued_envelopes')
    // SHA-256 of the blinded message (base64url): an envelope is signed once.
    .addColumn('envelope_hash', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    // "<reservePub>/<requestId>" for a withdrawal, the swap id for a swap.
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull().check(sql`position >= 0`))
    .addColumn('denomination_id', 'text', (c) => c.notNull().references('payment_denomination_keys.denomination_id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('value', 'bigint', (c) => c.notNull().check(sql`value > 0`))
    .addColumn('blind_signature', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('payment_issued_envelopes_position', ['source', 'source_id', 'position'])
    .execute();

  await db.schema
    .createTable('payment_spent_coins')
    // THE double-spend guard: a coin key appears here once.
    .addColumn('coin_pub', 'text', (c) => c.primaryKey())
    .addColumn('denomination_id', 'text', (c) => c.notNull().references('payment_denomination_keys.denomination_id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('value', 'bigint', (c) => c.notNull().check(sql`value > 0`))
    .addColumn('spent_by', 'text', (c) => c.notNull())
    .addColumn('spent_ref', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('payment_spent_coins_ref').on('payment_spent_coins').columns(['spent_by', 'spent_ref']).execute();
}
