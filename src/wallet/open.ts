// Opening a wallet directory: the store without any secret (status, balance and
// coins need no passphrase), the seed only when a flow asks for it.
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { encodeBase64url } from '../protocol/base64url.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { migrate, openDatabase } from '../store/index.ts';
import type { Kysely } from 'kysely';
import type { WalletDatabase } from './db.ts';
import type { WalletErrorCode } from './errors.ts';
import { WALLET_MIGRATIONS } from './migrations/index.ts';
import { SEED_BYTES } from './derive.ts';
import { openSeed, sealSeed, type SeedBoxCode } from './seed-box.ts';
import { isWallet, walletPaths, writePrivateFile, type WalletPaths } from './wallet-dir.ts';

export const MIN_PASSPHRASE = 8;

export type OpenedWallet = {
  readonly db: Kysely<WalletDatabase>;
  readonly paths: WalletPaths;
  readonly walletId: string;
  /** Decrypts the seed; the caller should zero it when done. */
  unlockSeed(passphrase: string): Promise<Result<Uint8Array<ArrayBuffer>, SeedBoxCode>>;
  close(): Promise<void>;
};

async function openStore(paths: WalletPaths): Promise<Kysely<WalletDatabase>> {
  const store = await openDatabase<WalletDatabase>(`sqlite:${paths.db}`);
  try {
    await chmod(paths.db, 0o600);
    await migrate(store.db, WALLET_MIGRATIONS, { table: 'wallet_migration' });
  } catch (e) {
    await store.close();
    throw e;
  }
  return store.db;
}

export type InitOptions = { passphrase: string; now: () => Date; random?: (n: number) => Uint8Array };

/** Creates W (0700), W/seed.json and W/wallet.sqlite. Refuses a directory that holds a wallet. */
export async function initWallet(dir: string, opts: InitOptions): Promise<Result<{ walletId: string; paths: WalletPaths }, Extract<WalletErrorCode, 'WALLET_EXISTS' | 'WALLET_PASSPHRASE_TOO_SHORT'>>> {
  const paths = walletPaths(dir);
  if (isWallet(dir)) return err('WALLET_EXISTS', `${dir} already holds a wallet; refusing to overwrite it`);
  if (typeof opts.passphrase !== 'string' || opts.passphrase.length < MIN_PASSPHRASE) {
    return err('WALLET_PASSPHRASE_TOO_SHORT', `the wallet passphrase must have at least ${MIN_PASSPHRASE} characters`);
  }
  const random = opts.random ?? ((n: number) => new Uint8Array(randomBytes(n)));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const seed = random(SEED_BYTES);
  const walletId = `w_${encodeBase64url(random(16))}`;
  try {
    const sealed = await sealSeed(seed, walletId, opts.passphrase, random);
    try {
      await writePrivateFile(paths.seed, JSON.stringify(sealed, null, 2) + '\n', true);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return err('WALLET_EXISTS', `${dir} already holds a wallet; refusing to overwrite it`);
      throw e;
    }
  } finally {
    seed.fill(0);
  }
  const db = await openStore(paths);
  try {
    await db.insertInto('wallet_meta').values({ id: 1, wallet_id: walletId, created_at: opts.now().toISOString() }).execute();
  } finally {
    await db.destroy();
  }
  return ok({ walletId, paths });
}

/** Opens W's store (migrating it) without touching the seed. */
export async function openWallet(dir: string, opts: { now: () => Date }): Promise<Result<OpenedWallet, Extract<WalletErrorCode, 'WALLET_NOT_FOUND' | 'WALLET_SEED_MALFORMED'>>> {
  const paths = walletPaths(dir);
  let seedJson: unknown;
  try {
    seedJson = JSON.parse(await readFile(paths.seed, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return err('WALLET_NOT_FOUND', `${dir} holds no wallet (run \`quittance wallet init --data ${dir}\`)`);
    if (e instanceof SyntaxError) return err('WALLET_SEED_MALFORMED', 'seed.json is not JSON');
    throw e;
  }
  const walletId = (seedJson as { walletId?: unknown })?.walletId;
  if (typeof walletId !== 'string') return err('WALLET_SEED_MALFORMED', 'seed.json has no walletId');
  const db = await openStore(paths);
  // A crash between writing seed.json and the store's first row leaves no meta row; the seed file is the source.
  const meta = await db.selectFrom('wallet_meta').select('wallet_id').executeTakeFirst();
  if (!meta) await db.insertInto('wallet_meta').values({ id: 1, wallet_id: walletId, created_at: opts.now().toISOString() }).execute();
  else if (meta.wallet_id !== walletId) {
    await db.destroy();
    return err('WALLET_SEED_MALFORMED', 'seed.json belongs to another wallet than wallet.sqlite');
  }
  return ok({
    db,
    paths,
    walletId,
    unlockSeed: async (passphrase) => {
      const r = await openSeed(seedJson, passphrase);
      return r.ok ? ok(r.value.seed) : r;
    },
    close: () => db.destroy(),
  });
}
