import { sql, type Kysely } from 'kysely';

// Constraints guard the money flows that write here: a coin key appears once,
// a derivation index is used for one coin or reserve only (reusing one would
// make two coins share a key, and the second spend would be refused as a
// double spend), an unspent coin always has its signature, values are positive.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('wallet_meta')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('wallet_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('wallet_identity')
    .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('ca_url', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('public_key_spki', 'text', (c) => c.notNull())
    .addColumn('registration_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'approved', 'rejected')`))
    .addColumn('party_id', 'text')
    .addColumn('certificate_chain_pem', 'text')
    .addColumn('ca_root_pem', 'text')
    .addColumn('not_before', 'text')
    .addColumn('not_after', 'text')
    .addColumn('reject_reason', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addCheckConstraint('wallet_identity_approved_has_chain', sql`status <> 'approved' or (certificate_chain_pem is not null and party_id is not null)`)
    .execute();

  await db.schema
    .createTable('wallet_derivations')
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('coin', 'reserve')`))
    .addColumn('idx', 'integer', (c) => c.notNull().check(sql`idx >= 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('wallet_derivations_pk', ['purpose', 'idx'])
    .execute();

  await db.schema
    .createTable('wallet_reserves')
    .addColumn('reserve_pub', 'text', (c) => c.primaryKey())
    .addColumn('derivation_index', 'integer', (c) => c.notNull().unique().check(sql`derivation_index >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('payment_url', 'text')
    .addColumn('bank_transfer_id', 'text', (c) => c.unique())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('created', 'transferred', 'credited', 'withdrawn', 'closed')`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('wallet_coins')
    .addColumn('coin_pub', 'text', (c) => c.primaryKey())
    .addColumn('derivation_index', 'integer', (c) => c.notNull().unique().check(sql`derivation_index >= 0`))
    .addColumn('denomination_id', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('value', 'bigint', (c) => c.notNull().check(sql`value > 0 and value <= 9007199254740991`))
    .addColumn('signature', 'text')
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'unspent', 'spent')`))
    .addColumn('reserve_pub', 'text', (c) => c.references('wallet_reserves.reserve_pub'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addCheckConstraint('wallet_coins_unspent_signed', sql`state = 'pending' or signature is not null`)
    .execute();
  await db.schema.createIndex('wallet_coins_state').on('wallet_coins').columns(['state', 'currency']).execute();
}
