// Message 1190 (fig. 19): the shopper's signed acknowledgement that the refund
// of a permit arrived. It is the payment server's proof that it repaid.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { PurchaserId, Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const REPAYMENT_RECEIPT_TYP = 'quittance.repayment-receipt.v1+json';

export const RepaymentReceipt = z.strictObject({
  typ: z.literal(REPAYMENT_RECEIPT_TYP),
  permitId: ShortId,
  permitHash: Sha256B64u,
  transactionId: ShortId,
  recipientId: PurchaserId,
  amount: AmountString,
  time: Rfc3339Utc,
});
export type RepaymentReceipt = z.infer<typeof RepaymentReceipt>;
