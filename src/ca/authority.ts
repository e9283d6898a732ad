// The CA's signing identity: its certificate and private key, and the only
// place where the CA touches certificate crypto. Routes and services see this
// narrow interface, never the key.
import type { Role } from '../protocol/identity.ts';
import type { RevocationReason } from '../protocol/messages/ca.ts';

export type CsrInfo = {
  /** The CSR's SubjectPublicKeyInfo, DER (its self-signature checked). */
  spki: Uint8Array;
  /** SHA-256 (hex) of the SubjectPublicKeyInfo. */
  spkiSha256: string;
};

export type IssueRequest = {
  /** SubjectPublicKeyInfo (DER) or public key to certify. */
  subjectPublicKey: Uint8Array | CryptoKey;
  partyId: string;
  displayName: string;
  role: Role;
  notBefore: Date;
  notAfter: Date;
  serial: Uint8Array;
  /** SAN DNS names for TLS server certificates. */
  dnsNames?: readonly string[];
};

/** What was really issued: the validity may be clamped to the CA's own. */
export type IssuedCertificate = { pem: string; fingerprint: string; serialHex: string; notBefore: Date; notAfter: Date };

export type CrlEntry = { serialHex: string; revokedAt: Date; reason: RevocationReason };

export interface Authority {
  /** The CA chain, PEM, the issuing certificate first (today: just the root). */
  readonly chainPem: readonly string[];
  /** Parses and checks a CSR (self-signature, allowed key type). */
  inspectCsr(csrPem: string): Promise<{ ok: true; value: CsrInfo } | { ok: false; code: 'CA_CSR_INVALID' | 'CA_CSR_KEY_NOT_ALLOWED'; message: string }>;
  issue(req: IssueRequest): Promise<IssuedCertificate>;
  makeCrl(args: { number: number; thisUpdate: Date; nextUpdate: Date; entries: readonly CrlEntry[] }): Promise<Uint8Array>;
}
