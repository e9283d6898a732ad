// The CA's tables. Prefixed `ca_` so the CA can share a database (or a
// PostgreSQL schema) with other services without name clashes.
import type { Generated } from 'kysely';

export type RegistrationStatus = 'pending' | 'approved' | 'rejected';

export interface CaRegistrationTable {
  id: string;
  status: RegistrationStatus;
  // The real identity (SEMPER: "from real to digital identity"). Only the CA
  // ever sees these; the certificate carries party id and display name only.
  real_name: string;
  postal_address: string;
  email: string;
  requested_role: string;
  display_name: string;
  csr_pem: string;
  /** SHA-256 (hex) of the CSR's SubjectPublicKeyInfo: one key, one live registration. */
  spki_sha256: string;
  party_id: string | null;
  created_at: string;
  decided_at: string | null;
  decided_by: string | null;
  /** How the operator checked the real identity (e.g. "passport seen at desk 3"). */
  identity_check: string | null;
  reject_reason: string | null;
  certificate_serial: string | null;
}

export interface CaCertificateTable {
  serial: string;
  registration_id: string | null;
  party_id: string;
  role: string;
  display_name: string;
  spki_sha256: string;
  pem: string;
  fingerprint: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  revoked_at: string | null;
  revocation_reason: string | null;
}

export interface CaCrlTable {
  number: Generated<number> | number;
  this_update: string;
  next_update: string;
  der_base64: string;
  revoked_count: number;
}

export interface CaDatabase {
  ca_registrations: CaRegistrationTable;
  ca_certificates: CaCertificateTable;
  ca_crls: CaCrlTable;
}
