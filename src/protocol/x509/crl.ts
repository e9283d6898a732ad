// CRL issuance (RFC 5280 §5): v2, with cRLNumber and authorityKeyIdentifier,
// and always a nextUpdate, because relying parties fail closed once it passes.
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { x509 } from './peculiar.ts';
import { algorithmOfKey, signingParams } from './algorithms.ts';
import { crlToPem, fromHex, toHex } from './certificate.ts';
import { normalizeSerialHex } from './serial.ts';
import type { Issuer } from './issue.ts';

export const CRL_REASONS = [
  'unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded',
  'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise',
] as const;
export type CrlReason = (typeof CRL_REASONS)[number];

export type CrlEntry = {
  /** The certificate's serial: INTEGER content as hex (as X509Certificate.serialNumber gives it) or bytes. */
  readonly serial: string | Uint8Array;
  readonly revocationDate: Date;
  readonly reason?: CrlReason;
};

export type IssueCrlParams = {
  readonly issuer: Issuer;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: readonly CrlEntry[];
  /** Monotonic per CA (RFC 5280 §5.2.3). */
  readonly crlNumber: number;
};

export type IssuedCrl = { readonly der: Uint8Array; readonly pem: string };

function serialHex(serial: string | Uint8Array): string {
  const hex = typeof serial === 'string' ? serial : serial instanceof Uint8Array ? toHex(serial) : undefined;
  if (hex === undefined || !fromHex(hex) || hex.length === 0) throw new TypeError('entries[].serial must be hex or bytes');
  return normalizeSerialHex(hex);
}

export async function issueCrl(p: IssueCrlParams): Promise<IssuedCrl> {
  if (!p || !(p.issuer?.certificate instanceof Uint8Array)) throw new TypeError('issuer.certificate must be DER bytes');
  const key = p.issuer.privateKey;
  const alg = key instanceof CryptoKey && key.type === 'private' ? algorithmOfKey(key) : undefined;
  if (!alg) throw new TypeError('issuer.privateKey must be an Ed25519 or P-256 private key');
  for (const [name, d] of [['thisUpdate', p.thisUpdate], ['nextUpdate', p.nextUpdate]] as const) {
    if (!(d instanceof Date) || Number.isNaN(d.getTime()) || d.getTime() % 1000 !== 0) throw new TypeError(`${name} must be a Date in whole seconds`);
  }
  if (p.nextUpdate <= p.thisUpdate) throw new TypeError('nextUpdate must be after thisUpdate');
  if (!Number.isSafeInteger(p.crlNumber) || p.crlNumber < 0) throw new TypeError('crlNumber must be a non-negative integer');
  const entriesIn: readonly CrlEntry[] = p.entries;
  if (!Array.isArray(entriesIn)) throw new TypeError('entries must be an array');
  const issuer = new x509.X509Certificate(p.issuer.certificate.slice());
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new TypeError('issuer certificate has no subjectKeyIdentifier');
  const entries = entriesIn.map((e: CrlEntry, i: number) => {
    if (!(e.revocationDate instanceof Date) || Number.isNaN(e.revocationDate.getTime())) throw new TypeError(`entries[${i}].revocationDate must be a Date`);
    if (e.reason !== undefined && !CRL_REASONS.includes(e.reason)) throw new TypeError(`entries[${i}].reason is unknown`);
    return {
      serialNumber: serialHex(e.serial),
      revocationDate: e.revocationDate,
      ...(e.reason !== undefined ? { reason: x509.X509CrlReason[e.reason] } : {}),
    };
  });
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate: p.thisUpdate,
    nextUpdate: p.nextUpdate,
    signingKey: key,
    signingAlgorithm: signingParams(alg),
    entries,
    extensions: [
      new x509.Extension(asn1X509.id_ce_cRLNumber, false, AsnConvert.serialize(new asn1X509.CRLNumber(p.crlNumber))),
      new x509.AuthorityKeyIdentifierExtension(ski.keyId, false),
    ],
  });
  const der = new Uint8Array(crl.rawData);
  return { der, pem: crlToPem(der) };
}
