import { sql, type Kysely } from 'kysely';

// Refunds (issue 5, messages 1110–1200): every refund the wallet asks for,
// with each document of it, stored before the next message is sent so that
// `wallet refund --resume` repeats the identical requests. Fresh coins of an
// e-money refund are pending wallet_coins rows whose request_id is
// `coins_request_id`, derived from the seed like a withdrawal's.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('wallet_refunds')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('purchase_id', 'text', (c) => c.notNull().references('wallet_purchases.purchase_id'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('request_jws', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('REQUESTED', 'AWAITING_APPROVAL', 'PERMITTED', 'CLAIMING', 'REMITTED', 'COMPLETED', 'REFUSED')`),
    )
    .addColumn('permit_id', 'text')
    .addColumn('permit_jws', 'text')
    .addColumn('claim', 'text')
    .addColumn('coins_request_id', 'text', (c) => c.unique())
    .addColumn('remitted_jws', 'text')
    .addColumn('receipt_jws', 'text')
    .addColumn('completed_jws', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addCheckConstraint('wallet_refunds_permitted_has_permit', sql`state in ('REQUESTED', 'AWAITING_APPROVAL', 'REFUSED') or permit_jws is not null`)
    .addCheckConstraint('wallet_refunds_claiming_has_claim', sql`state not in ('CLAIMING', 'REMITTED', 'COMPLETED') or claim is not null`)
    .execute();
  await db.schema.createIndex('wallet_refunds_purchase').on('wallet_refunds').column('purchase_id').execute();
}
