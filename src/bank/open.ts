// Opens a bank from its data directory: config and database (migrated). Used
// by `quittance bank serve` and by tests that start a real bank.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isUniqueViolation, migrate, openDatabase, type OpenOptions } from '../store/index.ts';
import type { BankConfig } from './config.ts';
import { readBankConfig, resolveDbUrl } from './data-dir.ts';
import type { BankDatabase } from './db.ts';
import type { BankDeps } from './deps.ts';
import { BANK_MIGRATIONS } from './migrations/index.ts';

export type OpenBankOptions = {
  /** Overrides the config's database URL. */
  db?: string;
  dbOptions?: OpenOptions;
  configOverrides?: Partial<BankConfig>;
  clock?: () => Date;
};

export type OpenedBank = { deps: BankDeps; close: () => Promise<void> };

export async function openBank(dir: string, opts: OpenBankOptions = {}): Promise<OpenedBank> {
  const config = { ...(await readBankConfig(dir)), ...opts.configOverrides };
  const store = await openDatabase<BankDatabase>(resolveDbUrl(dir, opts.db ?? config.db), opts.dbOptions);
  try {
    await migrate(store.db, BANK_MIGRATIONS, { table: 'bank_migration' });
  } catch (e) {
    await store.close();
    throw e;
  }
  const deps: BankDeps = {
    db: store.db,
    config,
    clock: opts.clock ?? (() => new Date()),
    random: (n) => new Uint8Array(randomBytes(n)),
    isUniqueViolation,
    sleep: (ms) => sleep(ms),
  };
  return { deps, close: () => store.close() };
}
