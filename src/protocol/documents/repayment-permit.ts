// Message 1140 (fig. 18, screen fig. 25): the merchant's signed permission for
// the payment server to repay `amount` to `recipientId`. The shopper countersigns
// it to claim the money (1150); the payment server pays only if the countersigner
// owns recipientId, and pays a permit at most once.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { DisplayName, PartyId } from '../identity.ts';
import { checkTimeOrder, HttpUrl, PartyRef, PaymentMode, PurchaserId, Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const REPAYMENT_PERMIT_TYP = 'quittance.repayment-permit.v1+json';

export const RepaymentPermit = z
  .strictObject({
    typ: z.literal(REPAYMENT_PERMIT_TYP),
    permitId: ShortId,
    transactionId: ShortId,
    /** Document hash of the repayment request (1110) it answers; absent for a refund the shop starts itself. */
    requestHash: Sha256B64u.optional(),
    recipientId: PurchaserId,
    amount: AmountString,
    mode: PaymentMode,
    shop: PartyRef,
    repayer: z.strictObject({ id: PartyId, name: DisplayName, address: HttpUrl }),
    permissionTime: Rfc3339Utc,
    dueTime: Rfc3339Utc,
  })
  .superRefine((v, ctx) => checkTimeOrder(ctx, v.permissionTime, v.dueTime, 'dueTime', 'permissionTime'));
export type RepaymentPermit = z.infer<typeof RepaymentPermit>;
