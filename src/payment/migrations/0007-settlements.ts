import { sql, type Kysely } from 'kysely';

// Settlement (issue 5, settlement.ts): a shop's collected takings paid out to
// its bank account. Guards the database keeps whatever the code does:
// - an item (a payment or a refund) is in at most one live settlement: its
//   settlement_id column is set by a conditional update
//   ("… where settlement_id is null") in the transaction that creates the
//   settlement, and set back to null only when the bank refused it for good;
// - a settlement has one amount, positive, and one of three states.
// ALTER TABLE ADD COLUMN without a reference: SQLite cannot add a
// referencing column with constraints checked, and the audit ties the ids.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('payment_settlements')
    .addColumn('settlement_id', 'text', (c) => c.primaryKey())
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('payment_merchants.merchant_id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('payout_account', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'sent', 'failed')`))
    // The signed settlement report (JWS JSON), made in the creating transaction.
    .addColumn('report_jws', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('payment_settlements_merchant').on('payment_settlements').columns(['merchant_id', 'created_at']).execute();
  await db.schema.createIndex('payment_settlements_state').on('payment_settlements').column('state').execute();

  await db.schema.alterTable('payment_payments').addColumn('settlement_id', 'text').execute();
  await db.schema.alterTable('payment_repayments').addColumn('settlement_id', 'text').execute();
  // What a settlement looks for: a shop's items not yet settled; and a settlement's items.
  await db.schema.createIndex('payment_payments_unsettled').on('payment_payments').columns(['shop_id', 'settlement_id']).execute();
  await db.schema.createIndex('payment_repayments_unsettled').on('payment_repayments').columns(['shop_id', 'settlement_id']).execute();
  await db.schema.createIndex('payment_payments_settlement').on('payment_payments').column('settlement_id').execute();
  await db.schema.createIndex('payment_repayments_settlement').on('payment_repayments').column('settlement_id').execute();
}
