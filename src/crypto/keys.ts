// Signing keys are WebCrypto CryptoKeys: jose and @peculiar/x509 take them as
// they are, and the wallet will use the same type in a browser.
//
// A CryptoKey never prints its material: util.inspect shows type, algorithm and
// usages only, and JSON.stringify gives "{}" (test/crypto/keys.test.ts checks).

export type KeyAlgorithmName = 'Ed25519' | 'P-256';

export type SigningAlgorithm = { name: 'Ed25519' } | { name: 'ECDSA'; namedCurve: 'P-256' };

export function signingAlgorithm(alg: KeyAlgorithmName): SigningAlgorithm {
  if (alg === 'Ed25519') return { name: 'Ed25519' };
  if (alg === 'P-256') return { name: 'ECDSA', namedCurve: 'P-256' };
  throw new TypeError(`alg: expected "Ed25519" or "P-256", got ${JSON.stringify(alg)}`);
}

/** Which of our two algorithms a key is for, or undefined for any other key. */
export function keyAlgorithmOf(key: CryptoKey): KeyAlgorithmName | undefined {
  const a = key.algorithm as { name: string; namedCurve?: string };
  if (a.name === 'Ed25519') return 'Ed25519';
  if (a.name === 'ECDSA' && a.namedCurve === 'P-256') return 'P-256';
  return undefined;
}

/** A fresh key pair; the private key is extractable so it can be encrypted to disk. */
export async function generateKeyPair(alg: KeyAlgorithmName): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(signingAlgorithm(alg), true, ['sign', 'verify'])) as CryptoKeyPair;
}

function assertPublic(key: CryptoKey): void {
  if (!(key instanceof CryptoKey) || key.type !== 'public') throw new TypeError('publicKey: expected a public CryptoKey');
}

/** SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7), e.g. for fingerprints and CSRs. */
export async function exportSpkiDer(publicKey: CryptoKey): Promise<Uint8Array> {
  assertPublic(publicKey);
  return new Uint8Array(await crypto.subtle.exportKey('spki', publicKey));
}

/** Public JWK (RFC 7517). Refuses private keys, so a "d" member can never leak through here. */
export async function exportPublicJwk(publicKey: CryptoKey): Promise<JsonWebKey> {
  assertPublic(publicKey);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
  return y === undefined ? { kty, crv, x } : { kty, crv, x, y };
}
