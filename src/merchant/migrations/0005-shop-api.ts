import { sql, type Kysely } from 'kysely';

// The shop integration API (issue 6; api-keys.ts, offers.ts, idempotency.ts):
// the shop backend's API keys (SHA-256 only), the offers it creates (lines it
// priced itself, taken once by an order), and the stored answers of its
// Idempotency-Key requests.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('merchant_api_keys')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    // SHA-256 (hex) of the whole key: the key itself is shown once and never stored.
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema
    .createTable('merchant_offers')
    .addColumn('offer_id', 'text', (c) => c.primaryKey())
    .addColumn('api_key_id', 'text', (c) => c.notNull().references('merchant_api_keys.key_id'))
    // The Idempotency-Key it was created under: a request that takes over the
    // claim of a process that died (its answer never stored) finds the offer
    // that process made here instead of making a twin.
    .addColumn('idempotency_key', 'text')
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull().check(sql`total > 0`))
    // The lines as the shop priced them (JSON, canonical amounts): an order must repeat them exactly.
    .addColumn('lines_json', 'text', (c) => c.notNull())
    .addColumn('fulfilment_url', 'text')
    .addColumn('reference', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    // 'expired' is not stored: it is open (or lapsed) past expires_at, read with the clock.
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('open', 'taken')`))
    .addColumn('transaction_id', 'text', (c) => c.references('merchant_orders.transaction_id'))
    .addColumn('taken_at', 'text')
    .addCheckConstraint('merchant_offers_taken', sql`(state = 'taken') = (transaction_id is not null) and (transaction_id is null) = (taken_at is null)`)
    .execute();
  // Listing newest first with a (created_at, offer_id) cursor; finding an order's offer.
  await db.schema.createIndex('merchant_offers_created').on('merchant_offers').columns(['created_at', 'offer_id']).execute();
  await db.schema.createIndex('merchant_offers_transaction').on('merchant_offers').column('transaction_id').execute();
  await db.schema.createIndex('merchant_offers_idempotency').on('merchant_offers').columns(['api_key_id', 'idempotency_key']).execute();

  await db.schema
    .createTable('merchant_idempotency_keys')
    .addColumn('api_key_id', 'text', (c) => c.notNull().references('merchant_api_keys.key_id'))
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    // SHA-256 (hex) of method, path and the RFC 8785 form of the body.
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('in-flight', 'done')`))
    .addColumn('status', 'integer')
    .addColumn('response_json', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addCheckConstraint('merchant_idempotency_done', sql`(state = 'done') = (status is not null) and (status is null) = (response_json is null)`)
    // One answer per key and API key: two copies of a request collide here, one runs.
    .addPrimaryKeyConstraint('merchant_idempotency_keys_pk', ['api_key_id', 'idempotency_key'])
    .execute();
  await db.schema.createIndex('merchant_idempotency_keys_created').on('merchant_idempotency_keys').column('created_at').execute();
}
