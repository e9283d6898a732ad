// Revocation by CRL (RFC 5280 §6.3, subset): complete, direct CRLs only. A CRL
// we cannot fully understand (a critical extension such as an issuing
// distribution point or delta indicator, an indirect entry) is rejected rather
// than half-read, because half-reading a CRL is how a revoked key stays valid.
import { x509 } from './peculiar.ts';
import { signatureAlgorithmOf, type CertAlgorithm } from './algorithms.ts';
import { bytesEqual, innerAlgorithm, readChildren, readSignedEnvelope } from './der.ts';
import { normalizeSerialHex } from './serial.ts';
import { err, ok, type Result } from '../result.ts';

export type ParsedCrl = {
  readonly issuerName: Uint8Array;
  readonly crl: x509.X509Crl;
  readonly algorithm: CertAlgorithm | undefined;
  readonly toBeSigned: Uint8Array;
  readonly signature: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly revokedSerials: ReadonlySet<string>;
  readonly hasCriticalExtension: boolean;
};

export type RevocationCode = 'PROTO_CERT_CRL_INVALID' | 'PROTO_CERT_CRL_MISSING' | 'PROTO_CERT_CRL_STALE' | 'PROTO_CERT_REVOKED';

export function parseCrlForPath(der: Uint8Array): ParsedCrl | undefined {
  const envelope = readSignedEnvelope(der);
  if (!envelope) return undefined;
  const inner = innerAlgorithm(envelope.toBeSigned, 'crl');
  if (!inner || !bytesEqual(inner, envelope.algorithm)) return undefined;
  const tbs = readChildren(envelope.toBeSigned.content);
  // TBSCertList (RFC 5280 §5.1): version?, signature, issuer, thisUpdate, ...
  const base = tbs?.[0]?.tag === 0x02 ? 1 : 0;
  const issuerName = tbs?.[base + 1];
  if (!issuerName) return undefined;
  try {
    const crl = new x509.X509Crl(der.slice());
    let hasCriticalExtension = crl.extensions.some((e) => e.critical);
    const revokedSerials = new Set<string>();
    for (const entry of crl.entries) {
      if (entry.extensions.some((e) => e.critical)) hasCriticalExtension = true;
      revokedSerials.add(normalizeSerialHex(entry.serialNumber));
    }
    return {
      issuerName: issuerName.bytes,
      crl,
      algorithm: signatureAlgorithmOf(envelope.algorithm),
      toBeSigned: envelope.toBeSigned.bytes,
      signature: envelope.signature,
      thisUpdate: crl.thisUpdate,
      nextUpdate: crl.nextUpdate,
      revokedSerials,
      hasCriticalExtension,
    };
  } catch {
    return undefined;
  }
}

export type RevocationPolicy = {
  readonly now: Date;
  readonly crlMaxAgeSeconds: number;
  readonly requireCrl: boolean;
  readonly allowedAlgorithms: readonly CertAlgorithm[];
};

/**
 * Checks one certificate against the CRLs its issuer published. Every CRL that
 * names the issuer must be authentic (a forged or damaged one is an attack or
 * a broken cache: fail), a serial listed in any of them is revoked, and the
 * newest must be fresh: now <= nextUpdate and now - thisUpdate <= crlMaxAge.
 */
// KeyUsage bit as @peculiar/x509 numbers it (RFC 5280 §4.2.1.3).
const KU_CRL_SIGN = 64;

export async function checkRevocation(
  subject: { readonly serialHex: string },
  issuer: { readonly subjectName: Uint8Array; readonly keyAlgorithm: CertAlgorithm; readonly keyUsage: number | undefined },
  crls: readonly ParsedCrl[],
  policy: RevocationPolicy,
  /** Checks the CRL's signature with the issuer's key (memoized by the caller). */
  verifySignature: (crl: ParsedCrl) => Promise<boolean>,
): Promise<Result<void, RevocationCode>> {
  const mine = crls.filter((c) => bytesEqual(c.issuerName, issuer.subjectName));
  if (mine.length === 0) {
    return policy.requireCrl ? err('PROTO_CERT_CRL_MISSING', 'no CRL from the issuer') : ok(undefined);
  }
  // RFC 5280 §6.3.3(f): only a key allowed to sign CRLs may revoke.
  if (((issuer.keyUsage ?? 0) & KU_CRL_SIGN) === 0) return err('PROTO_CERT_CRL_INVALID', 'CRL issuer lacks the cRLSign key usage');
  let newest: ParsedCrl | undefined;
  for (const c of mine) {
    if (!c.algorithm || !policy.allowedAlgorithms.includes(c.algorithm) || c.algorithm !== issuer.keyAlgorithm) {
      return err('PROTO_CERT_CRL_INVALID', 'CRL signature algorithm not allowed for the issuer key');
    }
    if (!(await verifySignature(c))) {
      return err('PROTO_CERT_CRL_INVALID', 'CRL signature does not verify with the issuer key');
    }
    if (c.hasCriticalExtension) return err('PROTO_CERT_CRL_INVALID', 'CRL carries a critical extension we do not process');
    if (!newest || c.thisUpdate > newest.thisUpdate) newest = c;
  }
  for (const c of mine) {
    if (c.revokedSerials.has(subject.serialHex)) return err('PROTO_CERT_REVOKED', 'certificate is revoked', { serial: subject.serialHex });
  }
  if (!newest || !newest.nextUpdate) return err('PROTO_CERT_CRL_STALE', 'CRL has no nextUpdate');
  const now = policy.now.getTime();
  if (now > newest.nextUpdate.getTime()) return err('PROTO_CERT_CRL_STALE', 'CRL is past its nextUpdate');
  if (now - newest.thisUpdate.getTime() > policy.crlMaxAgeSeconds * 1000) return err('PROTO_CERT_CRL_STALE', 'CRL is older than allowed');
  return ok(undefined);
}
