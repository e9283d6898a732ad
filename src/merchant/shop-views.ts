// What the shop API shows of offers: the public view the wallet reads (GET
// /v1/offers/:offerId) and the shop's own view with the payment state of the
// order that took the offer, its refunds (views.ts), and the list, newest
// first, paged by a (createdAt, offerId) cursor.
import type { Kysely, Selectable } from 'kysely';
import { httpError } from '../http/errors.ts';
import { formatAmount } from '../protocol/amount.ts';
import { decodeBase64url, encodeBase64url } from '../protocol/base64url.ts';
import type { Line } from '../protocol/documents/index.ts';
import type { OfferState, OfferView } from '../protocol/messages/shop.ts';
import { formatPaymentUri } from '../protocol/payment-uri.ts';
import type { MerchantDatabase, MerchantOrderTable } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import { findOffer, LAPSE_SKEW_MS, offerLines, offerState, type OfferRow, type TakingOrder } from './offers.ts';
import { listRefunds, orderState, type OrderState, type RefundSummary } from './views.ts';

type Db = Kysely<MerchantDatabase>;
type OrderPart = Pick<
  Selectable<MerchantOrderTable>,
  'transaction_id' | 'payment_state' | 'payment_due_time' | 'currency' | 'total' | 'refund_held' | 'refunded' | 'purchaser_id' | 'purchaser_kind' | 'payment_mode' | 'bill_time' | 'refund_deadline' | 'paid_at'
>;

export type ShopOrderView = {
  offerId: string;
  paymentUri: string;
  /** open, taken or expired (messages/shop.ts OfferState). */
  state: OfferState;
  amount: string;
  lines: Line[];
  reference?: string;
  fulfilmentUrl?: string;
  createdAt: string;
  expiresAt: string;
  /** The order that took the offer (the latest one, when an earlier one lapsed unpaid). */
  order?: {
    transactionId: string;
    /** UNPAID, PAID, DURING_REPAYMENT, PARTIALLY_REFUNDED, REFUNDED (views.ts). */
    state: OrderState;
    paymentState: string;
    amount: string;
    refunded: string;
    purchaserId: string;
    purchaserKind: 'certified' | 'anonymous';
    paymentMode: string;
    takenAt: string;
    billTime: string;
    paymentDueTime: string;
    refundDeadline: string;
    paidAt?: string;
  };
};

export type ShopOrderDetail = ShopOrderView & { refunds: RefundSummary[] };

function amountOf(row: Pick<OfferRow, 'currency' | 'total'>): string {
  return formatAmount({ currency: row.currency, minor: BigInt(row.total) });
}

export function publicOfferView(deps: Pick<MerchantDeps, 'signer'>, offer: OfferRow, order: TakingOrder | undefined, now: Date): OfferView {
  return {
    offerId: offer.offer_id,
    merchant: { id: deps.signer.partyId, name: deps.signer.displayName },
    lines: offerLines(offer),
    amount: amountOf(offer),
    ...(offer.reference !== null ? { reference: offer.reference } : {}),
    ...(offer.fulfilment_url !== null ? { fulfilmentUrl: offer.fulfilment_url } : {}),
    createdAt: offer.created_at,
    expiresAt: offer.expires_at,
    state: offerState(offer, order, now),
  };
}

function shopView(offer: OfferRow, order: OrderPart | undefined, shopUrl: string, now: Date): ShopOrderView {
  return {
    offerId: offer.offer_id,
    paymentUri: formatPaymentUri({ kind: 'offer', shop: shopUrl, offerId: offer.offer_id }),
    state: offerState(offer, order, now),
    amount: amountOf(offer),
    lines: offerLines(offer),
    ...(offer.reference !== null ? { reference: offer.reference } : {}),
    ...(offer.fulfilment_url !== null ? { fulfilmentUrl: offer.fulfilment_url } : {}),
    createdAt: offer.created_at,
    expiresAt: offer.expires_at,
    ...(order
      ? {
          order: {
            transactionId: order.transaction_id,
            state: orderState(order),
            paymentState: order.payment_state,
            amount: formatAmount({ currency: order.currency, minor: BigInt(order.total) }),
            refunded: formatAmount({ currency: order.currency, minor: BigInt(order.refunded) }),
            purchaserId: order.purchaser_id,
            purchaserKind: order.purchaser_kind,
            paymentMode: order.payment_mode,
            takenAt: offer.taken_at!,
            billTime: order.bill_time,
            paymentDueTime: order.payment_due_time,
            refundDeadline: order.refund_deadline,
            ...(order.paid_at !== null ? { paidAt: order.paid_at } : {}),
          },
        }
      : {}),
  };
}

const ORDER_COLUMNS = [
  'transaction_id',
  'payment_state',
  'payment_due_time',
  'currency',
  'total',
  'refund_held',
  'refunded',
  'purchaser_id',
  'purchaser_kind',
  'payment_mode',
  'bill_time',
  'refund_deadline',
  'paid_at',
] as const;

async function orderPart(db: Db, transactionId: string | null): Promise<OrderPart | undefined> {
  if (transactionId === null) return undefined;
  return db.selectFrom('merchant_orders').select(ORDER_COLUMNS).where('transaction_id', '=', transactionId).executeTakeFirstOrThrow();
}

/** GET /v1/shop/orders/:offerId: the offer, its order's payment state and the order's refunds (newest first). */
export async function getShopOrder(db: Db, offerId: string, shopUrl: string, now: Date): Promise<ShopOrderDetail | undefined> {
  const found = await findOffer(db, offerId);
  if (!found) return undefined;
  const order = await orderPart(db, found.offer.transaction_id);
  const refunds = order ? await listRefunds(db, { transactionId: order.transaction_id }) : [];
  return { ...shopView(found.offer, order, shopUrl, now), refunds };
}

type Cursor = { createdAt: string; offerId: string };

function encodeCursor(c: Cursor): string {
  return encodeBase64url(new TextEncoder().encode(JSON.stringify([c.createdAt, c.offerId])));
}

function decodeCursor(s: string): Cursor {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(decodeBase64url(s)!)) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { createdAt: v[0], offerId: v[1] };
  } catch {
    // fall through
  }
  throw httpError('HTTP_SCHEMA_INVALID', 'query does not match the schema', [{ path: 'cursor', message: 'not a cursor this server gave' }]);
}

export type ShopOrderPage = { orders: ShopOrderView[]; nextCursor?: string };

/** GET /v1/shop/orders: newest first; `state` filters as offerState() decides, in SQL. */
export async function listShopOrders(db: Db, opts: { state?: OfferState; limit: number; cursor?: string }, shopUrl: string, now: Date): Promise<ShopOrderPage> {
  const nowIso = now.toISOString();
  const lapseCutoff = new Date(now.getTime() - LAPSE_SKEW_MS).toISOString();
  let q = db
    .selectFrom('merchant_offers as f')
    .leftJoin('merchant_orders as o', 'o.transaction_id', 'f.transaction_id')
    .selectAll('f')
    .select([
      'o.transaction_id as o_transaction_id',
      'o.payment_state as o_payment_state',
      'o.payment_due_time as o_payment_due_time',
      'o.currency as o_currency',
      'o.total as o_total',
      'o.refund_held as o_refund_held',
      'o.refunded as o_refunded',
      'o.purchaser_id as o_purchaser_id',
      'o.purchaser_kind as o_purchaser_kind',
      'o.payment_mode as o_payment_mode',
      'o.bill_time as o_bill_time',
      'o.refund_deadline as o_refund_deadline',
      'o.paid_at as o_paid_at',
    ]);
  if (opts.state !== undefined) {
    const state = opts.state;
    q = q.where((eb) => {
      const lapsed = eb.and([eb('f.state', '=', 'taken'), eb('o.payment_state', '=', 'UNPAID'), eb('o.payment_due_time', '<', lapseCutoff)]);
      if (state === 'taken') return eb.and([eb('f.state', '=', 'taken'), eb.not(lapsed)]);
      const free = eb.or([eb('f.state', '=', 'open'), lapsed]);
      return eb.and([free, state === 'open' ? eb('f.expires_at', '>', nowIso) : eb('f.expires_at', '<=', nowIso)]);
    });
  }
  if (opts.cursor !== undefined) {
    const c = decodeCursor(opts.cursor);
    q = q.where((eb) => eb.or([eb('f.created_at', '<', c.createdAt), eb.and([eb('f.created_at', '=', c.createdAt), eb('f.offer_id', '<', c.offerId)])]));
  }
  const rows = await q.orderBy('f.created_at', 'desc').orderBy('f.offer_id', 'desc').limit(opts.limit + 1).execute();
  const page = rows.slice(0, opts.limit);
  const orders = page.map((r) => {
    const offer: OfferRow = {
      offer_id: r.offer_id,
      api_key_id: r.api_key_id,
      idempotency_key: r.idempotency_key,
      currency: r.currency,
      total: r.total,
      lines_json: r.lines_json,
      fulfilment_url: r.fulfilment_url,
      reference: r.reference,
      created_at: r.created_at,
      expires_at: r.expires_at,
      state: r.state,
      transaction_id: r.transaction_id,
      taken_at: r.taken_at,
    };
    const order: OrderPart | undefined =
      r.o_transaction_id === null
        ? undefined
        : {
            transaction_id: r.o_transaction_id,
            payment_state: r.o_payment_state!,
            payment_due_time: r.o_payment_due_time!,
            currency: r.o_currency!,
            total: r.o_total!,
            refund_held: r.o_refund_held!,
            refunded: r.o_refunded!,
            purchaser_id: r.o_purchaser_id!,
            purchaser_kind: r.o_purchaser_kind!,
            payment_mode: r.o_payment_mode!,
            bill_time: r.o_bill_time!,
            refund_deadline: r.o_refund_deadline!,
            paid_at: r.o_paid_at ?? null,
          };
    return shopView(offer, order, shopUrl, now);
  });
  const last = page[page.length - 1];
  return { orders, ...(rows.length > opts.limit && last ? { nextCursor: encodeCursor({ createdAt: last.created_at, offerId: last.offer_id }) } : {}) };
}
