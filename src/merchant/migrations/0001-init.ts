import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('merchant_orders')
    .addColumn('transaction_id', 'text', (c) => c.primaryKey())
    .addColumn('purchaser_id', 'text', (c) => c.notNull())
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('order_hash', 'text', (c) => c.notNull())
    .addColumn('purchaser_kind', 'text', (c) => c.notNull().check(sql`purchaser_kind in ('certified', 'anonymous')`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull().check(sql`total > 0`))
    .addColumn('payment_mode', 'text', (c) => c.notNull())
    .addColumn('payment_state', 'text', (c) => c.notNull().check(sql`payment_state in ('UNPAID', 'PAID')`))
    .addColumn('order_jws', 'text', (c) => c.notNull())
    .addColumn('invoice_jws', 'text', (c) => c.notNull())
    .addColumn('invoice_hash', 'text', (c) => c.notNull().unique())
    .addColumn('payment_server_id', 'text', (c) => c.notNull())
    .addColumn('payment_server_chain', 'text', (c) => c.notNull())
    .addColumn('bill_time', 'text', (c) => c.notNull())
    .addColumn('payment_due_time', 'text', (c) => c.notNull())
    .addColumn('refund_deadline', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // One order per (purchaser, orderId): a repeat, or a concurrent twin,
    // collides here and is answered with the invoice already made.
    .addUniqueConstraint('merchant_orders_purchaser_order', ['purchaser_id', 'order_id'])
    .execute();
  await db.schema.createIndex('merchant_orders_created').on('merchant_orders').column('created_at').execute();
  await db.schema
    .createTable('merchant_order_lines')
    .addColumn('transaction_id', 'text', (c) => c.notNull().references('merchant_orders.transaction_id'))
    .addColumn('line_no', 'integer', (c) => c.notNull().check(sql`line_no >= 0`))
    .addColumn('article', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('unit_price', 'bigint', (c) => c.notNull().check(sql`unit_price > 0`))
    .addPrimaryKeyConstraint('merchant_order_lines_pk', ['transaction_id', 'line_no'])
    .execute();
}
