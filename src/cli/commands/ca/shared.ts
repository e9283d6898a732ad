// Helpers shared by the `quittance ca` commands.
import { resolve } from 'node:path';
import { openCa, type OpenCaOptions, type OpenedCa } from '../../../ca/open.ts';
import { parseCertificatePem, serialHexFromDisplay } from '../../../protocol/x509/index.ts';
import { UsageError, integerOption, requireString, type Io } from '../../command.ts';
import { failWith } from '../../output.ts';

export { JSON_OUT, passphrase, printResult } from '../../output.ts';

export function fail(io: Io, json: boolean, code: string, message: string): number {
  return failWith(io, json, { code, message });
}

export const DATA = { type: 'string', description: 'CA data directory (created by `ca init`)', valueName: 'DIR' } as const;
export const DB = { type: 'string', description: 'database URL (sqlite:PATH or postgres://…); default from ca.json', valueName: 'URL' } as const;

export function keyAlg(raw: unknown): 'Ed25519' | 'P-256' {
  if (raw === undefined || raw === 'ed25519') return 'Ed25519';
  if (raw === 'p256') return 'P-256';
  throw new UsageError(`--alg must be ed25519 or p256, got ${String(raw)}`);
}

export function positiveInt(raw: unknown, name: string, fallback: number, max = 3650): number {
  return integerOption(raw, name, 1, max) ?? fallback;
}

/** Accepts a serial as `ca list` prints it, or as openssl does (upper case, colons). */
export function serialArg(raw: string): string {
  const hex = serialHexFromDisplay(raw);
  if (!hex) throw new UsageError(`not a certificate serial: ${raw}`);
  return hex;
}

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}`);
  return positionals[0]!;
}

/** Opens the CA named by --data (and --db), runs `fn`, and always closes it. */
export async function withCa<T>(values: Record<string, unknown>, opts: OpenCaOptions, fn: (ca: OpenedCa) => Promise<T>): Promise<T> {
  const ca = await openCa(resolve(requireString(values, 'data')), { ...opts, ...(typeof values.db === 'string' ? { db: values.db } : {}) });
  try {
    return await fn(ca);
  } finally {
    await ca.close();
  }
}

export function derOf(pem: string): Uint8Array {
  const p = parseCertificatePem(pem);
  if (!p.ok) throw new Error('certificate does not parse');
  return new Uint8Array(p.value.rawData);
}

