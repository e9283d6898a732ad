// What operators see of the orders and their refunds (admin endpoints,
// `quittance merchant orders|show|refunds`).
import type { Kysely, Selectable } from 'kysely';
import { formatAmount } from '../protocol/amount.ts';
import type { MerchantDatabase, MerchantOrderTable, MerchantRefundTable, RefundState } from './db.ts';

type Db = Kysely<MerchantDatabase>;

/**
 * An order's state as a whole: UNPAID and PAID as stored (payment_state),
 * then what its refunds made of it (DESIGN §3): DURING_REPAYMENT while a
 * request awaits approval or a permit is out, PARTIALLY_REFUNDED once the
 * payment server repaid part of it, REFUNDED when it repaid all of it.
 */
export type OrderState = 'UNPAID' | 'PAID' | 'DURING_REPAYMENT' | 'PARTIALLY_REFUNDED' | 'REFUNDED';

export function orderState(r: { payment_state: string; total: bigint; refund_held: bigint; refunded: bigint }): OrderState {
  if (r.payment_state !== 'PAID') return 'UNPAID';
  if (BigInt(r.refunded) >= BigInt(r.total)) return 'REFUNDED';
  if (BigInt(r.refunded) > 0n) return 'PARTIALLY_REFUNDED';
  if (BigInt(r.refund_held) > 0n) return 'DURING_REPAYMENT';
  return 'PAID';
}

export type OrderSummary = {
  transactionId: string;
  orderId: string;
  purchaserId: string;
  purchaserKind: 'certified' | 'anonymous';
  amount: string;
  paymentMode: string;
  /** UNPAID or PAID: whether the payment arrived. */
  paymentState: string;
  /** The payment state and what refunds made of it. */
  state: OrderState;
  /** What the payment server reports repaid to the purchaser. */
  refunded: string;
  paymentServerId: string;
  billTime: string;
  paymentDueTime: string;
  refundDeadline: string;
  /** When the receipt settled it (absent while UNPAID). */
  paidAt?: string;
};

export type RefundSummary = {
  requestId: string;
  transactionId: string;
  amount: string;
  /** The shopper's reason (1110). */
  reason: string;
  state: RefundState;
  permitId?: string;
  permissionTime?: string;
  dueTime?: string;
  /** The operator's reason, when refused. */
  refusalReason?: string;
  createdAt: string;
  decidedAt?: string;
  remittedAt?: string;
  completedAt?: string;
  expiredAt?: string;
};

export type RefundDetail = RefundSummary & {
  requestHash: string;
  /** The signed request (1110), permit (1140), the payment server's latest repayment state (1220) and the shopper's repayment receipt (1190), as exchanged. */
  request: unknown;
  permit?: unknown;
  repaymentState?: unknown;
  repaymentReceipt?: unknown;
};

export type OrderDetail = OrderSummary & {
  lines: { article: string; name: string; quantity: number; unitPrice: string }[];
  orderHash: string;
  invoiceHash: string;
  /** The signed order (130) and invoice (140), as exchanged. */
  order: unknown;
  invoice: unknown;
  /** The payment server's receipt (180) that settled it and the shop's completion (190), once PAID. */
  receipt?: unknown;
  completion?: unknown;
  /** Oldest first. */
  refunds: RefundDetail[];
};

export const MAX_LISTED = 1000;

function summary(r: Selectable<MerchantOrderTable>): OrderSummary {
  return {
    transactionId: r.transaction_id,
    orderId: r.order_id,
    purchaserId: r.purchaser_id,
    purchaserKind: r.purchaser_kind,
    amount: formatAmount({ currency: r.currency, minor: BigInt(r.total) }),
    paymentMode: r.payment_mode,
    paymentState: r.payment_state,
    state: orderState(r),
    refunded: formatAmount({ currency: r.currency, minor: BigInt(r.refunded) }),
    paymentServerId: r.payment_server_id,
    billTime: r.bill_time,
    paymentDueTime: r.payment_due_time,
    refundDeadline: r.refund_deadline,
    ...(r.paid_at !== null ? { paidAt: r.paid_at } : {}),
  };
}

function optional<K extends string>(key: K, v: string | null): { [P in K]?: string } {
  return (v !== null ? { [key]: v } : {}) as { [P in K]?: string };
}

export function refundSummary(r: Selectable<MerchantRefundTable>): RefundSummary {
  return {
    requestId: r.request_id,
    transactionId: r.transaction_id,
    amount: formatAmount({ currency: r.currency, minor: BigInt(r.amount) }),
    reason: r.reason,
    state: r.state,
    ...optional('permitId', r.permit_id),
    ...optional('permissionTime', r.permission_time),
    ...optional('dueTime', r.due_time),
    ...optional('refusalReason', r.refusal_reason),
    createdAt: r.created_at,
    ...optional('decidedAt', r.decided_at),
    ...optional('remittedAt', r.remitted_at),
    ...optional('completedAt', r.completed_at),
    ...optional('expiredAt', r.expired_at),
  };
}

export function refundDetail(r: Selectable<MerchantRefundTable>): RefundDetail {
  return {
    ...refundSummary(r),
    requestHash: r.request_hash,
    request: JSON.parse(r.request_jws) as unknown,
    ...(r.permit_jws !== null ? { permit: JSON.parse(r.permit_jws) as unknown } : {}),
    ...(r.state_jws !== null ? { repaymentState: JSON.parse(r.state_jws) as unknown } : {}),
    ...(r.receipt_jws !== null ? { repaymentReceipt: JSON.parse(r.receipt_jws) as unknown } : {}),
  };
}

/** Newest first. */
export async function listOrders(db: Db, opts: { limit?: number } = {}): Promise<OrderSummary[]> {
  const limit = Math.min(opts.limit ?? 100, MAX_LISTED);
  const rows = await db.selectFrom('merchant_orders').selectAll().orderBy('created_at', 'desc').orderBy('transaction_id').limit(limit).execute();
  return rows.map(summary);
}

export async function getOrder(db: Db, transactionId: string): Promise<OrderDetail | undefined> {
  const row = await db.selectFrom('merchant_orders').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst();
  if (!row) return undefined;
  const lines = await db.selectFrom('merchant_order_lines').selectAll().where('transaction_id', '=', transactionId).orderBy('line_no').execute();
  const refunds = await db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).orderBy('created_at').orderBy('request_id').execute();
  return {
    ...summary(row),
    lines: lines.map((l) => ({ article: l.article, name: l.name, quantity: l.quantity, unitPrice: formatAmount({ currency: l.currency, minor: l.unit_price }) })),
    orderHash: row.order_hash,
    invoiceHash: row.invoice_hash,
    order: JSON.parse(row.order_jws) as unknown,
    invoice: JSON.parse(row.invoice_jws) as unknown,
    ...(row.receipt_jws !== null ? { receipt: JSON.parse(row.receipt_jws) as unknown } : {}),
    ...(row.completion_jws !== null ? { completion: JSON.parse(row.completion_jws) as unknown } : {}),
    refunds: refunds.map(refundDetail),
  };
}

/** Refunds, newest first; optionally in one state or of one order, or with one request id (whatever its order). */
export async function listRefunds(db: Db, opts: { state?: RefundState; transactionId?: string; requestId?: string; limit?: number } = {}): Promise<RefundSummary[]> {
  const limit = Math.min(opts.limit ?? 100, MAX_LISTED);
  let q = db.selectFrom('merchant_refunds').selectAll();
  if (opts.state !== undefined) q = q.where('state', '=', opts.state);
  if (opts.transactionId !== undefined) q = q.where('transaction_id', '=', opts.transactionId);
  if (opts.requestId !== undefined) q = q.where('request_id', '=', opts.requestId);
  const rows = await q.orderBy('created_at', 'desc').orderBy('transaction_id').orderBy('request_id').limit(limit).execute();
  return rows.map(refundSummary);
}
