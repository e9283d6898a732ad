// Public surface of the X.509 module.
export { CERT_ALGORITHMS, type CertAlgorithm } from './algorithms.ts';
export {
  certificateToPem,
  crlToPem,
  fingerprintSha256,
  formatFingerprint,
  parseCertificateDer,
  parseCertificatePem,
  parseCrlDer,
  pemToDer,
} from './certificate.ts';
export { issueCrl, CRL_REASONS, type CrlEntry, type CrlReason, type IssueCrlParams, type IssuedCrl } from './crl.ts';
export { issueFromCsr, readCsrPublicKey, type CsrCode, type IssueFromCsrParams } from './csr.ts';
export {
  createRootCa,
  issueIntermediate,
  issueLeaf,
  type CreateRootCaParams,
  type IssuedCertificate,
  type IssueIntermediateParams,
  type IssueLeafParams,
  type Issuer,
} from './issue.ts';
export { x509 } from './peculiar.ts';
export { readProfile, OID_USER_ID, PARTY_URI_PREFIX, ROLE_URI_PREFIX, type CertificateProfile } from './profile.ts';
export { normalizeSerialHex, serialFromBytes, serialHexFromDisplay } from './serial.ts';
export {
  validatePath,
  DEFAULT_MAX_DEPTH,
  type CertifiedIdentity,
  type PathCode,
  type PathPolicy,
  type ValidatedPath,
} from './validate-path.ts';
export { createVerificationCache, VerificationCache, type VerificationCacheOptions } from './verification-cache.ts';
