// Message 140 (fig. 6, screen fig. 15): the invoice, signed by the merchant.
// The shopper countersigns the same payload to accept it (message 150); the
// payment server then checks that the countersigner owns purchaserId.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { checkLinesTotal, checkTimeOrder, HttpUrl, Lines, PartyRef, PaymentMode, PurchaserId, Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const INVOICE_TYP = 'quittance.invoice.v1+json';

export const Invoice = z
  .strictObject({
    typ: z.literal(INVOICE_TYP),
    transactionId: ShortId,
    purchaserId: PurchaserId,
    lines: Lines,
    amount: AmountString,
    paymentMode: PaymentMode,
    shop: PartyRef,
    paymentServer: PartyRef,
    /** Where to pay; must match the payment server's certificate. */
    paymentAddress: HttpUrl,
    billTime: Rfc3339Utc,
    paymentDueTime: Rfc3339Utc,
    refundDeadline: Rfc3339Utc,
    sellingConditionsHash: Sha256B64u,
    /** Document hash of the order (130) this invoice answers. */
    orderHash: Sha256B64u,
  })
  .superRefine((v, ctx) => {
    checkLinesTotal(ctx, v.lines, v.amount, 'amount');
    checkTimeOrder(ctx, v.billTime, v.paymentDueTime, 'paymentDueTime', 'billTime');
    checkTimeOrder(ctx, v.billTime, v.refundDeadline, 'refundDeadline', 'billTime', true);
  });
export type Invoice = z.infer<typeof Invoice>;
