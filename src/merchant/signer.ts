// The merchant's certified signing identity (a `merchant`-role chain from
// `quittance ca issue --role merchant` and its encrypted key), and the chain
// of the payment server its invoices name. Both chains are checked at init
// and at start-up against the CA root the merchant's own chain ends at: the
// shop names only a payment server of its own CA.
import type { CryptoErrorCode } from '../crypto/index.ts';
import { partySigner, readPartyChain, type PartyChain, type PartySigner } from '../crypto/party-signer.ts';
import type { Role } from '../protocol/identity.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { certificateToPem, parseCertificateDer, validatePath } from '../protocol/x509/index.ts';
import type { MerchantSetupErrorCode } from './errors.ts';

export type MerchantSigner = PartySigner;

/** The payment server named in invoices (fig. 6 paymentServer, paymentAddress) and sent with 140. */
export type PaymentServerRef = {
  readonly url: string;
  readonly partyId: string;
  readonly displayName: string;
  /** Leaf first, PEM per certificate: the 140 answer's paymentServerChain. */
  readonly chainPem: readonly string[];
};

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
): Promise<Result<PartyChain & { root: Uint8Array }, MerchantSetupErrorCode>> {
  const read = readPartyChain(chainPem, role);
  if (!read.ok) return err(read.code === 'role' ? codes.role : codes.invalid, read.message);
  const x5c = read.value.x5c;
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
  return ok({ ...read.value, root });
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
  const signer = await partySigner(chain.value, keyPem, passphrase);
  if (!signer.ok) return signer.code === 'mismatch' ? err('MERCHANT_KEY_CERT_MISMATCH', signer.message) : err(signer.code, signer.message, signer.details);
  return ok({ signer: signer.value, root: chain.value.root });
}

/** The payment server's chain, checked as a `payment` party under the merchant's CA root. */
export async function loadPaymentServerRef(url: string, chainPem: string, root: Uint8Array, now: Date): Promise<Result<PaymentServerRef, MerchantSetupErrorCode>> {
  const chain = await checkChain(chainPem, 'payment', now, { invalid: 'MERCHANT_PAYMENT_CERT_INVALID', role: 'MERCHANT_PAYMENT_CERT_INVALID' }, root);
  if (!chain.ok) return chain;
  return ok({ url, partyId: chain.value.partyId, displayName: chain.value.displayName, chainPem: chain.value.x5c.map((d) => certificateToPem(d)) });
}
