// Opens a payment server from its data directory: config, database (migrated),
// the certified signing key and the denomination-key wrapping key, both from
// the one passphrase, and the bank link (bank-link.json) when there is one.
// Used by `quittance payment serve|rotate` and by tests.
import { chmod, readFile } from 'node:fs/promises';
import { fetchedCaCrl } from '../http/crl-source.ts';
import { isUniqueViolation, migrate, openDatabase, type OpenOptions, type Store } from '../store/index.ts';
import type { PaymentConfig } from './config.ts';
import { readBankLink } from './bank-link.ts';
import { paymentPaths, readPaymentConfig, resolveDbUrl } from './data-dir.ts';
import type { PaymentDatabase } from './db.ts';
import { newCaches, type PaymentDeps } from './deps.ts';
import { deriveWrapKey } from './key-wrap.ts';
import { PAYMENT_MIGRATIONS } from './migrations/index.ts';
import { loadPaymentSigner } from './signer.ts';

export type OpenPaymentStoreOptions = {
  /** Overrides the config's database URL. */
  db?: string;
  dbOptions?: OpenOptions;
  configOverrides?: Partial<PaymentConfig>;
};

export type OpenPaymentOptions = OpenPaymentStoreOptions & { passphrase: string; clock?: () => Date };

export type OpenedPaymentStore = { db: Store<PaymentDatabase>['db']; config: PaymentConfig; close: () => Promise<void> };
export type OpenedPayment = { deps: PaymentDeps; close: () => Promise<void> };

/** Config and migrated database only: for commands that read (`quittance payment keys`). */
export async function openPaymentStore(dir: string, opts: OpenPaymentStoreOptions = {}): Promise<OpenedPaymentStore> {
  const config = { ...(await readPaymentConfig(dir)), ...opts.configOverrides };
  const store = await openDatabase<PaymentDatabase>(resolveDbUrl(dir, opts.db ?? config.db), opts.dbOptions);
  try {
    await migrate(store.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
  } catch (e) {
    await store.close();
    throw e;
  }
  return { db: store.db, config, close: () => store.close() };
}

export async function openPayment(dir: string, opts: OpenPaymentOptions): Promise<OpenedPayment> {
  const paths = paymentPaths(dir);
  const config = { ...(await readPaymentConfig(dir)), ...opts.configOverrides };
  // The signing key is decrypted first: a wrong passphrase stops here, before
  // a wrapping key derived from it could seal new denomination keys.
  const signer = await loadPaymentSigner(await readFile(paths.chain, 'utf8'), await readFile(paths.key, 'utf8'), opts.passphrase);
  if (!signer.ok) throw new Error(`cannot open the payment server key ${paths.key}: ${signer.code} (${signer.message})`);
  const wrapKey = await deriveWrapKey(opts.passphrase, config.keyWrapSalt);
  // Read before the database opens: a damaged link stops the start, not the first load.
  const bankLink = await readBankLink(dir);
  const store = await openPaymentStore(dir, opts);
  // SQLite: the database holds wrapped keys only, but it is still nobody else's business.
  if (store.config.db.startsWith('sqlite:') && opts.db === undefined) await chmod(resolveDbUrl(dir, config.db).slice('sqlite:'.length), 0o600).catch(() => {});
  const clock = opts.clock ?? (() => new Date());
  const deps: PaymentDeps = {
    db: store.db,
    config,
    signer: signer.value,
    wrapKey,
    clock,
    isUniqueViolation,
    caches: newCaches(),
    ...(bankLink ? { bankLink } : {}),
    ...(config.caUrl !== undefined ? { caCrl: fetchedCaCrl(config.caUrl, { fetch, clock }) } : {}),
  };
  return { deps, close: store.close };
}
