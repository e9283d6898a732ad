// The merchant's certified signing identity (a `merchant`-role chain from
// `quittance ca issue --role merchant` and its encrypted key), and the chain
// of the payment server its invoices name. Both chains are checked at init
// and at start-up against the CA root the merchant's own chain ends at: the
// shop names only a payment server of its own CA.
import { decryptPrivateKey, exportSpkiDer, type CryptoErrorCode } from '../crypto/index.ts';
import type { Role } from '../protocol/identity.ts';
import type { JwsAlgorithm } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { certificateToPem, parseCertificateDer, readProfile, validatePath, x509 } from '../protocol/x509/index.ts';
import type { MerchantSetupErrorCode } from './errors.ts';

export type MerchantSigner = {
  readonly partyId: string;
  readonly displayName: string;
  readonly privateKey: CryptoKey;
  readonly alg: JwsAlgorithm;
  /** The chain as given, leaf first, DER: the JWS x5c. */
  readonly x5c: readonly Uint8Array[];
  readonly notAfter: Date;
};

/** The payment server named in invoices (fig. 6 paymentServer, paymentAddress) and sent with 140. */
export type PaymentServerRef = {
  readonly url: string;
  readonly partyId: string;
  readonly displayName: string;
  /** Leaf first, PEM per certificate: the 140 answer's paymentServerChain. */
  readonly chainPem: readonly string[];
};

type CheckedChain = { partyId: string; displayName: string; leafSpki: Uint8Array; x5c: Uint8Array[]; notAfter: Date };

function splitPem(chainPem: string): Uint8Array[] | undefined {
  try {
    return x509.PemConverter.decodeWithHeaders(chainPem)
      .filter((b) => b.type === 'CERTIFICATE')
      .map((b) => new Uint8Array(b.rawData));
  } catch {
    return undefined;
  }
}

/**
 * Splits a PEM chain and checks it: 1 to 5 certificates, the leaf on the
 * Quittance profile with `role`, and — against `anchor` (default: the chain's
 * own last certificate, which must then be a self-signed root) — a valid path
 * now. No CRL: revocation is the CA's to announce, checked where documents are.
 */
export async function checkChain(
  chainPem: string,
  role: Role,
  now: Date,
  codes: { invalid: MerchantSetupErrorCode; role: MerchantSetupErrorCode },
  anchor?: Uint8Array,
): Promise<Result<CheckedChain & { root: Uint8Array }, MerchantSetupErrorCode>> {
  if (typeof chainPem !== 'string') throw new TypeError('chainPem: expected a string');
  const x5c = splitPem(chainPem);
  if (!x5c) return err(codes.invalid, 'the certificate file is not PEM');
  if (x5c.length === 0 || x5c.length > 5) return err(codes.invalid, `expected 1 to 5 certificates (leaf first), found ${x5c.length}`);
  const leaf = parseCertificateDer(x5c[0]!);
  if (!leaf.ok) return err(codes.invalid, `the first certificate does not parse: ${leaf.message}`);
  const profile = readProfile(leaf.value);
  if (!profile.ok) return err(codes.invalid, `the first certificate is not a Quittance party certificate: ${profile.message}`);
  if (profile.value.role !== role) return err(codes.role, `the certificate is for role ${profile.value.role}; expected one issued with --role ${role}`);
  let root = anchor;
  if (!root) {
    const last = parseCertificateDer(x5c[x5c.length - 1]!);
    if (x5c.length < 2 || !last.ok || !(await last.value.isSelfSigned())) {
      return err(codes.invalid, 'the chain must end at the CA root (chain.pem of `quittance ca issue`)');
    }
    root = x5c[x5c.length - 1]!;
  }
  const path = await validatePath(x5c, { trustAnchors: [root], crls: [], requireCrl: false, crlMaxAgeSeconds: 0, now, expectedRoles: [role] });
  if (!path.ok) return err(codes.invalid, `the chain does not validate: ${path.code} (${path.message})`);
  return ok({
    partyId: profile.value.partyId,
    displayName: profile.value.displayName,
    leafSpki: new Uint8Array(leaf.value.publicKey.rawData),
    x5c,
    notAfter: leaf.value.notAfter,
    root,
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Decrypts the key, checks it is the key the leaf certifies, and returns the
 * signer and the CA root its chain ends at. A wrong passphrase is the crypto
 * module's CRYPTO_… code.
 */
export async function loadMerchantSigner(
  chainPem: string,
  keyPem: string,
  passphrase: string,
  now: Date,
): Promise<Result<{ signer: MerchantSigner; root: Uint8Array }, MerchantSetupErrorCode | CryptoErrorCode>> {
  const chain = await checkChain(chainPem, 'merchant', now, { invalid: 'MERCHANT_CERT_INVALID', role: 'MERCHANT_CERT_ROLE_NOT_MERCHANT' });
  if (!chain.ok) return chain;
  const key = await decryptPrivateKey(keyPem, passphrase);
  if (!key.ok) return key;
  if (!sameBytes(await exportSpkiDer(key.value.publicKey), chain.value.leafSpki)) {
    return err('MERCHANT_KEY_CERT_MISMATCH', 'the private key is not the key certified by the certificate');
  }
  return ok({
    signer: {
      partyId: chain.value.partyId,
      displayName: chain.value.displayName,
      privateKey: key.value.privateKey,
      alg: key.value.alg === 'Ed25519' ? 'EdDSA' : 'ES256',
      x5c: chain.value.x5c,
      notAfter: chain.value.notAfter,
    },
    root: chain.value.root,
  });
}

/** The payment server's chain, checked as a `payment` party under the merchant's CA root. */
export async function loadPaymentServerRef(url: string, chainPem: string, root: Uint8Array, now: Date): Promise<Result<PaymentServerRef, MerchantSetupErrorCode>> {
  const chain = await checkChain(chainPem, 'payment', now, { invalid: 'MERCHANT_PAYMENT_CERT_INVALID', role: 'MERCHANT_PAYMENT_CERT_INVALID' }, root);
  if (!chain.ok) return chain;
  return ok({ url, partyId: chain.value.partyId, displayName: chain.value.displayName, chainPem: chain.value.x5c.map((d) => certificateToPem(d)) });
}
