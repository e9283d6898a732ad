// Parsing, encoding and fingerprints of certificates and CRLs.
import { x509 } from './peculiar.ts';
import { err, ok, type Result } from '../result.ts';

/** Upper bound on one certificate or CRL: far above ours, low enough to stop memory abuse. */
export const MAX_DER_BYTES = 64 * 1024;

function asBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  return value;
}

export function parseCertificateDer(der: Uint8Array): Result<x509.X509Certificate, 'PROTO_CERT_MALFORMED'> {
  asBytes(der, 'der');
  if (der.length === 0 || der.length > MAX_DER_BYTES) return err('PROTO_CERT_MALFORMED', 'certificate size out of range');
  try {
    return ok(new x509.X509Certificate(der.slice()));
  } catch {
    return err('PROTO_CERT_MALFORMED', 'certificate is not valid DER X.509');
  }
}

export function parseCertificatePem(pem: string): Result<x509.X509Certificate, 'PROTO_CERT_MALFORMED'> {
  const der = pemToDer(pem, 'CERTIFICATE');
  return der ? parseCertificateDer(der) : err('PROTO_CERT_MALFORMED', 'not a PEM certificate');
}

export function parseCrlDer(der: Uint8Array): Result<x509.X509Crl, 'PROTO_CERT_CRL_INVALID'> {
  asBytes(der, 'der');
  if (der.length === 0 || der.length > 16 * MAX_DER_BYTES) return err('PROTO_CERT_CRL_INVALID', 'CRL size out of range');
  try {
    return ok(new x509.X509Crl(der.slice()));
  } catch {
    return err('PROTO_CERT_CRL_INVALID', 'CRL is not valid DER');
  }
}

function toPem(der: Uint8Array, label: string): string {
  asBytes(der, 'der');
  // Trailing newline so that PEM files can be concatenated (RFC 7468 §2).
  return `${x509.PemConverter.encode(der.slice().buffer, label)}\n`;
}

export function certificateToPem(der: Uint8Array): string {
  return toPem(der, 'CERTIFICATE');
}

export function crlToPem(der: Uint8Array): string {
  return toPem(der, 'X509 CRL');
}

/** DER of the first PEM block with this label, or undefined. */
export function pemToDer(pem: string, label: 'CERTIFICATE' | 'X509 CRL' | 'CERTIFICATE REQUEST'): Uint8Array | undefined {
  if (typeof pem !== 'string') throw new TypeError('pem must be a string');
  try {
    const blocks = x509.PemConverter.decodeWithHeaders(pem).filter((b) => b.type === label);
    const first = blocks[0];
    return first ? new Uint8Array(first.rawData) : undefined;
  } catch {
    return undefined;
  }
}

/** SHA-256 of the DER, lower-case hex: the identity field (SignerIdentity.fingerprint). */
export async function fingerprintSha256(der: Uint8Array): Promise<string> {
  const bytes = asBytes(der, 'der').slice();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return toHex(digest);
}

/** For display: "AB:CD:...", the form `openssl x509 -fingerprint -sha256` prints. */
export function formatFingerprint(hex: string): string {
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new TypeError('hex must be a lower-case SHA-256 hex string');
  return hex.toUpperCase().match(/../g)!.join(':');
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
