// `quittance payment init`: a new payment server in a data directory, from a
// `payment`-role certificate issued by the CA (`quittance ca issue --role
// payment`). Everything is checked before the first file is written: the
// chain is a payment certificate, the key decrypts with the passphrase and is
// the certified key. A refused init leaves nothing behind.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { hashToken, newAdminToken } from '../http/admin-auth.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { CryptoErrorCode } from '../crypto/index.ts';
import { PaymentConfig } from './config.ts';
import { isInitialized, paymentPaths, writePaymentConfig } from './data-dir.ts';
import type { PaySetupErrorCode } from './errors.ts';
import { newKeyWrapSalt } from './key-wrap.ts';
import { loadPaymentSigner } from './signer.ts';

export type InitPaymentOptions = {
  /** Certificate chain (PEM, leaf first) and encrypted key from `quittance ca issue --role payment`. */
  certPath: string;
  keyPath: string;
  /** The key's passphrase; it also protects the denomination keys (key-wrap.ts). */
  passphrase: string;
  name?: string;
  /** Everything else of payment.json (currencies, key bits, windows, db). */
  config?: Partial<PaymentConfig>;
};

export type InitializedPayment = { adminToken: string; partyId: string; displayName: string; config: PaymentConfig; paths: ReturnType<typeof paymentPaths> };

export async function initPayment(dir: string, opts: InitPaymentOptions): Promise<Result<InitializedPayment, PaySetupErrorCode | CryptoErrorCode>> {
  if (isInitialized(dir)) return err('PAY_DATA_EXISTS', `${dir} already holds a payment server; refusing to overwrite it`);
  const signer = await loadPaymentSigner(await readFile(opts.certPath, 'utf8'), await readFile(opts.keyPath, 'utf8'), opts.passphrase);
  if (!signer.ok) return signer;
  const adminToken = newAdminToken();
  const parsed = PaymentConfig.safeParse({
    name: opts.name ?? signer.value.displayName,
    adminTokenHashes: [hashToken(adminToken)],
    currencies: [{ maxValue: 'JPY:8192' }],
    keyWrapSalt: newKeyWrapSalt(),
    ...opts.config,
  });
  if (!parsed.success) {
    return err('PAY_CONFIG_INVALID', `invalid payment server settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const paths = paymentPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The key stays encrypted exactly as the CA wrote it (PBES2, 600,000 iterations).
  await copyFile(opts.keyPath, paths.key);
  await copyFile(opts.certPath, paths.chain);
  await writePaymentConfig(dir, parsed.data);
  return ok({ adminToken, partyId: signer.value.partyId, displayName: signer.value.displayName, config: parsed.data, paths });
}
