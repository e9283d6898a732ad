// Wire messages of the CA's HTTP API (registration "from real to digital
// identity", approval, revocation). Shared by the CA server, the CLI and,
// later, the wallet.
import { z } from 'zod';
import { DisplayName, PartyId, Role } from '../identity.ts';

const Text = (max: number) => z.string().trim().min(1).max(max).refine((s) => !/[\p{Cc}]/u.test(s.replace(/\n/g, '')), 'no control characters');

/** Roles an applicant may ask for by self-registration; operators are issued offline only. */
export const SELF_SERVICE_ROLES = ['client', 'merchant', 'payment', 'bank', 'notary'] as const;

export const RegistrationRequest = z.strictObject({
  realIdentity: z.strictObject({
    name: Text(200),
    postalAddress: Text(500),
    email: z.email().max(254),
  }),
  role: Role,
  /** The pseudonym the certificate will show (a shop's trading name, a shopper's nickname). */
  displayName: DisplayName,
  /** PKCS#10 certificate signing request, PEM, made from the applicant's own key. */
  csr: z.string().min(100).max(8192),
});
export type RegistrationRequest = z.infer<typeof RegistrationRequest>;

export const RegistrationStatus = z.enum(['pending', 'approved', 'rejected']);

export const RegistrationView = z.strictObject({
  registrationId: z.string(),
  status: RegistrationStatus,
  role: Role,
  displayName: z.string(),
  partyId: PartyId.optional(),
  /** Leaf certificate, PEM (present once approved). */
  certificate: z.string().optional(),
  /** Leaf first, then the CA chain, PEM (present once approved). */
  chain: z.array(z.string()).optional(),
  rejectReason: z.string().optional(),
  createdAt: z.string(),
});
export type RegistrationView = z.infer<typeof RegistrationView>;

export const ApproveRequest = z.strictObject({
  /** How the operator checked the real identity; kept with the registration. */
  identityCheck: Text(500),
  /** Optional party id chosen by the operator (e.g. a shop's agreed id); generated otherwise. */
  partyId: PartyId.optional(),
});
export type ApproveRequest = z.infer<typeof ApproveRequest>;

export const RejectRequest = z.strictObject({ reason: Text(500) });

// RFC 5280 §5.3.1 reason codes we allow an operator to state.
export const REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
] as const;
export const RevocationReason = z.enum(REVOCATION_REASONS);
export type RevocationReason = z.infer<typeof RevocationReason>;

export const RevokeRequest = z.strictObject({ reason: RevocationReason });

/** Certificate serial as lower-case hex, as the CA prints it. */
export const SerialHex = z.string().regex(/^[0-9a-f]{2,40}$/, 'serial: lower-case hex');

export const CertificateView = z.strictObject({
  serial: z.string(),
  partyId: z.string(),
  role: z.string(),
  displayName: z.string(),
  fingerprint: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  revokedAt: z.string().optional(),
  revocationReason: z.string().optional(),
  registrationId: z.string().optional(),
});
export type CertificateView = z.infer<typeof CertificateView>;
