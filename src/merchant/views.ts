// What operators see of the orders (admin endpoints, `quittance merchant orders|show`).
import type { Kysely } from 'kysely';
import { formatAmount } from '../protocol/amount.ts';
import type { MerchantDatabase, MerchantOrderTable } from './db.ts';

type Db = Kysely<MerchantDatabase>;

export type OrderSummary = {
  transactionId: string;
  orderId: string;
  purchaserId: string;
  purchaserKind: 'certified' | 'anonymous';
  amount: string;
  paymentMode: string;
  paymentState: string;
  paymentServerId: string;
  billTime: string;
  paymentDueTime: string;
  refundDeadline: string;
  /** When the receipt settled it (absent while UNPAID). */
  paidAt?: string;
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
};

export const MAX_LISTED = 1000;

function summary(r: Pick<MerchantOrderTable, keyof MerchantOrderTable>): OrderSummary {
  return {
    transactionId: r.transaction_id,
    orderId: r.order_id,
    purchaserId: r.purchaser_id,
    purchaserKind: r.purchaser_kind,
    amount: formatAmount({ currency: r.currency, minor: r.total }),
    paymentMode: r.payment_mode,
    paymentState: r.payment_state,
    paymentServerId: r.payment_server_id,
    billTime: r.bill_time,
    paymentDueTime: r.payment_due_time,
    refundDeadline: r.refund_deadline,
    ...(r.paid_at !== null ? { paidAt: r.paid_at } : {}),
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
  return {
    ...summary(row),
    lines: lines.map((l) => ({ article: l.article, name: l.name, quantity: l.quantity, unitPrice: formatAmount({ currency: l.currency, minor: l.unit_price }) })),
    orderHash: row.order_hash,
    invoiceHash: row.invoice_hash,
    order: JSON.parse(row.order_jws) as unknown,
    invoice: JSON.parse(row.invoice_jws) as unknown,
    ...(row.receipt_jws !== null ? { receipt: JSON.parse(row.receipt_jws) as unknown } : {}),
    ...(row.completion_jws !== null ? { completion: JSON.parse(row.completion_jws) as unknown } : {}),
  };
}
