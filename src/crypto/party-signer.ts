// A party's certified signing identity, shared by the servers (payment
// server, merchant, …): a Quittance certificate chain (PEM, leaf first, from
// `quittance ca issue --role ROLE`) and its encrypted private key. Each server
// maps the problems to its own codes; routes only ever see the PartySigner.
import type { JwsAlgorithm } from '../protocol/jws.ts';
import type { Role } from '../protocol/identity.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { parseCertificateDer, readProfile, x509 } from '../protocol/x509/index.ts';
import type { CryptoErrorCode } from './errors.ts';
import { exportSpkiDer } from './keys.ts';
import { decryptPrivateKey } from './private-key-pem.ts';

export type PartySigner = {
  readonly partyId: string;
  readonly displayName: string;
  readonly privateKey: CryptoKey;
  readonly alg: JwsAlgorithm;
  /** The chain as given, leaf first, DER: the JWS x5c. */
  readonly x5c: readonly Uint8Array[];
  readonly notAfter: Date;
};

export type PartyChain = { partyId: string; displayName: string; leafSpki: Uint8Array; x5c: Uint8Array[]; notAfter: Date };


/** Splits a PEM chain (1 to 5 certificates) and checks the leaf is on the Quittance profile with `role`. */
export function readPartyChain(chainPem: string, role: Role): Result<PartyChain, 'invalid' | 'role'> {
  if (typeof chainPem !== 'string') throw new TypeError('chainPem: expected a string');
  let x5c: Uint8Array[];
  try {
    x5c = x509.PemConverter.decodeWithHeaders(chainPem)
      .filter((b) => b.type === 'CERTIFICATE')
      .map((b) => new Uint8Array(b.rawData));
  } catch {
    return err('invalid', 'the certificate file is not PEM');
  }
  if (x5c.length === 0 || x5c.length > 5) return err('invalid', `expected 1 to 5 certificates (leaf first), found ${x5c.length}`);
  const leaf = parseCertificateDer(x5c[0]!);
  if (!leaf.ok) return err('invalid', `the first certificate does not parse: ${leaf.message}`);
  const profile = readProfile(leaf.value);
  if (!profile.ok) return err('invalid', `the first certificate is not a Quittance party certificate: ${profile.message}`);
  if (profile.value.role !== role) return err('role', `the certificate is for role ${profile.value.role}; expected one issued with --role ${role}`);
  return ok({ partyId: profile.value.partyId, displayName: profile.value.displayName, leafSpki: new Uint8Array(leaf.value.publicKey.rawData), x5c, notAfter: leaf.value.notAfter });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Decrypts the key and checks it is the key the chain's leaf certifies.
 * A wrong passphrase is the CRYPTO_… code; another key is 'mismatch'.
 */
export async function partySigner(chain: PartyChain, keyPem: string, passphrase: string): Promise<Result<PartySigner, CryptoErrorCode | 'mismatch'>> {
  const key = await decryptPrivateKey(keyPem, passphrase);
  if (!key.ok) return key;
  if (!sameBytes(await exportSpkiDer(key.value.publicKey), chain.leafSpki)) return err('mismatch', 'the private key is not the key certified by the certificate');
  return ok({
    partyId: chain.partyId,
    displayName: chain.displayName,
    privateKey: key.value.privateKey,
    alg: key.value.alg === 'Ed25519' ? 'EdDSA' : 'ES256',
    x5c: chain.x5c,
    notAfter: chain.notAfter,
  });
}
