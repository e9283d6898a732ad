// Helpers shared by the `quittance payment` commands.
import { resolve } from 'node:path';
import { passphrase as askPassphrase } from '../../output.ts';
import { openPayment, openPaymentStore, type OpenedPayment, type OpenedPaymentStore } from '../../../payment/open.ts';
import { requireString, type Io } from '../../command.ts';

export const DATA = { type: 'string', description: 'payment server data directory (created by `payment init`)', valueName: 'DIR' } as const;
export const DB = { type: 'string', description: 'database URL (sqlite:PATH or postgres://…); default from payment.json', valueName: 'URL' } as const;
export { JSON_OUT } from '../../output.ts';

export function passphrase(io: Io, prompt = 'Payment server key passphrase: '): Promise<string> {
  return askPassphrase(io, prompt);
}

function dbOpt(values: Record<string, unknown>): { db?: string } {
  return typeof values.db === 'string' ? { db: values.db } : {};
}

/** Opens the payment server named by --data (and --db) with its keys, runs `fn`, and always closes it. */
export async function withPayment<T>(values: Record<string, unknown>, io: Io, fn: (p: OpenedPayment) => Promise<T>): Promise<T> {
  const dir = resolve(requireString(values, 'data'));
  const p = await openPayment(dir, { passphrase: await passphrase(io), ...dbOpt(values) });
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}

/** Config and database only (no passphrase): for read-only commands. */
export async function withPaymentStore<T>(values: Record<string, unknown>, fn: (p: OpenedPaymentStore) => Promise<T>): Promise<T> {
  const p = await openPaymentStore(resolve(requireString(values, 'data')), dbOpt(values));
  try {
    return await fn(p);
  } finally {
    await p.close();
  }
}
