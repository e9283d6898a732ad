import { sql, type Kysely } from 'kysely';

// Refunds (issue 5, messages 1110 → 1140 and 1210/1220): what refunds hold of
// each payment, and one row per repayment request with its permit and what
// the payment server reported.
export async function up(db: Kysely<unknown>): Promise<void> {
  // refund_held may pass total only if a payment server reports a permit the
  // shop had recorded as expired (refunded still may not): the cap on new
  // holds is the conditional update in repayments.ts, not a CHECK.
  await db.schema
    .alterTable('merchant_orders')
    .addColumn('refund_held', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`refund_held >= 0`))
    .execute();
  await db.schema
    .alterTable('merchant_orders')
    .addColumn('refunded', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`refunded >= 0 and refunded <= total and refunded <= refund_held`))
    .execute();
  await db.schema
    .createTable('merchant_refunds')
    .addColumn('transaction_id', 'text', (c) => c.notNull().references('merchant_orders.transaction_id'))
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('request_jws', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('awaiting-approval', 'permitted', 'refused', 'remitted', 'completed', 'expired')`),
    )
    // One permit per row, and a permit id is the payment server's once-only key.
    .addColumn('permit_id', 'text', (c) => c.unique())
    .addColumn('permit_jws', 'text')
    .addColumn('permit_hash', 'text')
    .addColumn('permission_time', 'text')
    .addColumn('due_time', 'text')
    .addColumn('refusal_reason', 'text')
    .addColumn('state_jws', 'text')
    .addColumn('receipt_jws', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('decided_at', 'text')
    .addColumn('remitted_at', 'text')
    .addColumn('completed_at', 'text')
    .addColumn('expired_at', 'text')
    // A permit exists exactly in the states that follow one.
    .addCheckConstraint(
      'merchant_refunds_permit',
      sql`(state in ('awaiting-approval', 'refused')) = (permit_id is null) and (permit_id is null) = (permit_jws is null) and (permit_id is null) = (due_time is null)`,
    )
    .addCheckConstraint('merchant_refunds_refusal', sql`(state = 'refused') = (refusal_reason is not null)`)
    // Idempotency of 1110: (order, requestId); a repeat or a concurrent twin collides here.
    .addPrimaryKeyConstraint('merchant_refunds_pk', ['transaction_id', 'request_id'])
    .execute();
  // The sweep asks about permits not yet completed; operators list by state.
  await db.schema.createIndex('merchant_refunds_state_due').on('merchant_refunds').columns(['state', 'due_time']).execute();
  await db.schema.createIndex('merchant_refunds_request').on('merchant_refunds').column('request_id').execute();
}
