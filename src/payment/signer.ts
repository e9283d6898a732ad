// The payment server's certified signing identity: a `payment`-role
// certificate chain from the CA (`quittance ca issue --role payment`) and its
// encrypted private key. It signs the denomination key list (and, later,
// receipts); routes see this narrow object, never the key file.
import { decryptPrivateKey, exportSpkiDer, type CryptoErrorCode } from '../crypto/index.ts';
import type { JwsAlgorithm } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { parseCertificateDer, readProfile, x509 } from '../protocol/x509/index.ts';
import type { PaySetupErrorCode } from './errors.ts';

export type PaymentSigner = {
  readonly partyId: string;
  readonly displayName: string;
  readonly privateKey: CryptoKey;
  readonly alg: JwsAlgorithm;
  /** The chain as given, leaf first, DER: the JWS x5c. */
  readonly x5c: readonly Uint8Array[];
  readonly notAfter: Date;
};

type Checked = { partyId: string; displayName: string; leafSpki: Uint8Array; x5c: Uint8Array[]; notAfter: Date };

/** Splits a PEM chain into DER certificates and checks that the leaf is a `payment` certificate on the Quittance profile. */
export function checkPaymentChain(chainPem: string): Result<Checked, PaySetupErrorCode> {
  if (typeof chainPem !== 'string') throw new TypeError('chainPem: expected a string');
  let x5c: Uint8Array[];
  try {
    x5c = x509.PemConverter.decodeWithHeaders(chainPem)
      .filter((b) => b.type === 'CERTIFICATE')
      .map((b) => new Uint8Array(b.rawData));
  } catch {
    return err('PAY_CERT_INVALID', 'the certificate file is not PEM');
  }
  if (x5c.length === 0 || x5c.length > 5) return err('PAY_CERT_INVALID', `expected 1 to 5 certificates (leaf first), found ${x5c.length}`);
  const leaf = parseCertificateDer(x5c[0]!);
  if (!leaf.ok) return err('PAY_CERT_INVALID', `the first certificate does not parse: ${leaf.message}`);
  const profile = readProfile(leaf.value);
  if (!profile.ok) return err('PAY_CERT_INVALID', `the first certificate is not a Quittance party certificate: ${profile.message}`);
  if (profile.value.role !== 'payment') {
    return err('PAY_CERT_ROLE_NOT_PAYMENT', `the certificate is for role ${profile.value.role}; a payment server needs one issued with --role payment`);
  }
  return ok({
    partyId: profile.value.partyId,
    displayName: profile.value.displayName,
    leafSpki: new Uint8Array(leaf.value.publicKey.rawData),
    x5c,
    notAfter: leaf.value.notAfter,
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Decrypts the key, checks it is the key the leaf certifies, and returns the
 * signer. A wrong passphrase is the crypto module's CRYPTO_… code.
 */
export async function loadPaymentSigner(chainPem: string, keyPem: string, passphrase: string): Promise<Result<PaymentSigner, PaySetupErrorCode | CryptoErrorCode>> {
  const chain = checkPaymentChain(chainPem);
  if (!chain.ok) return chain;
  const key = await decryptPrivateKey(keyPem, passphrase);
  if (!key.ok) return key;
  if (!sameBytes(await exportSpkiDer(key.value.publicKey), chain.value.leafSpki)) {
    return err('PAY_KEY_CERT_MISMATCH', 'the private key is not the key certified by the certificate');
  }
  return ok({
    partyId: chain.value.partyId,
    displayName: chain.value.displayName,
    privateKey: key.value.privateKey,
    alg: key.value.alg === 'Ed25519' ? 'EdDSA' : 'ES256',
    x5c: chain.value.x5c,
    notAfter: chain.value.notAfter,
  });
}
