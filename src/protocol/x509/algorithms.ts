// The only signature algorithms the project accepts (DESIGN §5): Ed25519
// (RFC 8410) and ECDSA P-256 with SHA-256 (RFC 5758). Everything else, RSA and
// SHA-1 included, fails closed with PROTO_CERT_ALG_NOT_ALLOWED.
import { bytesEqual, readChildren, readTlv } from './der.ts';

export const CERT_ALGORITHMS = ['Ed25519', 'ES256'] as const;
export type CertAlgorithm = (typeof CERT_ALGORITHMS)[number];

/** Exact DER of the AlgorithmIdentifier: RFC 8410 §3 (parameters absent), RFC 5758 §3.2 (absent). */
const ALGORITHM_DER: Record<CertAlgorithm, Uint8Array> = {
  Ed25519: Uint8Array.of(0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70),
  ES256: Uint8Array.of(0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02),
};

export function signatureAlgorithmOf(algorithmDer: Uint8Array): CertAlgorithm | undefined {
  for (const name of CERT_ALGORITHMS) if (bytesEqual(algorithmDer, ALGORITHM_DER[name])) return name;
  return undefined;
}

/** WebCrypto parameters for key generation, import and signing. */
export function keyAlgorithm(alg: CertAlgorithm): { name: 'Ed25519' } | { name: 'ECDSA'; namedCurve: 'P-256' } {
  return alg === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
}

export function signingParams(alg: CertAlgorithm): { name: 'Ed25519' } | { name: 'ECDSA'; hash: 'SHA-256' } {
  return alg === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
}

/** Which of our algorithms a CryptoKey belongs to, or undefined. */
export function algorithmOfKey(key: CryptoKey): CertAlgorithm | undefined {
  const a = key.algorithm as { name?: string; namedCurve?: string };
  if (a.name === 'Ed25519') return 'Ed25519';
  if (a.name === 'ECDSA' && a.namedCurve === 'P-256') return 'ES256';
  return undefined;
}

// SubjectPublicKeyInfo algorithm identifiers: RFC 8410 §3 and RFC 5480 §2.1.1.
const SPKI_ED25519 = Uint8Array.of(0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70);
const SPKI_P256 = Uint8Array.of(
  0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
);

/** Imports an SPKI for verification if it is an Ed25519 or P-256 key; undefined otherwise. */
export async function importSpki(spki: Uint8Array): Promise<{ key: CryptoKey; alg: CertAlgorithm } | undefined> {
  const outer = readTlv(spki, 0);
  if (!outer || outer.tag !== 0x30 || outer.bytes.length !== spki.length) return undefined;
  const algId = readChildren(outer.content)?.[0];
  if (!algId) return undefined;
  const alg: CertAlgorithm | undefined = bytesEqual(algId.bytes, SPKI_ED25519)
    ? 'Ed25519'
    : bytesEqual(algId.bytes, SPKI_P256)
      ? 'ES256'
      : undefined;
  if (!alg) return undefined;
  try {
    const key = await crypto.subtle.importKey('spki', spki.slice(), keyAlgorithm(alg), true, ['verify']);
    return { key, alg };
  } catch {
    return undefined; // not a point on the curve, wrong length, ...
  }
}

/**
 * ECDSA-Sig-Value (RFC 3279 §2.2.3) to the fixed-width r||s form WebCrypto wants.
 * Strict: positive minimal INTEGERs, each at most 32 octets.
 */
export function ecdsaDerToRaw(sig: Uint8Array): Uint8Array | undefined {
  const seq = readTlv(sig, 0);
  if (!seq || seq.tag !== 0x30 || seq.bytes.length !== sig.length) return undefined;
  const ints = readChildren(seq.content);
  if (!ints || ints.length !== 2) return undefined;
  const out = new Uint8Array(64);
  for (const [i, int] of ints.entries()) {
    let v = int.content;
    if (int.tag !== 0x02 || v.length === 0 || (v[0] ?? 0) & 0x80) return undefined;
    if (v.length > 1 && v[0] === 0 && !((v[1] ?? 0) & 0x80)) return undefined; // non-minimal
    if (v[0] === 0) v = v.subarray(1);
    if (v.length > 32) return undefined;
    out.set(v, i * 32 + (32 - v.length));
  }
  return out;
}

/** Verifies an X.509-style signature (DER ECDSA or raw Ed25519) over exact bytes. */
export async function verifyX509Signature(
  alg: CertAlgorithm,
  key: CryptoKey,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  const sig = alg === 'ES256' ? ecdsaDerToRaw(signature) : signature;
  if (!sig) return false;
  try {
    return await crypto.subtle.verify(signingParams(alg), key, sig.slice(), data.slice());
  } catch {
    return false;
  }
}
