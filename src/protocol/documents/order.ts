// Message 130 (figs. 11, 12, 14): the order, signed by the shopper with the
// certified key, or with a fresh per-order key whose RFC 7638 thumbprint is the
// purchaserId (anonymous purchase, DESIGN §2). The same key must later sign the
// repayment request (fig. 20, step 1320), which is how a refund is bound to the buyer.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { PartyId } from '../identity.ts';
import { checkLinesTotal, Lines, Nonce, PaymentMode, PurchaserId, Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const ORDER_TYP = 'quittance.order.v1+json';

export const Order = z
  .strictObject({
    typ: z.literal(ORDER_TYP),
    /** Chosen by the wallet at random: makes the order unique and its submission idempotent. */
    orderId: Nonce,
    merchantId: PartyId,
    purchaserId: PurchaserId,
    lines: Lines,
    total: AmountString,
    paymentMode: PaymentMode,
    /** SHA-256 of the selling conditions the shopper was shown. */
    sellingConditionsHash: Sha256B64u,
    time: Rfc3339Utc,
    /**
     * The shop's offer this order buys (payment URI `offer=`, POST /v1/shop/orders):
     * its lines and total must be the offer's exactly, and it takes the offer once.
     * Absent: catalogue articles at catalogue prices.
     */
    offerId: ShortId.optional(),
  })
  .superRefine((o, ctx) => checkLinesTotal(ctx, o.lines, o.total, 'total'));
export type Order = z.infer<typeof Order>;
