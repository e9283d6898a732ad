// Message 1110 (screen fig. 24): the shopper asks the shop for a refund,
// signed with the SAME key that signed the order (fig. 20): the merchant
// compares keys, so only the buyer can ask. shopId binds the request to one
// shop, since transaction ids of different shops may collide.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { PartyId } from '../identity.ts';
import { checkLinesTotal, Lines, Rfc3339Utc, ShortId, Text } from './fields.ts';

export const REPAYMENT_REQUEST_TYP = 'quittance.repayment-request.v1+json';

export const RepaymentRequest = z
  .strictObject({
    typ: z.literal(REPAYMENT_REQUEST_TYP),
    /** Chosen by the wallet; makes a retried request idempotent. */
    requestId: ShortId,
    transactionId: ShortId,
    shopId: PartyId,
    amount: AmountString,
    /** The lines returned, when the refund is per article; then amount is their sum. */
    lines: Lines.optional(),
    reason: Text(500),
    time: Rfc3339Utc,
  })
  .superRefine((v, ctx) => checkLinesTotal(ctx, v.lines, v.amount, 'amount'));
export type RepaymentRequest = z.infer<typeof RepaymentRequest>;
