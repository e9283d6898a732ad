// The payment server's data directory: everything `quittance payment init`
// creates and every other `quittance payment …` command reads.
//
//   DIR/payment.json       configuration (config.ts): currencies, key windows, operator token hash, key-wrap salt
//   DIR/payment-chain.pem  its `payment` certificate chain, leaf first (copied at init)
//   DIR/payment-key.pem    the certified key, encrypted PKCS#8 (copied at init, never decrypted to disk)
//   DIR/payment.sqlite     the default database (denomination keys wrapped, key-wrap.ts)
//   DIR/bank-link.json     the payment server's own bank account(s) and holder token (bank-link.ts, 0600)
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { PaymentConfig } from './config.ts';

export const PAYMENT_FILES = { config: 'payment.json', chain: 'payment-chain.pem', key: 'payment-key.pem' } as const;

export function paymentPaths(dir: string) {
  return { dir, config: join(dir, PAYMENT_FILES.config), chain: join(dir, PAYMENT_FILES.chain), key: join(dir, PAYMENT_FILES.key) };
}

export function isInitialized(dir: string): boolean {
  const p = paymentPaths(dir);
  return existsSync(p.config) || existsSync(p.chain) || existsSync(p.key);
}

export async function readPaymentConfig(dir: string): Promise<PaymentConfig> {
  const path = paymentPaths(dir).config;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message} (run 'quittance payment init --data ${dir}' first)`, { cause: e });
  }
  const parsed = PaymentConfig.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid ${path}: ${where}`);
  }
  return parsed.data;
}

export async function writePaymentConfig(dir: string, config: PaymentConfig): Promise<void> {
  // 'wx': never overwrite an existing server's config (its salt opens the stored keys).
  await writeFile(paymentPaths(dir).config, JSON.stringify(config, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
}

/** Resolves a `sqlite:` URL relative to the data directory; other URLs pass through. */
export function resolveDbUrl(dir: string, url: string): string {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return url;
  const path = url.slice('sqlite:'.length);
  return `sqlite:${isAbsolute(path) ? path : resolve(dir, path)}`;
}
