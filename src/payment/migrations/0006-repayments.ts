import { sql, type Kysely } from 'kysely';

// Refunds (DESIGN §3, issue 5, messages 1150 → 1220). Two guards the
// database keeps whatever the code does:
// - a permit pays at most once: (shop_id, permit_id) is the repayment's
//   primary key, inserted first in the transaction that pays it;
// - the refunds of a payment never exceed it: payment_payments.refunded is
//   raised by one conditional UPDATE in that same transaction
//   ("… where refunded + amount <= amount"), so two permits racing for the
//   last of a payment cannot both pass, and the CHECK below refuses any
//   write that would break the cap.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('payment_payments')
    .addColumn('refunded', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`refunded >= 0 and refunded <= amount`))
    .execute();

  await db.schema
    .createTable('payment_repayments')
    .addColumn('shop_id', 'text', (c) => c.notNull().references('payment_merchants.merchant_id'))
    .addColumn('permit_id', 'text', (c) => c.notNull())
    .addColumn('payment_id', 'text', (c) => c.notNull().references('payment_payments.payment_id'))
    .addColumn('transaction_id', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text', (c) => c.notNull())
    // The key that countersigned the permit and signed the remittance request:
    // the repayment receipt (1190) must be signed by it too.
    .addColumn('signer_kind', 'text', (c) => c.notNull().check(sql`signer_kind in ('certified', 'anonymous')`))
    .addColumn('signer_key', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0 and amount <= 9007199254740991`))
    .addColumn('mode', 'text', (c) => c.notNull().check(sql`mode in ('ecash', 'account')`))
    .addColumn('purse_key', 'text')
    // Document hashes: of the merchant-signed permit (one repayment per
    // permit document too), and of the remittance request (a replay repeats it).
    .addColumn('permit_hash', 'text', (c) => c.notNull().unique())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    // Evidence, JWS JSON: the countersigned permit and the remittance request
    // as verified; the signed states answered; the shopper's receipt.
    .addColumn('permit_jws', 'text', (c) => c.notNull())
    .addColumn('request_jws', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('remitted', 'completed')`))
    .addColumn('state_jws', 'text', (c) => c.notNull())
    .addColumn('receipt_jws', 'text')
    .addColumn('completed_state_jws', 'text')
    .addColumn('completed_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('payment_repayments_pk', ['shop_id', 'permit_id'])
    .addCheckConstraint('payment_repayments_purse', sql`(mode = 'account') = (purse_key is not null)`)
    .addCheckConstraint(
      'payment_repayments_completed',
      sql`(state = 'completed') = (receipt_jws is not null and completed_state_jws is not null and completed_at is not null)`,
    )
    .execute();
  await db.schema.createIndex('payment_repayments_payment').on('payment_repayments').column('payment_id').execute();
  // The receipt (1190) is posted to /v1/repayments/:permitId, without the shop.
  await db.schema.createIndex('payment_repayments_permit').on('payment_repayments').column('permit_id').execute();
}
