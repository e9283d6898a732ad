// Message 1220: the payment server tells the merchant (or answers its query
// 1210) how a permit stands. A completed repayment carries the shopper's signed
// repayment receipt (1190) as evidence, so the merchant need not trust the
// payment server's word alone before closing the order as repaid.
import { z } from 'zod';
import { JwsGeneral, Rfc3339Utc, ShortId } from './fields.ts';

export const REPAYMENT_STATE_TYP = 'quittance.repayment-state.v1+json';

export const RepaymentState = z
  .strictObject({
    typ: z.literal(REPAYMENT_STATE_TYP),
    transactionId: ShortId,
    permitId: ShortId,
    state: z.enum(['pending', 'completed', 'expired']),
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
