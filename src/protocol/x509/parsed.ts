// One certificate, parsed once, with the exact signed bytes kept aside. Every
// field a path check needs is read here, inside one try, so a malformed
// extension is PROTO_CERT_MALFORMED rather than an exception later.
import { x509 } from './peculiar.ts';
import { signatureAlgorithmOf, type CertAlgorithm } from './algorithms.ts';
import { MAX_DER_BYTES } from './certificate.ts';
import { bytesEqual, innerAlgorithm, readChildren, readSignedEnvelope, type SignedEnvelope } from './der.ts';
import { normalizeSerialHex } from './serial.ts';

export type ParsedCertificate = {
  readonly der: Uint8Array;
  readonly cert: x509.X509Certificate;
  readonly envelope: SignedEnvelope;
  /** undefined when the signature algorithm is not one we accept. */
  readonly signatureAlgorithm: CertAlgorithm | undefined;
  /** Raw DER of issuer and subject Names: compared byte for byte, never re-encoded. */
  readonly issuerName: Uint8Array;
  readonly subjectName: Uint8Array;
  readonly spki: Uint8Array;
  readonly extensions: readonly { readonly oid: string; readonly critical: boolean }[];
  readonly basicConstraints: { readonly ca: boolean; readonly pathLength: number | undefined } | undefined;
  readonly keyUsage: number | undefined;
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Normalized serial (serial.ts), as CRL entries are compared. */
  readonly serialHex: string;
  /** Issuer DN as text, for display in the signer identity. */
  readonly issuer: string;
};

export function parseForPath(der: Uint8Array): ParsedCertificate | undefined {
  if (der.length === 0 || der.length > MAX_DER_BYTES) return undefined;
  const envelope = readSignedEnvelope(der);
  if (!envelope) return undefined;
  const inner = innerAlgorithm(envelope.toBeSigned, 'certificate');
  if (!inner || !bytesEqual(inner, envelope.algorithm)) return undefined;
  const tbs = readChildren(envelope.toBeSigned.content);
  if (!tbs) return undefined;
  // TBSCertificate (RFC 5280 §4.1): [0] version, serial, signature, issuer, validity, subject, spki, ...
  const base = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const issuerName = tbs[base + 2];
  const subjectName = tbs[base + 4];
  const spki = tbs[base + 5];
  if (!issuerName || !subjectName || !spki) return undefined;
  try {
    const cert = new x509.X509Certificate(der.slice());
    const extensions = cert.extensions.map((e) => ({ oid: e.type, critical: e.critical }));
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (new Set(extensions.map((e) => e.oid)).size !== extensions.length) return undefined;
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
    return {
      der,
      cert,
      envelope,
      signatureAlgorithm: signatureAlgorithmOf(envelope.algorithm),
      issuerName: issuerName.bytes,
      subjectName: subjectName.bytes,
      spki: spki.bytes,
      extensions,
      basicConstraints: bc ? { ca: bc.ca, pathLength: bc.pathLength } : undefined,
      keyUsage: ku ? ku.usages : undefined,
      subjectKeyId: ski?.keyId.toLowerCase(),
      authorityKeyId: aki?.keyId?.toLowerCase(),
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      serialHex: normalizeSerialHex(cert.serialNumber),
      issuer: cert.issuer,
    };
  } catch {
    return undefined;
  }
}
