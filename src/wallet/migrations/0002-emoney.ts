import { sql, type Kysely } from 'kysely';

// E-money in the wallet: the denomination keys it has verified (from the
// payment server's signed list: coins are checked against them, and a coin
// names its payment server through them), and which withdrawal request a
// pending coin belongs to, so an interrupted withdrawal is repeated with the
// same envelopes (same request id, same coin indices).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('wallet_denominations')
    .addColumn('denomination_id', 'text', (c) => c.primaryKey())
    .addColumn('payment_url', 'text', (c) => c.notNull())
    .addColumn('payment_party_id', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('value', 'bigint', (c) => c.notNull().check(sql`value > 0`))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('valid_from', 'text', (c) => c.notNull())
    .addColumn('withdraw_until', 'text', (c) => c.notNull())
    .addColumn('deposit_until', 'text', (c) => c.notNull())
    .addColumn('seen_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('wallet_coins').addColumn('request_id', 'text').execute();
  await db.schema.createIndex('wallet_coins_request').on('wallet_coins').column('request_id').execute();
  // Which bank account paid a reserve: shown by `wallet reserves`, and needed to resume the load.
  await db.schema.alterTable('wallet_reserves').addColumn('bank_url', 'text').execute();
  await db.schema.alterTable('wallet_reserves').addColumn('bank_account', 'text').execute();
}
