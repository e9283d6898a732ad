import { sql, type Kysely } from 'kysely';

// The purse (mode `account`, src/wallet/purse.ts): where the wallet's purse key
// is registered (one row per payment server URL, bound to the payment party
// that signed its key list then), and every load into it, stored before its
// bank transfer is sent so that `wallet load --resume` repeats the identical
// transfer (same id, same body) and waits for the credit again.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('wallet_purses')
    .addColumn('payment_url', 'text', (c) => c.primaryKey())
    .addColumn('payment_party_id', 'text', (c) => c.notNull())
    .addColumn('purse_key', 'text', (c) => c.notNull())
    .addColumn('party_id', 'text', (c) => c.notNull())
    .addColumn('registered_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('wallet_purse_loads')
    .addColumn('load_id', 'text', (c) => c.primaryKey())
    .addColumn('purse_key', 'text', (c) => c.notNull())
    .addColumn('payment_url', 'text', (c) => c.notNull().references('wallet_purses.payment_url'))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('target_credited', 'bigint', (c) => c.notNull().check(sql`target_credited >= amount and target_credited <= 9007199254740991`))
    .addColumn('bank_transfer_id', 'text', (c) => c.notNull().unique())
    .addColumn('bank_url', 'text', (c) => c.notNull())
    .addColumn('bank_account', 'text', (c) => c.notNull())
    .addColumn('payment_bank_account', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('created', 'transferred', 'credited', 'closed')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('wallet_purse_loads_state').on('wallet_purse_loads').columns(['state', 'created_at']).execute();
}
