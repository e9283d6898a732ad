// Helpers shared by the `quittance wallet` commands.
import { resolve } from 'node:path';
import { readPassphrase } from '../../../crypto/index.ts';
import { openWallet, type OpenedWallet } from '../../../wallet/index.ts';
import { EXIT, requireString, type Io } from '../../command.ts';

export const DATA = { type: 'string', description: 'wallet directory (created by `wallet init`)', valueName: 'DIR' } as const;
export const JSON_OUT = { type: 'boolean', description: 'print the result as JSON' } as const;

export const now = (): Date => new Date();

export function passphrase(io: Io, prompt: string): Promise<string> {
  return readPassphrase({ environment: io.env, prompt });
}

export function printResult(io: Io, json: boolean, value: unknown, text: string): void {
  io.out(json ? JSON.stringify(value, null, 2) + '\n' : text);
}

export function fail(io: Io, json: boolean, r: { code: string; message: string; details?: unknown }): number {
  if (json) io.out(JSON.stringify({ ok: false, code: r.code, message: r.message, ...(r.details !== undefined ? { details: r.details } : {}) }) + '\n');
  else io.err(`${r.code}: ${r.message}\n`);
  return EXIT.FAILED;
}

/** Opens the wallet named by --data, runs `fn`, and always closes it. */
export async function withWallet(values: Record<string, unknown>, io: Io, fn: (w: OpenedWallet) => Promise<number>): Promise<number> {
  const opened = await openWallet(resolve(requireString(values, 'data')), { now });
  if (!opened.ok) return fail(io, Boolean(values.json), opened);
  try {
    return await fn(opened.value);
  } finally {
    await opened.value.close();
  }
}
