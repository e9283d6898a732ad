// Notifying merchants (DESIGN §3, issue 5: the merchant "asks for the
// repayment state … and is also notified"). When a transaction of a shop is
// paid (180) or one of its permits repaid (1180) or acknowledged by the
// shopper (1200), the payment server posts the state to the merchant server
// named in the contract (`payment add-merchant --notify URL`):
//
//   POST {notify}/v1/notifications/payment-state    PaymentStateAnswer (with the signed receipt)
//   POST {notify}/v1/notifications/repayment-state  { state: signed RepaymentState }
//
// Nothing in a notification is believed unsigned: the merchant checks the
// receipt or the repayment state exactly as when it asks (1210, GET
// /v1/payments/…), so a forged notification changes nothing there.
//
// An outbox: `enqueueNotification` inserts the row in the transaction that
// changes the state; `deliverDueNotifications` sends what is due, the state
// as it is at sending time. A 2xx answer delivers it; a 4xx other than
// 408/429 is a refusal for good (the merchant will not accept it later
// either); anything else is retried with a doubling delay for
// NOTIFY_GIVE_UP_HOURS. Duplicates are possible (a lost 2xx, two processes
// after a lease ran out) and harmless: the merchant records a state once.
import type { Kysely } from 'kysely';
import type { NotificationEvent, NotificationKind, PaymentDatabase } from './db.ts';

type Db = Kysely<PaymentDatabase>;

export type Notification = { merchantId: string; kind: NotificationKind; ref: string; event: NotificationEvent };

/**
 * Inside the transaction that changes the state: one row to deliver, if the
 * merchant's contract names where. The same notification twice is one row.
 */
export async function enqueueNotification(trx: Db, n: Notification, now: Date): Promise<void> {
  const merchant = await trx.selectFrom('payment_merchants').select('notify_url').where('merchant_id', '=', n.merchantId).executeTakeFirst();
  if (!merchant?.notify_url) return;
  const at = now.toISOString();
  await trx
    .insertInto('payment_notifications')
    .values({ merchant_id: n.merchantId, kind: n.kind, ref: n.ref, event: n.event, state: 'pending', attempts: 0, next_attempt_at: at, last_error: null, created_at: at, updated_at: at })
    .onConflict((oc) => oc.columns(['merchant_id', 'kind', 'ref', 'event']).doNothing())
    .execute();
}
