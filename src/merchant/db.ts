// The merchant server's tables, prefixed `merchant_` so it can share a
// database with other services. Times are RFC 3339 UTC strings; money is
// bigint minor units.
import type { Generated } from 'kysely';

export type PaymentState = 'UNPAID' | 'PAID';

/** Fig. 11: one row per order accepted, with the invoice made for it. */
export interface MerchantOrderTable {
  /** The shop's transaction id (invoice transactionId). */
  transaction_id: string;
  /** Party id or per-order key thumbprint: who signed the order. */
  purchaser_id: string;
  /** The wallet's orderId; unique per purchaser, so a repeat finds its invoice. */
  order_id: string;
  /** Document hash of the order (invoice orderHash): the same order id with another hash is refused. */
  order_hash: string;
  purchaser_kind: 'certified' | 'anonymous';
  currency: string;
  total: bigint;
  payment_mode: string;
  payment_state: PaymentState;
  /** The signed order (130) and invoice (140) as received and sent, JSON. */
  order_jws: string;
  invoice_jws: string;
  invoice_hash: string;
  payment_server_id: string;
  /** JSON array of PEM, leaf first: sent again with the invoice when the order is repeated. */
  payment_server_chain: string;
  bill_time: string;
  payment_due_time: string;
  refund_deadline: string;
  created_at: string;
  /** The payment server's signed receipt (180) that settled the order, JSON; null while UNPAID. */
  receipt_jws: string | null;
  receipt_hash: string | null;
  /** The merchant's signed completion (190), answered again to every repeat of the receipt. */
  completion_jws: string | null;
  paid_at: string | null;
  /**
   * Refunds (migration 0003), bigint minor units. refund_held: what refunds
   * hold of the payment — requests awaiting approval, permits neither
   * expired nor refused, and refunds paid; a new request is taken only by
   * a conditional update keeping it <= total. refunded: the part the payment
   * server reports paid (remitted or completed); <= total (CHECK).
   */
  refund_held: Generated<bigint>;
  refunded: Generated<bigint>;
}

/** Fig. 12: the lines of an order, as signed. */
export interface MerchantOrderLineTable {
  transaction_id: string;
  line_no: number;
  article: string;
  name: string;
  quantity: number;
  currency: string;
  unit_price: bigint;
}

/**
 * Units of each limited article in paid orders. What is left to sell is the
 * catalogue's `stock` minus this: counted on payment, not on order, so an
 * unpaid order holds nothing back.
 */
export interface MerchantStockSoldTable {
  article: string;
  sold: bigint;
}

/**
 * A refund's life (DESIGN §3): awaiting-approval (the shop's operator must
 * approve) → permitted (the signed permit, 1140) → remitted (the payment
 * server paid it, 1220) → completed (and holds the shopper's repayment
 * receipt, 1190). refused: the operator said no. expired: the permit was not
 * collected by its dueTime (the payment server confirms it never saw it).
 */
export const REFUND_STATES = ['awaiting-approval', 'permitted', 'refused', 'remitted', 'completed', 'expired'] as const;
export type RefundState = (typeof REFUND_STATES)[number];

/** Figs. 17–19: one row per repayment request (1110) with the permit (1140) and what the payment server reported (1220). */
export interface MerchantRefundTable {
  transaction_id: string;
  /** The wallet's requestId; unique per order, so a repeat finds its answer. */
  request_id: string;
  /** Document hash of the request: the same request id with another hash is refused. */
  request_hash: string;
  /** The signed request (1110) as received, JSON. */
  request_jws: string;
  currency: string;
  amount: bigint;
  reason: string;
  state: RefundState;
  /** Null while awaiting approval, or when refused. */
  permit_id: string | null;
  permit_jws: string | null;
  permit_hash: string | null;
  permission_time: string | null;
  due_time: string | null;
  /** The operator's reason for a refusal. */
  refusal_reason: string | null;
  /** The payment server's latest signed repayment state (1220) and, once completed, the shopper's repayment receipt (1190), JSON. */
  state_jws: string | null;
  receipt_jws: string | null;
  created_at: string;
  decided_at: string | null;
  remitted_at: string | null;
  completed_at: string | null;
  expired_at: string | null;
}

/** Webhooks (migration 0006): where the shop's own backend wants to hear of events. */
export interface MerchantWebhookEndpointTable {
  /** `we_` + 96 random bits. */
  endpoint_id: string;
  /** http(s), canonical form. */
  url: string;
  /** The HMAC-SHA256 key (`whsec_…`), shown once when added and never listed: deliveries need it in the clear. */
  secret: string;
  description: string | null;
  created_at: string;
  /** Removed endpoints stay (their deliveries name them) but get no new events and no more attempts. */
  disabled_at: string | null;
}

export const WEBHOOK_EVENT_TYPES = ['order.paid', 'order.refunded', 'settlement.paid'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The outbox: one row per event, inserted in the transaction that made it happen. */
export interface MerchantWebhookEventTable {
  /** `evt_` + 128 random bits. */
  event_id: string;
  type: WebhookEventType;
  /** The fact it reports (`order.paid:<tx>`, unique): the same fact emitted twice is one event. */
  dedupe_key: string;
  /** The exact body POSTed to every endpoint: `{id, type, created, data}`, JSON. */
  payload: string;
  created_at: string;
}

export const WEBHOOK_DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryState = (typeof WEBHOOK_DELIVERY_STATES)[number];

/** One event to one endpoint: retried while pending, until a 2xx (delivered) or 3 days (failed). */
export interface MerchantWebhookDeliveryTable {
  event_id: string;
  endpoint_id: string;
  state: WebhookDeliveryState;
  attempts: number;
  /** When it is due; while an attempt is in flight, the end of its lease. */
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  /** Queued (or queued again by `redeliver`): the retry window runs from here. */
  created_at: string;
}

/** Shop integration API (migration 0005): a key of the shop's backend; only its SHA-256 is stored. */
export interface MerchantApiKeyTable {
  /** The public part of `qk_<id>_<secret>`, 64 random bits in hex. */
  key_id: string;
  name: string | null;
  key_hash: string;
  created_at: string;
  revoked_at: string | null;
}

/** An offer the shop's backend created (POST /v1/shop/orders), taken once by an order (130 with offerId). */
export interface MerchantOfferTable {
  offer_id: string;
  api_key_id: string;
  idempotency_key: string | null;
  currency: string;
  total: bigint;
  /** JSON array of Line, unit prices in canonical form. */
  lines_json: string;
  fulfilment_url: string | null;
  reference: string | null;
  created_at: string;
  expires_at: string;
  /** open, or taken by transaction_id (which may lapse unpaid: then it can be taken again). */
  state: 'open' | 'taken';
  transaction_id: string | null;
  taken_at: string | null;
}

/** The stored answer of a POST under /v1/shop with an Idempotency-Key, kept 24 hours. */
export interface MerchantIdempotencyKeyTable {
  api_key_id: string;
  idempotency_key: string;
  request_hash: string;
  state: 'in-flight' | 'done';
  status: number | null;
  response_json: string | null;
  created_at: string;
}

export interface MerchantDatabase {
  merchant_orders: MerchantOrderTable;
  merchant_order_lines: MerchantOrderLineTable;
  merchant_stock_sold: MerchantStockSoldTable;
  merchant_refunds: MerchantRefundTable;
  merchant_api_keys: MerchantApiKeyTable;
  merchant_offers: MerchantOfferTable;
  merchant_idempotency_keys: MerchantIdempotencyKeyTable;
  merchant_webhook_endpoints: MerchantWebhookEndpointTable;
  merchant_webhook_events: MerchantWebhookEventTable;
  merchant_webhook_deliveries: MerchantWebhookDeliveryTable;
}
