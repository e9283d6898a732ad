// The merchant server's data directory: everything `quittance merchant init`
// creates and every other `quittance merchant …` command reads.
//
//   DIR/merchant.json                configuration (config.ts): catalogue, selling conditions, invoice windows, operator token hash
//   DIR/merchant-chain.pem           its `merchant` certificate chain, leaf first, ending at the CA root (copied at init)
//   DIR/merchant-key.pem             the certified key, encrypted PKCS#8 (copied at init, never decrypted to disk)
//   DIR/payment-server-chain.pem     the chain of the payment server the invoices name (copied at init)
//   DIR/merchant.sqlite              the default database
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { MerchantConfig } from './config.ts';

export const MERCHANT_FILES = {
  config: 'merchant.json',
  chain: 'merchant-chain.pem',
  key: 'merchant-key.pem',
  paymentChain: 'payment-server-chain.pem',
} as const;

export function merchantPaths(dir: string) {
  return {
    dir,
    config: join(dir, MERCHANT_FILES.config),
    chain: join(dir, MERCHANT_FILES.chain),
    key: join(dir, MERCHANT_FILES.key),
    paymentChain: join(dir, MERCHANT_FILES.paymentChain),
  };
}

export function isInitialized(dir: string): boolean {
  const p = merchantPaths(dir);
  return existsSync(p.config) || existsSync(p.chain) || existsSync(p.key);
}

export async function readMerchantConfig(dir: string): Promise<MerchantConfig> {
  const path = merchantPaths(dir).config;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message} (run 'quittance merchant init --data ${dir}' first)`, { cause: e });
  }
  const parsed = MerchantConfig.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid ${path}: ${where}`);
  }
  return parsed.data;
}

export async function writeMerchantConfig(dir: string, config: MerchantConfig): Promise<void> {
  // 'wx': never overwrite an existing shop's config.
  await writeFile(merchantPaths(dir).config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}

/** Resolves a `sqlite:` URL relative to the data directory; other URLs pass through. */
export function resolveDbUrl(dir: string, url: string): string {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return url;
  const path = url.slice('sqlite:'.length);
  return `sqlite:${isAbsolute(path) ? path : resolve(dir, path)}`;
}
