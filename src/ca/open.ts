// Opens a CA from its data directory: config, database (migrated), and — when
// the command will sign — the decrypted CA key. Used by every `quittance ca`
// command and by tests that start a real CA.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decryptPrivateKey, readKeyFile } from '../crypto/index.ts';
import { isUniqueViolation, migrate, openDatabase, type OpenOptions } from '../store/index.ts';
import type { Authority } from './authority.ts';
import type { CaConfig } from './config.ts';
import { caPaths, readCaConfig, resolveDbUrl } from './data-dir.ts';
import type { CaDatabase } from './db.ts';
import type { CaDeps } from './deps.ts';
import { CA_MIGRATIONS } from './migrations/index.ts';
import { createX509Authority } from './x509-authority.ts';

export type OpenCaOptions = {
  /** Needed to sign (approve, issue, serve); omit for read-only and revocation commands. */
  passphrase?: string;
  /** Overrides the config's database URL. */
  db?: string;
  dbOptions?: OpenOptions;
  configOverrides?: Partial<CaConfig>;
  clock?: () => Date;
};

export type OpenedCa = { deps: CaDeps; caCertPem: string; close: () => Promise<void> };

export async function openCa(dir: string, opts: OpenCaOptions = {}): Promise<OpenedCa> {
  const config = { ...(await readCaConfig(dir)), ...opts.configOverrides };
  const paths = caPaths(dir);
  const caCertPem = await readFile(paths.cert, 'utf8');
  let authority: Authority;
  if (opts.passphrase !== undefined) {
    const key = await decryptPrivateKey(await readKeyFile(paths.key), opts.passphrase);
    if (!key.ok) throw new Error(`cannot open the CA key ${paths.key}: ${key.code} (${key.message})`);
    authority = createX509Authority(caCertPem, key.value.privateKey);
  } else {
    authority = publicOnlyAuthority(caCertPem);
  }
  const store = await openDatabase<CaDatabase>(resolveDbUrl(dir, opts.db ?? config.db), opts.dbOptions);
  try {
    await migrate(store.db, CA_MIGRATIONS, { table: 'ca_migration' });
  } catch (e) {
    await store.close();
    throw e;
  }
  const deps: CaDeps = {
    db: store.db,
    authority,
    config,
    clock: opts.clock ?? (() => new Date()),
    random: (n) => new Uint8Array(randomBytes(n)),
    isUniqueViolation,
  };
  return { deps, caCertPem, close: () => store.close() };
}

/** For commands that never sign: any attempt to sign is a bug, so it throws. */
function publicOnlyAuthority(caCertPem: string): Authority {
  const refuse = (): never => {
    throw new Error('the CA key is not loaded for this command');
  };
  return { chainPem: [caCertPem], inspectCsr: refuse, issue: refuse, makeCrl: refuse };
}
