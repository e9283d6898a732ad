// Opens a merchant server from its data directory: config, database
// (migrated), the certified signing key and the payment server it names. Used
// by `quittance merchant serve|orders|show` and by tests.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createVerificationCache } from '../protocol/x509/index.ts';
import { isUniqueViolation, migrate, openDatabase, type OpenOptions, type Store } from '../store/index.ts';
import type { MerchantConfig } from './config.ts';
import { caCrlSource, noRevocationCheck } from './crl.ts';
import { merchantPaths, readMerchantConfig, resolveDbUrl } from './data-dir.ts';
import type { MerchantDatabase } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import { MERCHANT_MIGRATIONS } from './migrations/index.ts';
import { loadMerchantSigner, loadPaymentServerRef, type PaymentServerRef } from './signer.ts';

export type OpenMerchantStoreOptions = {
  /** Overrides the config's database URL. */
  db?: string;
  dbOptions?: OpenOptions;
  configOverrides?: Partial<MerchantConfig>;
};

export type OpenMerchantOptions = OpenMerchantStoreOptions & { passphrase: string; clock?: () => Date; fetch?: typeof fetch };

export type OpenedMerchantStore = { db: Store<MerchantDatabase>['db']; config: MerchantConfig; close: () => Promise<void> };
export type OpenedMerchant = { deps: MerchantDeps; close: () => Promise<void> };

/** 128 random bits: transaction ids are not guessable, so an id alone reveals no order. */
export function newTransactionId(): string {
  return `tx-${randomBytes(16).toString('hex')}`;
}

/** Config and migrated database only: for commands that read (`quittance merchant orders`). */
export async function openMerchantStore(dir: string, opts: OpenMerchantStoreOptions = {}): Promise<OpenedMerchantStore> {
  const config = { ...(await readMerchantConfig(dir)), ...opts.configOverrides };
  const store = await openDatabase<MerchantDatabase>(resolveDbUrl(dir, opts.db ?? config.db), opts.dbOptions);
  try {
    await migrate(store.db, MERCHANT_MIGRATIONS, { table: 'merchant_migration' });
  } catch (e) {
    await store.close();
    throw e;
  }
  return { db: store.db, config, close: () => store.close() };
}

export async function openMerchant(dir: string, opts: OpenMerchantOptions): Promise<OpenedMerchant> {
  const paths = merchantPaths(dir);
  const config = { ...(await readMerchantConfig(dir)), ...opts.configOverrides };
  const clock = opts.clock ?? (() => new Date());
  const loaded = await loadMerchantSigner(await readFile(paths.chain, 'utf8'), await readFile(paths.key, 'utf8'), opts.passphrase, clock());
  if (!loaded.ok) throw new Error(`cannot open the merchant key ${paths.key}: ${loaded.code} (${loaded.message})`);
  let paymentServer: PaymentServerRef | undefined;
  if (config.paymentServer) {
    const ref = await loadPaymentServerRef(config.paymentServer.url, await readFile(paths.paymentChain, 'utf8'), loaded.value.root, clock());
    if (!ref.ok) throw new Error(`cannot use the payment server chain ${paths.paymentChain}: ${ref.code} (${ref.message})`);
    paymentServer = ref.value;
  }
  const store = await openMerchantStore(dir, opts);
  const deps: MerchantDeps = {
    db: store.db,
    config,
    signer: loaded.value.signer,
    ...(paymentServer ? { paymentServer } : {}),
    trustAnchors: [loaded.value.root],
    crls: config.caUrl ? caCrlSource(config.caUrl, { fetch: opts.fetch ?? fetch, clock }) : noRevocationCheck,
    clock,
    newTransactionId,
    isUniqueViolation,
    verificationCache: createVerificationCache({ maxEntries: 10_000 }),
    fetch: opts.fetch ?? fetch,
  };
  return { deps, close: store.close };
}
