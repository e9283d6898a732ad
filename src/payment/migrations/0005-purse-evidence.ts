import type { Kysely } from 'kysely';

// Mode account, continued: the purse key's signature of each account payment
// is kept with the payment (the shopper's signed order to pay from the purse:
// evidence, and what `quittance audit` verifies), and purse balances are read
// by purse without scanning every payment.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('payment_payments').addColumn('purse_signature', 'text').execute();
  await db.schema.createIndex('payment_payments_purse').on('payment_payments').columns(['purse_key', 'state']).execute();
}
