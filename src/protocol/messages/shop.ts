// Wire messages of the shop integration API (merchant server, issue 6): a shop
// with its own backend creates an offer — lines it priced itself — and hands
// the shopper a payment URI (src/protocol/payment-uri.ts); the wallet reads the
// offer from the public GET /v1/offers/:offerId and orders exactly its lines
// (order document 130 with `offerId`).
import { z } from 'zod';
import { AmountString, multiplyAmount, parseAmount, sumAmounts, type Amount } from '../amount.ts';
import { checkLinesTotal, HttpUrl, Lines, Rfc3339Utc, ShortId, Text, type Line } from '../documents/fields.ts';
import { DisplayName, PartyId } from '../identity.ts';

export const OFFER_STATES = ['open', 'taken', 'expired'] as const;
/**
 * open: can be bought (also when the order that took it lapsed unpaid);
 * taken: an order was made for it (its payment state says whether it is paid);
 * expired: its expiresAt passed before anyone took it.
 */
export const OfferState = z.enum(OFFER_STATES);
export type OfferState = z.infer<typeof OfferState>;

/** The shop's own note on the offer (its order number, say): displayable text. */
export const OfferReference = Text(200);

type Ctx = z.core.$RefinementCtx;

/** Lines priced by the shop: every unit price above zero, one currency, and a total that fits. */
function checkShopLines(ctx: Ctx, lines: readonly Line[]): void {
  if (!Lines.safeParse(lines).success) return;
  let currency: string | undefined;
  const priced: Amount[] = [];
  for (const [i, line] of lines.entries()) {
    const p = parseAmount(line.unitPrice);
    if (!p.ok) return;
    if (p.value.minor <= 0n) {
      ctx.addIssue({ code: 'custom', path: ['lines', i, 'unitPrice'], message: 'unitPrice: more than zero' });
      return;
    }
    currency ??= p.value.currency;
    if (p.value.currency !== currency) {
      ctx.addIssue({ code: 'custom', path: ['lines', i, 'unitPrice'], message: `every line in one currency (${currency})` });
      return;
    }
    const lineTotal = multiplyAmount(p.value, line.quantity);
    if (!lineTotal.ok) {
      ctx.addIssue({ code: 'custom', path: ['lines', i], message: lineTotal.code });
      return;
    }
    priced.push(lineTotal.value);
  }
  const sum = sumAmounts(currency!, priced);
  if (!sum.ok) ctx.addIssue({ code: 'custom', path: ['lines'], message: sum.code });
}

/** POST /v1/shop/orders: what the shop sells, at its prices. The total is the sum of the lines. */
export const CreateShopOrder = z
  .strictObject({
    lines: Lines,
    /** Where the shopper goes once paid (the shop's order page); shown by the wallet. */
    fulfilmentUrl: HttpUrl.optional(),
    reference: OfferReference.optional(),
  })
  .superRefine((b, ctx) => checkShopLines(ctx, b.lines));
export type CreateShopOrder = z.infer<typeof CreateShopOrder>;

/** 201 answer of POST /v1/shop/orders. */
export const CreatedShopOrder = z.strictObject({
  offerId: ShortId,
  paymentUri: z.string(),
  amount: AmountString,
  expiresAt: Rfc3339Utc,
});
export type CreatedShopOrder = z.infer<typeof CreatedShopOrder>;

/**
 * GET /v1/offers/:offerId (public: offer ids are 128 random bits). Unsigned,
 * like the catalogue: what binds the shop is the invoice it signs for the
 * order, and the merchant refuses an order whose lines are not the offer's.
 */
export const OfferView = z
  .strictObject({
    offerId: ShortId,
    merchant: z.strictObject({ id: PartyId, name: DisplayName }),
    lines: Lines,
    amount: AmountString,
    reference: OfferReference.optional(),
    fulfilmentUrl: HttpUrl.optional(),
    createdAt: Rfc3339Utc,
    expiresAt: Rfc3339Utc,
    state: OfferState,
  })
  .superRefine((o, ctx) => checkLinesTotal(ctx, o.lines, o.amount, 'amount'));
export type OfferView = z.infer<typeof OfferView>;

export const MAX_SHOP_ORDERS_LISTED = 100;

/** GET /v1/shop/orders?state=&limit=&cursor= (newest first; `cursor` is the previous page's nextCursor). */
export const ShopOrderListQuery = z.strictObject({
  state: OfferState.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_SHOP_ORDERS_LISTED).optional(),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'cursor: the nextCursor of the previous page').optional(),
});
export type ShopOrderListQuery = z.infer<typeof ShopOrderListQuery>;

/**
 * POST /v1/shop/orders/:offerId/refunds: approves the repayment requests of the
 * offer's order that await approval (merchant.json `refundsNeedApproval`): the
 * ones named in `requestIds`, or all of them. With `amount`, the requests
 * approved must add up to exactly that, else nothing is approved — the shop
 * never permits more than it meant to.
 */
export const ShopRefundCall = z.strictObject({
  amount: AmountString.optional(),
  requestIds: z.array(ShortId).min(1).max(100).optional(),
});
export type ShopRefundCall = z.infer<typeof ShopRefundCall>;
