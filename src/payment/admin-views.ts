// What the payment server's operator reads (issue 6, the payment console):
// payments as fig. 13 lists them, reserves and purses with their balances,
// denomination keys with their windows, settlements and the notification
// outbox. One function per table, shared by the operator routes
// (routes/admin.ts) and the CLI (`quittance payment payments|reserves|…`), so
// the console and the command line show the same data. Reads only.
//
// Lists are newest first and paged by a keyset cursor (created_at, id): a
// row inserted while the operator pages never shifts the next page, which
// an offset would do.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { formatAmount } from '../protocol/amount.ts';
import { ReserveView } from '../protocol/messages/payment.ts';
import type { PaymentDatabase, PaymentNotificationTable } from './db.ts';
import { listDenominationKeys, type DenominationKeyInfo } from './denominations.ts';
import { reserveView } from './reserves.ts';

type Db = Kysely<PaymentDatabase>;

// ---------------------------------------------------------------- paging

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 500;

/** `<created_at>~<id>`: the last row of a page; the next page starts below it. */
export const Cursor = z
  .string()
  .max(300)
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z~[^~\s]{1,256}$/, 'a cursor from the previous page (`next`)');

export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  before: Cursor.optional(),
});
export type PageQuery = z.infer<typeof PageQuery>;

function splitCursor(cursor: string): { at: string; id: string } {
  const i = cursor.indexOf('~');
  return { at: cursor.slice(0, i), id: cursor.slice(i + 1) };
}

/** The rows of one page (limit + 1 were read) and the cursor of the next, if any. */
function page<R>(rows: R[], limit: number, cursorOf: (r: R) => string): { rows: R[]; next?: string } {
  if (rows.length <= limit) return { rows };
  const shown = rows.slice(0, limit);
  return { rows: shown, next: cursorOf(shown[shown.length - 1]!) };
}

// ---------------------------------------------------------------- payments (fig. 13)

export const AdminPayment = z.strictObject({
  paymentId: z.string(),
  shopId: z.string(),
  transactionId: z.string(),
  purchaserId: z.string(),
  amount: z.string(),
  mode: z.string(),
  /** The row's state, or REPAYMENT_COMPLETION once refunded in full (fig. 13). */
  state: z.enum(['RECEPTION_ACCEPTED', 'PAID', 'REPAYMENT_COMPLETION']),
  refunded: z.string(),
  paidAt: z.string().nullable(),
  settlementId: z.string().nullable(),
  createdAt: z.string(),
});
export type AdminPayment = z.infer<typeof AdminPayment>;
export const AdminPaymentsAnswer = z.strictObject({ payments: z.array(AdminPayment), next: Cursor.optional() });
export type AdminPaymentsAnswer = z.infer<typeof AdminPaymentsAnswer>;

export async function listPayments(db: Db, q: PageQuery): Promise<AdminPaymentsAnswer> {
  let query = db.selectFrom('payment_payments').selectAll().orderBy('created_at', 'desc').orderBy('payment_id', 'desc').limit(q.limit + 1);
  if (q.before !== undefined) {
    const c = splitCursor(q.before);
    query = query.where((eb) => eb.or([eb('created_at', '<', c.at), eb.and([eb('created_at', '=', c.at), eb('payment_id', '<', c.id)])]));
  }
  const p = page(await query.execute(), q.limit, (r) => `${r.created_at}~${r.payment_id}`);
  return {
    payments: p.rows.map((r) => ({
      paymentId: r.payment_id,
      shopId: r.shop_id,
      transactionId: r.transaction_id,
      purchaserId: r.purchaser_id,
      amount: formatAmount({ currency: r.currency, minor: r.amount }),
      mode: r.payment_mode,
      state: r.state === 'PAID' && r.refunded === r.amount ? 'REPAYMENT_COMPLETION' : r.state,
      refunded: formatAmount({ currency: r.currency, minor: r.refunded }),
      paidAt: r.paid_at,
      settlementId: r.settlement_id,
      createdAt: r.created_at,
    })),
    ...(p.next !== undefined ? { next: p.next } : {}),
  };
}

// ---------------------------------------------------------------- reserves and purses

export const AdminReserve = ReserveView.extend({
  /** A purse (mode account): the certified shopper it is bound to; null for a plain reserve. */
  purseOf: z.string().nullable(),
});
export type AdminReserve = z.infer<typeof AdminReserve>;
export const AdminReservesAnswer = z.strictObject({ reserves: z.array(AdminReserve), next: Cursor.optional() });
export type AdminReservesAnswer = z.infer<typeof AdminReservesAnswer>;

export async function listReserves(db: Db, q: PageQuery): Promise<AdminReservesAnswer> {
  let query = db
    .selectFrom('payment_reserves')
    .leftJoin('payment_purses', 'payment_purses.purse_key', 'payment_reserves.reserve_pub')
    .select(['payment_reserves.reserve_pub', 'payment_reserves.created_at', 'payment_purses.party_id'])
    .orderBy('payment_reserves.created_at', 'desc')
    .orderBy('payment_reserves.reserve_pub', 'desc')
    .limit(q.limit + 1);
  if (q.before !== undefined) {
    const c = splitCursor(q.before);
    query = query.where((eb) =>
      eb.or([eb('payment_reserves.created_at', '<', c.at), eb.and([eb('payment_reserves.created_at', '=', c.at), eb('payment_reserves.reserve_pub', '<', c.id)])]),
    );
  }
  const p = page(await query.execute(), q.limit, (r) => `${r.created_at}~${r.reserve_pub}`);
  const reserves: AdminReserve[] = [];
  for (const r of p.rows) {
    // The same figures GET /v1/reserves/:pub answers the wallet.
    const view = await reserveView(db, r.reserve_pub);
    if (view) reserves.push({ ...view, purseOf: r.party_id ?? null });
  }
  return { reserves, ...(p.next !== undefined ? { next: p.next } : {}) };
}

// ---------------------------------------------------------------- denomination keys

export const DenominationState = z.enum(['active', 'deposit-only', 'expired']);
export type DenominationState = z.infer<typeof DenominationState>;

/** active: signs coins; deposit-only: its coins are still taken; expired: neither. */
export function denominationState(k: Pick<DenominationKeyInfo, 'withdrawUntil' | 'depositUntil'>, now: Date): DenominationState {
  const t = now.getTime();
  return t > Date.parse(k.depositUntil) ? 'expired' : t > Date.parse(k.withdrawUntil) ? 'deposit-only' : 'active';
}

export const AdminDenomination = z.strictObject({
  denominationId: z.string(),
  /** The value as an amount, e.g. "JPY:64". */
  value: z.string(),
  generation: z.number().int(),
  state: DenominationState,
  validFrom: z.string(),
  withdrawUntil: z.string(),
  depositUntil: z.string(),
});
export type AdminDenomination = z.infer<typeof AdminDenomination>;
export const AdminDenominationsAnswer = z.strictObject({ keys: z.array(AdminDenomination) });
export const DenominationsQuery = z.strictObject({ all: z.enum(['true', 'false']).default('false') });

/** The keys as `quittance payment keys --json` prints them. */
export async function listDenominations(db: Db, now: Date, opts: { all?: boolean } = {}): Promise<{ keys: AdminDenomination[] }> {
  const keys = await listDenominationKeys({ db }, now, opts);
  return {
    keys: keys.map((k) => ({
      denominationId: k.denominationId,
      value: k.amount,
      generation: k.generation,
      state: denominationState(k, now),
      validFrom: k.validFrom,
      withdrawUntil: k.withdrawUntil,
      depositUntil: k.depositUntil,
    })),
  };
}

// ---------------------------------------------------------------- settlements

export const AdminSettlement = z.strictObject({
  settlementId: z.string(),
  merchantId: z.string(),
  amount: z.string(),
  payoutAccount: z.string(),
  state: z.enum(['pending', 'sent', 'failed']),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AdminSettlement = z.infer<typeof AdminSettlement>;
export const AdminSettlementsAnswer = z.strictObject({ settlements: z.array(AdminSettlement), next: Cursor.optional() });
export type AdminSettlementsAnswer = z.infer<typeof AdminSettlementsAnswer>;

export async function listSettlements(db: Db, q: PageQuery): Promise<AdminSettlementsAnswer> {
  let query = db.selectFrom('payment_settlements').selectAll().orderBy('created_at', 'desc').orderBy('settlement_id', 'desc').limit(q.limit + 1);
  if (q.before !== undefined) {
    const c = splitCursor(q.before);
    query = query.where((eb) => eb.or([eb('created_at', '<', c.at), eb.and([eb('created_at', '=', c.at), eb('settlement_id', '<', c.id)])]));
  }
  const p = page(await query.execute(), q.limit, (r) => `${r.created_at}~${r.settlement_id}`);
  return {
    settlements: p.rows.map((r) => ({
      settlementId: r.settlement_id,
      merchantId: r.merchant_id,
      amount: formatAmount({ currency: r.currency, minor: r.amount }),
      payoutAccount: r.payout_account,
      state: r.state,
      attempts: r.attempts,
      lastError: r.last_error,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    })),
    ...(p.next !== undefined ? { next: p.next } : {}),
  };
}

// ---------------------------------------------------------------- notification outbox

export const AdminNotification = z.strictObject({
  merchantId: z.string(),
  kind: z.enum(['payment', 'repayment']),
  ref: z.string(),
  event: z.enum(['paid', 'remitted', 'completed']),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  nextAttemptAt: z.string(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type AdminNotification = z.infer<typeof AdminNotification>;
export const AdminNotificationsAnswer = z.strictObject({ notifications: z.array(AdminNotification) });
export type AdminNotificationsAnswer = z.infer<typeof AdminNotificationsAnswer>;
export const NotificationsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
  state: z.enum(['pending', 'delivered', 'failed']).optional(),
});
export type NotificationsQuery = z.infer<typeof NotificationsQuery>;

/** The newest `limit` notifications (of one state): the outbox has no single id, so no cursor. */
export async function listNotifications(db: Db, q: NotificationsQuery): Promise<AdminNotificationsAnswer> {
  let query = db
    .selectFrom('payment_notifications')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('merchant_id')
    .orderBy('kind')
    .orderBy('ref')
    .orderBy('event')
    .limit(q.limit);
  if (q.state !== undefined) query = query.where('state', '=', q.state);
  return { notifications: (await query.execute()).map(notificationView) };
}

function notificationView(r: PaymentNotificationTable): AdminNotification {
  return {
    merchantId: r.merchant_id,
    kind: r.kind,
    ref: r.ref,
    event: r.event,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
