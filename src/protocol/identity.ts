// Who a party is, as far as the protocol is concerned. A certificate carries a
// stable party id and one role (DESIGN §5); a shop sees only this pseudonym,
// the CA alone can resolve it to the real identity.
import { z } from 'zod';

// `ca` names the CA's own online service (its TLS server identity), never a
// certificate-signing key: signing rights come from basicConstraints alone.
// `operator` is a person running a server (mutual-TLS admin access).
export const ROLES = ['client', 'merchant', 'payment', 'bank', 'notary', 'operator', 'ca'] as const;
export type Role = (typeof ROLES)[number];
export const Role = z.enum(ROLES);

// Party ids are issued by the CA: short, URL- and filename-safe, lower case.
export const PARTY_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const PartyId = z.string().regex(PARTY_ID_PATTERN, 'party id: 1-63 of [a-z0-9._-], starting alphanumeric');
export type PartyId = z.infer<typeof PartyId>;

// The display name is what a wallet's trusted display shows: control
// characters and bidi overrides/isolates ("Trojan Source") could make it render
// as a name the CA never certified, so they are refused at registration.
export const DisplayName = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => s.isWellFormed() && !/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(s), 'display name: no control or bidi-override characters');

/** The verified signer of a document: from a certificate path, or an anonymous per-order key. */
export type SignerIdentity =
  | {
      readonly kind: 'certified';
      readonly partyId: string;
      readonly role: Role;
      readonly displayName: string;
      /** Subject DN of the issuing CA, for display. */
      readonly issuer: string;
      /** SHA-256 of the leaf certificate's DER, lower-case hex. */
      readonly fingerprint: string;
      readonly notBefore: Date;
      readonly notAfter: Date;
    }
  | {
      readonly kind: 'anonymous';
      /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the per-order key: the purchaser id. */
      readonly thumbprint: string;
    };
