// The wallet directory W:
//   W/seed.json          the sealed seed (seed-box.ts), 0600
//   W/identity-key.pem   the identity private key, PKCS#8 PBES2 (src/crypto), 0600, after `register`
//   W/wallet.sqlite      the store (db.ts), 0600: coins and identity are private even if not secret
// The directory itself is 0700.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export type WalletPaths = { dir: string; seed: string; identityKey: string; db: string };

export function walletPaths(dir: string): WalletPaths {
  return { dir, seed: join(dir, 'seed.json'), identityKey: join(dir, 'identity-key.pem'), db: join(dir, 'wallet.sqlite') };
}

export function isWallet(dir: string): boolean {
  const p = walletPaths(dir);
  return existsSync(p.seed) || existsSync(p.db);
}

/**
 * Writes an owner-only file. `exclusive`: fail if it exists (two `wallet init`
 * at once must not both write a seed); otherwise replace it atomically.
 */
export async function writePrivateFile(path: string, text: string, exclusive: boolean): Promise<void> {
  const target = exclusive ? path : join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(target, 'wx', 0o600);
  try {
    await file.chmod(0o600);
    await file.writeFile(text, 'utf8');
    await file.sync();
  } catch (e) {
    await file.close();
    await rm(target, { force: true });
    throw e;
  }
  await file.close();
  if (!exclusive) {
    try {
      await rename(target, path);
    } catch (e) {
      await rm(target, { force: true });
      throw e;
    }
  }
  await chmod(path, 0o600);
  const d = await open(dirname(path), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
