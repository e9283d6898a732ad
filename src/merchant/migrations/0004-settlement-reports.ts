import type { Kysely } from 'kysely';

// Settlement reports fetched from the payment server (settlement-reports.ts):
// one row per settlement id, the signed report kept as received.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('merchant_settlement_reports')
    .addColumn('settlement_id', 'text', (c) => c.primaryKey())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'text', (c) => c.notNull())
    .addColumn('item_count', 'integer', (c) => c.notNull())
    .addColumn('report_time', 'text', (c) => c.notNull())
    .addColumn('report_jws', 'text', (c) => c.notNull())
    .addColumn('fetched_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('merchant_settlement_reports_time').on('merchant_settlement_reports').column('report_time').execute();
}
