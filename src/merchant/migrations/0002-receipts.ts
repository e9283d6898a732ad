import { sql, type Kysely } from 'kysely';

// Messages 210 → 190: the receipt that settled an order and the completion
// answered for it, and the units of limited articles sold (paid).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('merchant_orders').addColumn('receipt_jws', 'text').execute();
  await db.schema.alterTable('merchant_orders').addColumn('receipt_hash', 'text').execute();
  await db.schema.alterTable('merchant_orders').addColumn('completion_jws', 'text').execute();
  await db.schema.alterTable('merchant_orders').addColumn('paid_at', 'text').execute();
  // The sweep looks for recent unpaid orders.
  await db.schema.createIndex('merchant_orders_unpaid_due').on('merchant_orders').columns(['payment_state', 'payment_due_time']).execute();
  await db.schema
    .createTable('merchant_stock_sold')
    .addColumn('article', 'text', (c) => c.primaryKey())
    .addColumn('sold', 'bigint', (c) => c.notNull().check(sql`sold >= 0`))
    .execute();
}
