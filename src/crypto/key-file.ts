// Key files: owner-only (0600) and replaced atomically, so a crash mid-write
// leaves the old key or the new one, never half a key.
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeKeyFile(path: string, pem: string): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN ')) throw new TypeError('pem: expected a PEM string');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse an existing file at the temporary name.
  const file = await open(tmp, 'wx', 0o600);
  try {
    // The mode passed to open() is filtered by the umask; set it explicitly.
    await file.chmod(0o600);
    await file.writeFile(pem, 'utf8');
    await file.sync();
  } catch (e) {
    await file.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await file.close();
  try {
    await rename(tmp, path);
    await chmod(path, 0o600);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  // Make the rename itself durable.
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

export async function readKeyFile(path: string): Promise<string> {
  if (typeof path !== 'string' || path === '') throw new TypeError('path: expected a file path');
  return readFile(path, 'utf8');
}
