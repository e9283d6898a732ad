import { sql, type Kysely } from 'kysely';

// Notifying merchants (issue 5, notifications.ts): the payment server tells a
// shop that one of its transactions was paid or one of its permits repaid,
// instead of waiting for the shop to ask. An outbox: the row is inserted in
// the transaction that changes the state, so a notification exists exactly
// when the state change committed, and is delivered (retried) afterwards.
// One row per (merchant, what, which, event): enqueuing twice is a no-op.
export async function up(db: Kysely<unknown>): Promise<void> {
  // Where the merchant server listens (its base URL), from the contract.
  await db.schema.alterTable('payment_merchants').addColumn('notify_url', 'text').execute();

  await db.schema
    .createTable('payment_notifications')
    .addColumn('merchant_id', 'text', (c) => c.notNull().references('payment_merchants.merchant_id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('payment', 'repayment')`))
    // The transaction id (payment) or the permit id (repayment).
    .addColumn('ref', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull().check(sql`event in ('paid', 'remitted', 'completed')`))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'delivered', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('payment_notifications_pk', ['merchant_id', 'kind', 'ref', 'event'])
    .execute();
  await db.schema.createIndex('payment_notifications_due').on('payment_notifications').columns(['state', 'next_attempt_at']).execute();
}
