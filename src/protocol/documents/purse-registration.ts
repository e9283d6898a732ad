// Mode `account` (DESIGN §2 "payment modes"): a purse is a reserve that is
// identified. The shopper binds a reserve key (the purse key, derived from the
// wallet seed) to its certified identity with this document, signed by its
// certified `client` key; the purse key co-signs the same binding
// (purseRegistrationSigningBytes in messages/payment.ts), so nobody can claim
// somebody else's reserve as their purse. Loaded through the bank exactly like
// a reserve (subject = the purse key); debited against an invoice whose
// purchaser is this party (POST /v1/payments/account).
import { z } from 'zod';
import { PartyId } from '../identity.ts';
import { Rfc3339Utc } from './fields.ts';

export const PURSE_REGISTRATION_TYP = 'quittance.purse-registration.v1+json';

export const PurseRegistration = z.strictObject({
  typ: z.literal(PURSE_REGISTRATION_TYP),
  /** The certified shopper who owns the purse: the signer's party id. */
  partyId: PartyId,
  /** Ed25519 public key, base64url (43 characters): the purse's reserve key. */
  purseKey: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'purseKey: an Ed25519 public key, base64url'),
  /** The payment server that keeps the purse: a registration cannot be replayed to another one. */
  paymentServerId: PartyId,
  time: Rfc3339Utc,
});
export type PurseRegistration = z.infer<typeof PurseRegistration>;
