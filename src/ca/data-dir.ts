// The CA's data directory: everything `quittance ca init` creates and every
// other `quittance ca …` command reads.
//
//   DIR/ca-key.pem    the CA's private key, encrypted PKCS#8 (never plain on disk)
//   DIR/ca-cert.pem   the self-signed root certificate (give it to relying parties)
//   DIR/ca.json       configuration (src/ca/config.ts); holds operator token hashes only
//   DIR/ca.sqlite     the default database
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { CaConfig } from './config.ts';

export const CA_FILES = { key: 'ca-key.pem', cert: 'ca-cert.pem', config: 'ca.json' } as const;

export function caPaths(dir: string) {
  return {
    dir,
    key: join(dir, CA_FILES.key),
    cert: join(dir, CA_FILES.cert),
    config: join(dir, CA_FILES.config),
  };
}

export function isInitialized(dir: string): boolean {
  const p = caPaths(dir);
  return existsSync(p.key) || existsSync(p.cert) || existsSync(p.config);
}

export async function readCaConfig(dir: string): Promise<CaConfig> {
  const path = caPaths(dir).config;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message} (run 'quittance ca init --data ${dir}' first)`, { cause: e });
  }
  const parsed = CaConfig.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid ${path}: ${where}`);
  }
  return parsed.data;
}

export async function writeCaConfig(dir: string, config: CaConfig): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(caPaths(dir).config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
}

/** Resolves a `sqlite:` URL relative to the data directory; other URLs pass through. */
export function resolveDbUrl(dir: string, url: string): string {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return url;
  const path = url.slice('sqlite:'.length);
  return `sqlite:${isAbsolute(path) ? path : resolve(dir, path)}`;
}
