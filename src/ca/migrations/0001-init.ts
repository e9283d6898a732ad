import { sql, type Kysely } from 'kysely';

// Times are RFC 3339 UTC strings (sortable, identical on SQLite and PostgreSQL).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ca_registrations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull().check(sqlIn('status', ['pending', 'approved', 'rejected'])))
    .addColumn('real_name', 'text', (c) => c.notNull())
    .addColumn('postal_address', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('requested_role', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('csr_pem', 'text', (c) => c.notNull())
    .addColumn('spki_sha256', 'text', (c) => c.notNull())
    .addColumn('party_id', 'text', (c) => c.unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'text')
    .addColumn('decided_by', 'text')
    .addColumn('identity_check', 'text')
    .addColumn('reject_reason', 'text')
    .addColumn('certificate_serial', 'text')
    .execute();
  await db.schema.createIndex('ca_registrations_status').on('ca_registrations').columns(['status', 'created_at']).execute();
  // One key, one live registration: a partial unique index closes the race
  // between two applicants submitting the same CSR at once.
  await db.schema
    .createIndex('ca_registrations_spki')
    .on('ca_registrations')
    .column('spki_sha256')
    .unique()
    .where(sql.ref('status'), '!=', 'rejected')
    .execute();

  await db.schema
    .createTable('ca_certificates')
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('registration_id', 'text', (c) => c.references('ca_registrations.id'))
    .addColumn('party_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('spki_sha256', 'text', (c) => c.notNull())
    .addColumn('pem', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
    .addColumn('not_before', 'text', (c) => c.notNull())
    .addColumn('not_after', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .addColumn('revocation_reason', 'text')
    .execute();
  await db.schema.createIndex('ca_certificates_party').on('ca_certificates').column('party_id').execute();

  await db.schema
    .createTable('ca_crls')
    // CRL numbers must increase (RFC 5280 §5.2.3); the primary key makes two
    // processes that race to publish the same number collide instead of both winning.
    .addColumn('number', 'integer', (c) => c.primaryKey())
    .addColumn('this_update', 'text', (c) => c.notNull())
    .addColumn('next_update', 'text', (c) => c.notNull())
    .addColumn('der_base64', 'text', (c) => c.notNull())
    // How many revoked certificates this CRL lists. Revocation is final, so a
    // higher count in ca_certificates means the CRL is out of date.
    .addColumn('revoked_count', 'integer', (c) => c.notNull())
    .execute();
}

// CHECK constraints keep a bad status out even if a future code path forgets.
function sqlIn(column: string, values: readonly string[]) {
  return sql.raw(`${column} in (${values.map((v) => `'${v}'`).join(', ')})`);
}
