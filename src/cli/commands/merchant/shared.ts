// Helpers shared by the `quittance merchant` commands.
import { resolve } from 'node:path';
import { passphrase as askPassphrase } from '../../output.ts';
import { openMerchant, openMerchantStore, type OpenedMerchant, type OpenedMerchantStore } from '../../../merchant/open.ts';
import { requireString, type Io } from '../../command.ts';

export const DATA = { type: 'string', description: 'merchant server data directory (created by `merchant init`)', valueName: 'DIR' } as const;
export const DB = { type: 'string', description: 'database URL (sqlite:PATH or postgres://…); default from merchant.json', valueName: 'URL' } as const;
export { JSON_OUT } from '../../output.ts';

export function passphrase(io: Io, prompt = 'Merchant key passphrase: '): Promise<string> {
  return askPassphrase(io, prompt);
}

function dbOpt(values: Record<string, unknown>): { db?: string } {
  return typeof values.db === 'string' ? { db: values.db } : {};
}

/** Opens the merchant server named by --data (and --db) with its key, runs `fn`, and always closes it. */
export async function withMerchant<T>(values: Record<string, unknown>, io: Io, fn: (m: OpenedMerchant) => Promise<T>): Promise<T> {
  const dir = resolve(requireString(values, 'data'));
  const m = await openMerchant(dir, { passphrase: await passphrase(io), ...dbOpt(values) });
  try {
    return await fn(m);
  } finally {
    await m.close();
  }
}

/** Config and database only (no passphrase): for read-only commands. */
export async function withMerchantStore<T>(values: Record<string, unknown>, fn: (m: OpenedMerchantStore) => Promise<T>): Promise<T> {
  const m = await openMerchantStore(resolve(requireString(values, 'data')), dbOpt(values));
  try {
    return await fn(m);
  } finally {
    await m.close();
  }
}
