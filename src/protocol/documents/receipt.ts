// Message 180 (fig. 7, screen fig. 16): the receipt, signed by the payment
// server. With the invoice it is the shopper's proof of payment; the merchant
// checks it (210) with the payment-server key named in ITS invoice.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { PartyRef, PaymentMode, PurchaserId, Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const RECEIPT_TYP = 'quittance.receipt.v1+json';

export const Receipt = z.strictObject({
  typ: z.literal(RECEIPT_TYP),
  transactionId: ShortId,
  purchaserId: PurchaserId,
  amountReceived: AmountString,
  mode: PaymentMode,
  shop: PartyRef,
  /** The payment server that received the money. */
  recipient: PartyRef,
  time: Rfc3339Utc,
  invoiceHash: Sha256B64u,
});
export type Receipt = z.infer<typeof Receipt>;
