// Offers of the shop integration API (issue 6): the shop's backend prices
// lines itself (POST /v1/shop/orders), the shopper's wallet orders exactly
// those lines with the order's `offerId` (130), and the merchant invoices the
// offer instead of catalogue articles.
//
// An offer is taken by ONE order: the order's transaction binds it by one
// conditional update (`… where state = 'open' and expires_at > now`), in the
// transaction that stores the order, so of two orders racing for one offer
// exactly one commits and the other is refused (MERCHANT_OFFER_TAKEN).
//
// An order that took an offer may lapse: its invoice passed its payment due
// time unpaid (the shopper said no to the invoice, or walked away). The
// payment server refuses payment after that time, so once the payment server
// confirms it has no payment for it, the offer may be taken again until it
// expires. LAPSE_SKEW_MS leaves room for the two servers' clocks.
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { formatAmount, multiplyAmount, parseAmount, sumAmounts, type Amount } from '../protocol/amount.ts';
import type { Line, Order } from '../protocol/documents/index.ts';
import type { CreateShopOrder, OfferState } from '../protocol/messages/shop.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import type { MerchantDatabase, MerchantOfferTable, MerchantOrderTable } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import { IDEMPOTENCY_TTL_MS } from './idempotency.ts';
import { settleFromPaymentServer } from './settle.ts';

type Db = Kysely<MerchantDatabase>;
export type OfferRow = Selectable<MerchantOfferTable>;
/** What of the taking order decides the offer's state. */
export type TakingOrder = Pick<Selectable<MerchantOrderTable>, 'transaction_id' | 'payment_state' | 'payment_due_time'>;

const MINUTE_MS = 60_000;
export const LAPSE_SKEW_MS = MINUTE_MS;

/** 128 random bits: the public GET /v1/offers/:offerId needs no other protection. */
export function newOfferId(): string {
  return `of-${randomBytes(16).toString('hex')}`;
}

/** The taking order lapsed: unpaid, and past its payment due time (plus clock skew). */
export function lapsed(order: TakingOrder | undefined, now: Date): boolean {
  return order !== undefined && order.payment_state === 'UNPAID' && Date.parse(order.payment_due_time) < now.getTime() - LAPSE_SKEW_MS;
}

/** open / taken / expired, as the shop and the wallet see it (mirrored in SQL by shop-views.ts). */
export function offerState(row: Pick<OfferRow, 'state' | 'expires_at'>, order: TakingOrder | undefined, now: Date): OfferState {
  if (row.state === 'taken' && !lapsed(order, now)) return 'taken';
  return Date.parse(row.expires_at) > now.getTime() ? 'open' : 'expired';
}

export function offerLines(row: Pick<OfferRow, 'lines_json'>): Line[] {
  return JSON.parse(row.lines_json) as Line[];
}

export async function findOffer(db: Db, offerId: string): Promise<{ offer: OfferRow; order?: TakingOrder } | undefined> {
  const offer = await db.selectFrom('merchant_offers').selectAll().where('offer_id', '=', offerId).executeTakeFirst();
  if (!offer) return undefined;
  if (offer.transaction_id === null) return { offer };
  const order = await db.selectFrom('merchant_orders').select(['transaction_id', 'payment_state', 'payment_due_time']).where('transaction_id', '=', offer.transaction_id).executeTakeFirstOrThrow();
  return { offer, order };
}

/** The offer an order took, if any: for the order's own views (and webhooks: the shop's reference of a paid order). */
export async function findOfferByTransaction(db: Db, transactionId: string): Promise<OfferRow | undefined> {
  return db.selectFrom('merchant_offers').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst();
}

/** The one currency this shop sells in: its catalogue's (config.ts checks there is one). */
export function shopCurrency(deps: Pick<MerchantDeps, 'config'>): string {
  const p = parseAmount(deps.config.catalogue.articles[0]!.unitPrice);
  if (!p.ok) throw new Error('the catalogue passed its schema but a price does not parse');
  return p.value.currency;
}

/**
 * POST /v1/shop/orders, after the body schema: stores an open offer. When it
 * takes over the Idempotency-Key of a run that died before its answer was
 * stored (`resumed`), the offer that run made under the key is returned
 * instead of a second one.
 */
export async function createOffer(
  deps: Pick<MerchantDeps, 'db' | 'clock' | 'config'>,
  apiKeyId: string,
  idempotency: { key: string; resumed: boolean } | undefined,
  body: CreateShopOrder,
): Promise<Result<OfferRow, MerchantHttpErrorCode>> {
  const currency = shopCurrency(deps);
  const lines: Line[] = [];
  const priced: Amount[] = [];
  for (const [i, l] of body.lines.entries()) {
    const price = parseAmount(l.unitPrice);
    if (!price.ok) throw new Error('unit price passed the schema but does not parse');
    if (price.value.currency !== currency) {
      return err('MERCHANT_OFFER_CURRENCY_UNSUPPORTED', `line ${i}: this shop sells in ${currency}, not ${price.value.currency}`, { line: i, currency });
    }
    const lineTotal = multiplyAmount(price.value, l.quantity);
    if (!lineTotal.ok) throw new Error('line total passed the schema but overflows');
    priced.push(lineTotal.value);
    // One spelling of each price ("EUR:12.50"), so the wallet signs what is stored.
    lines.push({ article: l.article, name: l.name, quantity: l.quantity, unitPrice: formatAmount(price.value) });
  }
  const total = sumAmounts(currency, priced);
  if (!total.ok) throw new Error('offer total passed the schema but does not add up');
  const now = deps.clock();
  if (idempotency?.resumed) {
    // Within the key's 24 hours (idempotency.ts): an offer under it is the dead run's.
    const earlier = await deps.db
      .selectFrom('merchant_offers')
      .selectAll()
      .where('api_key_id', '=', apiKeyId)
      .where('idempotency_key', '=', idempotency.key)
      .where('created_at', '>=', new Date(now.getTime() - IDEMPOTENCY_TTL_MS).toISOString())
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (earlier) return ok(earlier);
  }
  const row: OfferRow = {
    offer_id: newOfferId(),
    api_key_id: apiKeyId,
    idempotency_key: idempotency?.key ?? null,
    currency,
    total: total.value.minor,
    lines_json: JSON.stringify(lines),
    fulfilment_url: body.fulfilmentUrl ?? null,
    reference: body.reference ?? null,
    created_at: now.toISOString(),
    expires_at: new Date(now.getTime() + deps.config.offerTtlMinutes * MINUTE_MS).toISOString(),
    state: 'open',
    transaction_id: null,
    taken_at: null,
  };
  await withRetry(() => deps.db.insertInto('merchant_offers').values(row).execute());
  return ok(row);
}

/** How an order may take its offer: from open, or from the lapsed order that holds it. */
export type OfferClaim = { offerId: string; from: { state: 'open' } | { state: 'taken'; transactionId: string } };

function sameLines(ordered: readonly Line[], offered: readonly Line[]): number | undefined {
  const n = Math.max(ordered.length, offered.length);
  for (let i = 0; i < n; i++) {
    const a = ordered[i];
    const b = offered[i];
    if (!a || !b || a.article !== b.article || a.name !== b.name || a.quantity !== b.quantity) return i;
    const pa = parseAmount(a.unitPrice);
    const pb = parseAmount(b.unitPrice);
    if (!pa.ok || !pb.ok || pa.value.currency !== pb.value.currency || pa.value.minor !== pb.value.minor) return i;
  }
  return undefined;
}

/**
 * Steps before the order is invoiced: the offer exists, the order repeats its
 * lines and total exactly, and it can be taken now. Asks the payment server
 * about a lapsed taking order (it must not have been paid after all).
 */
export async function offerForOrder(deps: MerchantDeps, order: Order, now: Date): Promise<Result<OfferClaim, MerchantHttpErrorCode>> {
  const offerId = order.offerId!;
  const found = await findOffer(deps.db, offerId);
  if (!found) return err('MERCHANT_OFFER_NOT_FOUND', `no offer ${offerId}`);
  const { offer } = found;
  const line = sameLines(order.lines, offerLines(offer));
  if (line !== undefined) return err('MERCHANT_OFFER_MISMATCH', `line ${line} is not the offer's (article, name, quantity and unit price must be the offer's, in its order)`, { field: 'lines', line });
  const total = parseAmount(order.total);
  if (!total.ok || total.value.currency !== offer.currency || total.value.minor !== BigInt(offer.total)) {
    return err('MERCHANT_OFFER_MISMATCH', `the offer's total is ${formatAmount({ currency: offer.currency, minor: BigInt(offer.total) })}`, { field: 'total' });
  }
  const expired = () => err('MERCHANT_OFFER_EXPIRED', `offer ${offerId} could be bought until ${offer.expires_at}`, { expiresAt: offer.expires_at });
  if (offer.state === 'open') return Date.parse(offer.expires_at) > now.getTime() ? ok({ offerId, from: { state: 'open' } }) : expired();
  const holder = found.order!;
  const taken = err('MERCHANT_OFFER_TAKEN', `offer ${offerId} was bought by another order`);
  if (!lapsed(holder, now)) return taken;
  // The payment server has the last word on whether the lapsed order was paid.
  const asked = await settleFromPaymentServer(deps, holder.transaction_id);
  if (!asked.ok) return asked;
  if (asked.value.paymentState === 'PAID') return taken;
  if (Date.parse(offer.expires_at) <= now.getTime()) return expired();
  return ok({ offerId, from: { state: 'taken', transactionId: holder.transaction_id } });
}

/**
 * Inside the order's transaction: binds the offer to `transactionId` if it is
 * still as the claim saw it. False: another order took it first.
 */
export async function takeOffer(trx: Transaction<MerchantDatabase>, claim: OfferClaim, transactionId: string, now: Date): Promise<boolean> {
  let q = trx
    .updateTable('merchant_offers')
    .set({ state: 'taken', transaction_id: transactionId, taken_at: now.toISOString() })
    .where('offer_id', '=', claim.offerId)
    .where('expires_at', '>', now.toISOString());
  q = claim.from.state === 'open' ? q.where('state', '=', 'open') : q.where('state', '=', 'taken').where('transaction_id', '=', claim.from.transactionId);
  // The lapsed holder must still be unpaid when it is replaced (a receipt may have settled it meanwhile).
  if (claim.from.state === 'taken') {
    q = q.where(sql<boolean>`exists (select 1 from merchant_orders o where o.transaction_id = ${claim.from.transactionId} and o.payment_state = 'UNPAID')`);
  }
  const r = await q.executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** Thrown inside the order's transaction when takeOffer lost: rolls the order back. */
export class OfferTakenMeanwhile extends Error {
  constructor() {
    super('the offer was taken by another order');
  }
}
