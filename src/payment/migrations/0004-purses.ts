import type { Kysely } from 'kysely';

// Mode `account` (issue 4): a purse is a reserve bound to a certified shopper.
// Loads reach it like any reserve (the loader does not change: subject = the
// purse key, ledger account reserve:<key>); this table only records whose it
// is, so that it can pay invoices of that purchaser. One party per key: the
// primary key refuses a second owner.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('payment_purses')
    .addColumn('purse_key', 'text', (c) => c.primaryKey())
    .addColumn('party_id', 'text', (c) => c.notNull())
    // SHA-256 (hex) of the certificate that signed the registration, and the
    // registration itself (JWS JSON) with the purse key's signature: evidence.
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('registration_jws', 'text', (c) => c.notNull())
    .addColumn('purse_signature', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('payment_purses_party').on('payment_purses').column('party_id').execute();

  // The purse an account payment was debited from (null for e-money).
  await db.schema.alterTable('payment_payments').addColumn('purse_key', 'text').execute();
}
