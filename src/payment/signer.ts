// The payment server's certified signing identity: a `payment`-role
// certificate chain from the CA (`quittance ca issue --role payment`) and its
// encrypted private key (src/crypto/party-signer.ts). It signs the
// denomination key list, money reception responses and receipts; routes see
// this narrow object, never the key file.
import { partySigner, readPartyChain, type PartySigner } from '../crypto/party-signer.ts';
import type { CryptoErrorCode } from '../crypto/index.ts';
import { err, type Result } from '../protocol/result.ts';
import type { PaySetupErrorCode } from './errors.ts';

export type PaymentSigner = PartySigner;

/**
 * Checks the chain is a `payment` certificate, decrypts the key and checks it
 * is the certified key. A wrong passphrase is the crypto module's CRYPTO_… code.
 */
export async function loadPaymentSigner(chainPem: string, keyPem: string, passphrase: string): Promise<Result<PaymentSigner, PaySetupErrorCode | CryptoErrorCode>> {
  const chain = readPartyChain(chainPem, 'payment');
  if (!chain.ok) {
    return err(chain.code === 'role' ? 'PAY_CERT_ROLE_NOT_PAYMENT' : 'PAY_CERT_INVALID', chain.message);
  }
  const signer = await partySigner(chain.value, keyPem, passphrase);
  if (!signer.ok) return signer.code === 'mismatch' ? err('PAY_KEY_CERT_MISMATCH', signer.message) : err(signer.code, signer.message, signer.details);
  return signer;
}
