import { sql, type Kysely } from 'kysely';

// Webhooks (issue 6, webhooks.ts, webhook-delivery.ts): the shop's endpoints,
// an outbox of events written in the transaction that made each one happen,
// and one delivery per event and endpoint, retried until acknowledged.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('merchant_webhook_endpoints')
    .addColumn('endpoint_id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('disabled_at', 'text')
    .execute();
  await db.schema
    .createTable('merchant_webhook_events')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('order.paid', 'order.refunded', 'settlement.paid')`))
    // One event per fact: an emission repeated (a retried transaction, two
    // processes learning the same settlement) collides here and adds nothing.
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    // The exact bytes every endpoint is sent and every signature covers.
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('merchant_webhook_events_created').on('merchant_webhook_events').column('created_at').execute();
  await db.schema
    .createTable('merchant_webhook_deliveries')
    .addColumn('event_id', 'text', (c) => c.notNull().references('merchant_webhook_events.event_id'))
    .addColumn('endpoint_id', 'text', (c) => c.notNull().references('merchant_webhook_endpoints.endpoint_id'))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'delivered', 'failed')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('delivered_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addCheckConstraint('merchant_webhook_deliveries_delivered', sql`(state = 'delivered') = (delivered_at is not null)`)
    // An event reaches an endpoint through one row: the unit a sender leases.
    .addPrimaryKeyConstraint('merchant_webhook_deliveries_pk', ['event_id', 'endpoint_id'])
    .execute();
  // The sender looks for due pending rows; operators list by state.
  await db.schema.createIndex('merchant_webhook_deliveries_due').on('merchant_webhook_deliveries').columns(['state', 'next_attempt_at']).execute();
  await db.schema.createIndex('merchant_webhook_deliveries_endpoint').on('merchant_webhook_deliveries').columns(['endpoint_id', 'state']).execute();
}
