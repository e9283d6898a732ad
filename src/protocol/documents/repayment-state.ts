// Messages 1160/1180 and 1220: the payment server's signed word on a permit.
// `remitted`: the refund was paid (fresh coins signed, or the purse credited);
// `completed`: and the shopper's signed repayment receipt (1190) arrived,
// carried here as evidence, so the merchant need not trust the payment
// server's word alone. The wallet gets it as the answer to its claim, the
// merchant when it asks (1210).
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { PartyId } from '../identity.ts';
import { JwsGeneral, Rfc3339Utc, ShortId } from './fields.ts';

export const REPAYMENT_STATE_TYP = 'quittance.repayment-state.v1+json';

export const RepaymentState = z
  .strictObject({
    typ: z.literal(REPAYMENT_STATE_TYP),
    transactionId: ShortId,
    permitId: ShortId,
    /** The shop (whose permit it is) and the amount repaid. */
    shopId: PartyId,
    amount: AmountString,
    state: z.enum(['remitted', 'completed']),
    /** The repayment receipt JWS (typ quittance.repayment-receipt.v1+json); present iff state is completed. */
    repaymentReceipt: JwsGeneral.optional(),
    time: Rfc3339Utc,
  })
  .superRefine((v, ctx) => {
    if ((v.state === 'completed') !== (v.repaymentReceipt !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['repaymentReceipt'], message: 'repaymentReceipt is required when, and only when, state is completed' });
    }
  });
export type RepaymentState = z.infer<typeof RepaymentState>;
