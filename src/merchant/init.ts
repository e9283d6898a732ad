// `quittance merchant init`: a new shop in a data directory, from a
// `merchant`-role certificate issued by the CA (`quittance ca issue --role
// merchant`). Everything is checked before the first file is written: the
// chain is a merchant certificate ending at the CA root, the key decrypts with
// the passphrase and is the certified key, the payment server's chain is a
// `payment` certificate of the same CA. A refused init leaves nothing behind.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { hashToken, newAdminToken } from '../http/admin-auth.ts';
import type { CryptoErrorCode } from '../crypto/index.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { DEFAULT_CATALOGUE, MerchantConfig } from './config.ts';
import { isInitialized, merchantPaths, writeMerchantConfig } from './data-dir.ts';
import type { MerchantSetupErrorCode } from './errors.ts';
import { loadMerchantSigner, loadPaymentServerRef, type PaymentServerRef } from './signer.ts';

export type InitMerchantOptions = {
  /** Certificate chain (PEM, leaf first, then the CA) and encrypted key from `quittance ca issue --role merchant`. */
  certPath: string;
  keyPath: string;
  passphrase: string;
  name?: string;
  /** The payment server the invoices name: its base URL and its chain (PEM). Both or neither. */
  payment?: { url: string; certPath: string };
  /** Everything else of merchant.json (catalogue, windows, db, url, caUrl). */
  config?: Partial<MerchantConfig>;
  now?: Date;
};

export type InitializedMerchant = {
  adminToken: string;
  partyId: string;
  displayName: string;
  paymentServer?: PaymentServerRef;
  config: MerchantConfig;
  paths: ReturnType<typeof merchantPaths>;
};

function configError(issues: { path: PropertyKey[]; message: string }[]): Result<never, 'MERCHANT_CONFIG_INVALID'> {
  return err('MERCHANT_CONFIG_INVALID', `invalid merchant settings: ${issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ')}`);
}

export async function initMerchant(dir: string, opts: InitMerchantOptions): Promise<Result<InitializedMerchant, MerchantSetupErrorCode | CryptoErrorCode>> {
  if (isInitialized(dir)) return err('MERCHANT_DATA_EXISTS', `${dir} already holds a merchant server; refusing to overwrite it`);
  const now = opts.now ?? new Date();
  const loaded = await loadMerchantSigner(await readFile(opts.certPath, 'utf8'), await readFile(opts.keyPath, 'utf8'), opts.passphrase, now);
  if (!loaded.ok) return loaded;
  const { signer, root } = loaded.value;
  let paymentServer: PaymentServerRef | undefined;
  let paymentChainPem: string | undefined;
  if (opts.payment) {
    paymentChainPem = await readFile(opts.payment.certPath, 'utf8');
    const url = MerchantConfig.shape.paymentServer.unwrap().shape.url.safeParse(opts.payment.url);
    if (!url.success) return configError(url.error.issues.map((i) => ({ ...i, path: ['paymentServer', 'url', ...i.path] })));
    const ref = await loadPaymentServerRef(url.data, paymentChainPem, root, now);
    if (!ref.ok) return ref;
    paymentServer = ref.value;
  }
  const adminToken = newAdminToken();
  const parsed = MerchantConfig.safeParse({
    name: opts.name ?? signer.displayName,
    adminTokenHashes: [hashToken(adminToken)],
    catalogue: DEFAULT_CATALOGUE,
    ...opts.config,
    ...(paymentServer ? { paymentServer: { url: paymentServer.url } } : {}),
  });
  if (!parsed.success) return configError(parsed.error.issues);
  const paths = merchantPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The key stays encrypted exactly as the CA wrote it (PBES2, 600,000 iterations).
  await copyFile(opts.keyPath, paths.key);
  await copyFile(opts.certPath, paths.chain);
  if (opts.payment) await copyFile(opts.payment.certPath, paths.paymentChain);
  await writeMerchantConfig(dir, parsed.data);
  return ok({
    adminToken,
    partyId: signer.partyId,
    displayName: signer.displayName,
    ...(paymentServer ? { paymentServer } : {}),
    config: parsed.data,
    paths,
  });
}
