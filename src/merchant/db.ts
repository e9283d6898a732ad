// The merchant server's tables, prefixed `merchant_` so it can share a
// database with other services. Times are RFC 3339 UTC strings; money is
// bigint minor units.

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

export interface MerchantDatabase {
  merchant_orders: MerchantOrderTable;
  merchant_order_lines: MerchantOrderLineTable;
  merchant_stock_sold: MerchantStockSoldTable;
}
