import { sql, type Kysely } from 'kysely';

// The purchase at the payment server (DESIGN §2, issue 4): merchants accepted
// by contract, and one payment per (shop, transaction) (patent fig. 13).
// The unique (shop_id, transaction_id) is what makes message 150 idempotent
// and lets exactly one of two racing payments (170) commit: the payment moves
// from RECEPTION_ACCEPTED to PAID by a conditional update, in the transaction
// that spends the coins.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('payment_merchants')
    .addColumn('merchant_id', 'text', (c) => c.primaryKey())
    .addColumn('display_name', 'text', (c) => c.notNull())
    // PEM, leaf first, as added; the leaf's SHA-256 (hex) for display.
    .addColumn('certificate_chain', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('payout_account', 'text')
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'suspended')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('payment_payments')
    .addColumn('payment_id', 'text', (c) => c.primaryKey())
    .addColumn('shop_id', 'text', (c) => c.notNull().references('payment_merchants.merchant_id'))
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('purchaser_id', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('payment_mode', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('RECEPTION_ACCEPTED', 'PAID')`))
    .addColumn('invoice_hash', 'text', (c) => c.notNull())
    .addColumn('payment_due_time', 'text', (c) => c.notNull())
    // The countersigned invoice (150) and the signed answer (160), JSON: evidence, and the replay of 150.
    .addColumn('invoice_jws', 'text', (c) => c.notNull())
    .addColumn('reception_jws', 'text', (c) => c.notNull())
    // Set together when paid: SHA-256 (hex) of the 170 signing bytes, the receipt (180) JSON.
    .addColumn('payment_request_hash', 'text')
    .addColumn('receipt_jws', 'text')
    .addColumn('paid_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('payment_payments_shop_transaction', ['shop_id', 'transaction_id'])
    .addCheckConstraint(
      'payment_payments_paid',
      sql`(state = 'PAID') = (payment_request_hash is not null and receipt_jws is not null and paid_at is not null)`,
    )
    .execute();
}
