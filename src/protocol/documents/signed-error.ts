// Message 220: a refusal signed by its sender (the merchant rejecting a receipt,
// step 670), so that a refusal is evidence too and cannot be forged by a relay.
import { z } from 'zod';
import { Rfc3339Utc, Sha256B64u, ShortId, Text } from './fields.ts';

export const SIGNED_ERROR_TYP = 'quittance.error.v1+json';

export const SignedError = z.strictObject({
  typ: z.literal(SIGNED_ERROR_TYP),
  transactionId: ShortId,
  /** A stable error code such as MERCHANT_RECEIPT_INVALID. */
  code: z.string().regex(/^[A-Z][A-Z0-9_]{2,63}$/, 'code: UPPER_SNAKE_CASE, 3-64 chars'),
  message: Text(500),
  /** Document hash of the document refused, when there is one. */
  subjectHash: Sha256B64u.optional(),
  time: Rfc3339Utc,
});
export type SignedError = z.infer<typeof SignedError>;
