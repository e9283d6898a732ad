// Webhook events (issue 6; README "Webhooks"): the shop's own backend hears of
// order.paid, order.refunded and settlement.paid without polling.
//
// An outbox: `enqueueEvent` runs INSIDE the caller's transaction — the one
// that marks the order PAID, records the refund, stores the settlement
// report — and inserts the event with one pending delivery per endpoint
// active at that moment. So an event exists if and only if its state change
// committed: a rolled-back change leaves no event, and a crash after the
// commit loses none (webhook-delivery.ts sends what is pending). Each event
// reports one fact (`dedupe_key`): emitting the same fact again adds nothing.
//
// The body is serialised once, here, and stored; every attempt sends those
// exact bytes and signs them (webhook-signature.ts), never a re-serialisation.
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { formatAmount } from '../protocol/amount.ts';
import { WEBHOOK_EVENT_TYPES, type MerchantDatabase, type MerchantRefundTable, type WebhookEventType } from './db.ts';

export { SIGNATURE_HEADER, signWebhook, verifyWebhookSignature, type WebhookVerification } from './webhook-signature.ts';

type Db = Kysely<MerchantDatabase>;

/** `evt_` + 128 random bits: unguessable, and what a receiver deduplicates on. */
export function newEventId(): string {
  return `evt_${randomBytes(16).toString('hex')}`;
}

/** What every endpoint receives, byte for byte as stored. */
export type WebhookPayload<D = unknown> = { id: string; type: WebhookEventType; created: string; data: D };

/** order.paid: the order's receipt (210, or the payment server's copy) was checked and the order is PAID. */
export type OrderPaidData = {
  transactionId: string;
  /** The invoice amount, e.g. "JPY:4000". */
  amount: string;
  paymentMode: string;
  paidAt: string;
  /** The shop's own names for the order (shop API), when it has them: see orderReferences. */
  offerId?: string;
  reference?: string;
};

/** order.refunded: the payment server's signed state says a refund permit was paid out (remitted) or also acknowledged by the shopper (completed). */
export type OrderRefundedData = {
  transactionId: string;
  requestId: string;
  permitId: string;
  /** This refund. */
  amount: string;
  /** All refunds of the order paid so far, this one included. */
  refunded: string;
  state: 'remitted' | 'completed';
};

/** settlement.paid: a signed settlement report of the payment server, first learnt by the shop (settlement-watch.ts). */
export type SettlementPaidData = {
  settlementId: string;
  amount: string;
  currency: string;
  /** Items of the settlement: payments (+) and refunds (−). */
  transactions: number;
  payments: number;
  refunds: number;
  /** The bank transfer that carries the money; the payment server uses the settlement id as its id. */
  bankTransferId: string;
  payoutAccount: string;
  /** The report's own time. */
  time: string;
};

export type EnqueueOptions = {
  /** The fact the event reports; default: the event id (no deduplication). */
  dedupeKey?: string;
  /**
   * When the fact happened, if before `now` (a settlement report stored by
   * the CLI and announced by the server later): the event's `created`, and
   * the cut-off for endpoints. Deliveries are due, and retried, from `now`.
   */
  occurredAt?: Date;
  /** For tests that need a known id. */
  eventId?: string;
};

export type Enqueued = { eventId: string; created: boolean; deliveries: number };

/**
 * Inside the caller's transaction: the event and one pending delivery per
 * endpoint not removed and added by `now` (an endpoint added later does not
 * get older events). `created: false` when an event with this dedupe key
 * exists already (nothing was written).
 */
export async function enqueueEvent(trx: Db, type: WebhookEventType, data: object, now: Date, opts: EnqueueOptions = {}): Promise<Enqueued> {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('now: expected a valid Date');
  if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) throw new TypeError(`type: expected one of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  const eventId = opts.eventId ?? newEventId();
  const at = now.toISOString();
  const occurred = (opts.occurredAt ?? now).toISOString();
  const payload: WebhookPayload = { id: eventId, type, created: occurred, data };
  const inserted = await trx
    .insertInto('merchant_webhook_events')
    .values({ event_id: eventId, type, dedupe_key: opts.dedupeKey ?? eventId, payload: JSON.stringify(payload), created_at: occurred })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) return { eventId, created: false, deliveries: 0 };
  const endpoints = await trx
    .selectFrom('merchant_webhook_endpoints')
    .select('endpoint_id')
    .where('disabled_at', 'is', null)
    .where('created_at', '<=', occurred)
    .execute();
  if (endpoints.length > 0) {
    await trx
      .insertInto('merchant_webhook_deliveries')
      .values(endpoints.map((e) => ({ event_id: eventId, endpoint_id: e.endpoint_id, state: 'pending' as const, attempts: 0, next_attempt_at: at, created_at: at })))
      .execute();
  }
  return { eventId, created: true, deliveries: endpoints.length };
}

/**
 * What the shop's backend named this order (shop API, migration 0005): the
 * offer it was created from and the backend's own reference, so order.paid
 * carries them. Orders a wallet made from the catalogue have neither. The
 * place to add more of the shop's own names for an order.
 */
export async function orderReferences(trx: Db, transactionId: string): Promise<{ offerId?: string; reference?: string }> {
  const offer = await trx.selectFrom('merchant_offers').select(['offer_id', 'reference']).where('transaction_id', '=', transactionId).executeTakeFirst();
  if (!offer) return {};
  return { offerId: offer.offer_id, ...(offer.reference !== null ? { reference: offer.reference } : {}) };
}

/** order.paid, in the transaction that moved the order UNPAID → PAID (receipts.ts). */
export async function enqueueOrderPaid(trx: Db, transactionId: string, now: Date): Promise<Enqueued> {
  const order = await trx
    .selectFrom('merchant_orders')
    .select(['currency', 'total', 'payment_mode', 'paid_at'])
    .where('transaction_id', '=', transactionId)
    .executeTakeFirst();
  if (!order || order.paid_at === null) throw new Error(`order.paid for ${transactionId}, which is not paid`);
  const data: OrderPaidData = {
    transactionId,
    amount: formatAmount({ currency: order.currency, minor: BigInt(order.total) }),
    paymentMode: order.payment_mode,
    paidAt: order.paid_at,
    ...(await orderReferences(trx, transactionId)),
  };
  return enqueueEvent(trx, 'order.paid', data, now, { dedupeKey: `order.paid:${transactionId}` });
}

type RefundRef = Pick<Selectable<MerchantRefundTable>, 'transaction_id' | 'request_id' | 'permit_id' | 'currency' | 'amount'>;

/**
 * order.refunded, in the transaction that records the payment server's
 * signed state of a permit (repayment-state.ts record(), after the order's
 * `refunded` was raised). One event per permit: the first state that counts
 * the money (remitted, or completed at once); a later remitted → completed
 * is the same refund and adds nothing.
 */
export async function enqueueOrderRefunded(trx: Db, refund: RefundRef, state: 'remitted' | 'completed', now: Date): Promise<Enqueued> {
  if (refund.permit_id === null) throw new Error(`order.refunded for ${refund.transaction_id}/${refund.request_id}, which has no permit`);
  const order = await trx.selectFrom('merchant_orders').select(['currency', 'refunded']).where('transaction_id', '=', refund.transaction_id).executeTakeFirstOrThrow();
  const data: OrderRefundedData = {
    transactionId: refund.transaction_id,
    requestId: refund.request_id,
    permitId: refund.permit_id,
    amount: formatAmount({ currency: refund.currency, minor: BigInt(refund.amount) }),
    refunded: formatAmount({ currency: order.currency, minor: BigInt(order.refunded) }),
    state,
  };
  return enqueueEvent(trx, 'order.refunded', data, now, { dedupeKey: `order.refunded:${refund.permit_id}` });
}

/** settlement.paid for one stored settlement report, learnt at `learntAt` (settlement-watch.ts). */
export async function enqueueSettlementPaid(trx: Db, data: SettlementPaidData, learntAt: Date, now: Date): Promise<Enqueued> {
  return enqueueEvent(trx, 'settlement.paid', data, now, { dedupeKey: settlementDedupeKey(data.settlementId), occurredAt: learntAt < now ? learntAt : now });
}

export function settlementDedupeKey(settlementId: string): string {
  return `settlement.paid:${settlementId}`;
}
