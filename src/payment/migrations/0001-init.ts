import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('payment_denomination_keys')
    .addColumn('denomination_id', 'text', (c) => c.primaryKey())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('value', 'bigint', (c) => c.notNull().check(sql`value > 0`))
    .addColumn('generation', 'integer', (c) => c.notNull().check(sql`generation > 0`))
    .addColumn('public_key', 'text', (c) => c.notNull().unique())
    .addColumn('private_key_wrapped', 'text', (c) => c.notNull())
    .addColumn('valid_from', 'text', (c) => c.notNull())
    .addColumn('withdraw_until', 'text', (c) => c.notNull())
    .addColumn('deposit_until', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    // Rotation is "insert generation N+1": two processes that both saw N race
    // on this key and exactly one new key per denomination is kept.
    .addUniqueConstraint('payment_denomination_keys_generation', ['currency', 'value', 'generation'])
    .addCheckConstraint('payment_denomination_keys_windows', sql`valid_from < withdraw_until and withdraw_until <= deposit_until`)
    .execute();
  await db.schema.createIndex('payment_denomination_keys_deposit').on('payment_denomination_keys').column('deposit_until').execute();
}
