// Helpers shared by the `quittance wallet` commands.
import { resolve } from 'node:path';
import { openWallet, type OpenedWallet } from '../../../wallet/index.ts';
import { requireString, type Io } from '../../command.ts';
import { failWith as fail } from '../../output.ts';

export { JSON_OUT, passphrase, printResult, failWith as fail } from '../../output.ts';

export const DATA = { type: 'string', description: 'wallet directory (created by `wallet init`)', valueName: 'DIR' } as const;

export const now = (): Date => new Date();

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
