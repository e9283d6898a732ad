// Message 1150 (with 1170): the shopper claims a refund at the payment server.
// Signed by the key that countersigned the permit (the recipient's), it names
// the permit, this payment server and WHERE the money goes — the hash of the
// blinded envelopes for fresh coins (mode ecash) or the purse (mode account) —
// so someone who intercepts the countersigned permit cannot redirect the
// refund to their own envelopes or purse: they cannot sign this document.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { PartyId } from '../identity.ts';
import { PaymentMode, PurchaserId, Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const REMITTANCE_REQUEST_TYP = 'quittance.remittance-request.v1+json';

export const RemittanceRequest = z
  .strictObject({
    typ: z.literal(REMITTANCE_REQUEST_TYP),
    permitId: ShortId,
    /** Document hash of the merchant-signed permit (1140). */
    permitHash: Sha256B64u,
    transactionId: ShortId,
    recipientId: PurchaserId,
    paymentServerId: PartyId,
    amount: AmountString,
    mode: PaymentMode,
    /** Mode ecash: remittanceEnvelopesHash (messages/payment.ts) of the envelopes sent with the request. */
    envelopesHash: Sha256B64u.optional(),
    /** Mode account: the purse (registered to recipientId) to credit. */
    purseKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'purseKey: an Ed25519 public key, base64url').optional(),
    time: Rfc3339Utc,
  })
  .superRefine((v, ctx) => {
    if ((v.mode === 'ecash') !== (v.envelopesHash !== undefined)) ctx.addIssue({ code: 'custom', path: ['envelopesHash'], message: 'envelopesHash is required when, and only when, mode is ecash' });
    if ((v.mode === 'account') !== (v.purseKey !== undefined)) ctx.addIssue({ code: 'custom', path: ['purseKey'], message: 'purseKey is required when, and only when, mode is account' });
  });
export type RemittanceRequest = z.infer<typeof RemittanceRequest>;
