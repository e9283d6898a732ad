// The bank's data directory: everything `quittance bank init` creates and
// `quittance bank serve` reads.
//
//   DIR/bank.json     configuration (src/bank/config.ts); holds operator token hashes only
//   DIR/bank.sqlite   the default database
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { BankConfig } from './config.ts';

export function bankConfigPath(dir: string): string {
  return join(dir, 'bank.json');
}

export function isInitialized(dir: string): boolean {
  return existsSync(bankConfigPath(dir));
}

export async function readBankConfig(dir: string): Promise<BankConfig> {
  const path = bankConfigPath(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message} (run 'quittance bank init --data ${dir}' first)`, { cause: e });
  }
  const parsed = BankConfig.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid ${path}: ${where}`);
  }
  return parsed.data;
}

export async function writeBankConfig(dir: string, config: BankConfig): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // 'wx': never overwrite an existing bank's config (and its operator token).
  await writeFile(bankConfigPath(dir), JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}

/** Resolves a `sqlite:` URL relative to the data directory; other URLs pass through. */
export function resolveDbUrl(dir: string, url: string): string {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return url;
  const path = url.slice('sqlite:'.length);
  return `sqlite:${isAbsolute(path) ? path : resolve(dir, path)}`;
}
