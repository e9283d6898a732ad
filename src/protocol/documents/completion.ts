// Message 190: the merchant accepted the receipt copy (210); signed by the
// merchant, it is the shopper's proof that the shop knows it was paid.
import { z } from 'zod';
import { Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const COMPLETION_TYP = 'quittance.completion.v1+json';

export const Completion = z.strictObject({
  typ: z.literal(COMPLETION_TYP),
  transactionId: ShortId,
  receiptHash: Sha256B64u,
  /** An enum, not a boolean, so later states (shipped, …) need no new field. */
  state: z.enum(['paid']),
  time: Rfc3339Utc,
});
export type Completion = z.infer<typeof Completion>;
