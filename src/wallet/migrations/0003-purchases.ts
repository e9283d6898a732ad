import { sql, type Kysely } from 'kysely';

// Purchases (issue 4): every document of a purchase, stored before the first
// payment message; which purchase a coin went to (a coin is given to one
// payment only: it is marked spent with its purchase in one conditional
// update); and the indices of anonymous per-order keys, allocated before the
// order is signed so that two orders never share a key (the merchant could
// otherwise link them).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('wallet_purchases')
    .addColumn('purchase_id', 'text', (c) => c.primaryKey())
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('merchant_url', 'text', (c) => c.notNull())
    .addColumn('merchant_id', 'text', (c) => c.notNull())
    .addColumn('merchant_name', 'text', (c) => c.notNull())
    .addColumn('merchant_fingerprint', 'text', (c) => c.notNull())
    .addColumn('payment_url', 'text', (c) => c.notNull())
    .addColumn('payment_party_id', 'text', (c) => c.notNull())
    .addColumn('payment_chain', 'text', (c) => c.notNull())
    .addColumn('purchaser_id', 'text', (c) => c.notNull())
    .addColumn('purchaser_kind', 'text', (c) => c.notNull().check(sql`purchaser_kind in ('certified', 'anonymous')`))
    .addColumn('order_key_index', 'integer', (c) => c.unique())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('payment_mode', 'text', (c) => c.notNull())
    .addColumn('hello_jws', 'text', (c) => c.notNull())
    .addColumn('order_jws', 'text', (c) => c.notNull())
    .addColumn('invoice_jws', 'text', (c) => c.notNull())
    .addColumn('invoice_hash', 'text', (c) => c.notNull().unique())
    .addColumn('countersigned_invoice_jws', 'text')
    .addColumn('reception_request_jws', 'text')
    .addColumn('reception_response_jws', 'text')
    .addColumn('payment_request', 'text')
    .addColumn('change_request_id', 'text', (c) => c.unique())
    .addColumn('receipt_jws', 'text')
    .addColumn('completion_jws', 'text')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('INVOICED', 'ACCEPTED', 'PAYING', 'PAID', 'COMPLETED')`))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addCheckConstraint('wallet_purchases_paying_has_request', sql`state not in ('PAYING', 'PAID', 'COMPLETED') or payment_request is not null`)
    .addCheckConstraint('wallet_purchases_paid_has_receipt', sql`state not in ('PAID', 'COMPLETED') or receipt_jws is not null`)
    .execute();
  await db.schema.createIndex('wallet_purchases_state').on('wallet_purchases').columns(['state', 'created_at']).execute();

  await db.schema
    .createTable('wallet_order_keys')
    .addColumn('idx', 'integer', (c) => c.primaryKey().check(sql`idx >= 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('wallet_coins').addColumn('spent_in', 'text', (c) => c.references('wallet_purchases.purchase_id')).execute();
  await db.schema.createIndex('wallet_coins_spent_in').on('wallet_coins').column('spent_in').execute();
}
