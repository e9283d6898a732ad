// Drives the `quittance` command line in-process (runCli with an injected Io),
// spawns the real entry point when a test needs the real process, and runs
// openssl as the independent checker.
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.ts';

export const PASS = 'correct horse battery staple';
export const REPO = new URL('../../', import.meta.url).pathname;
export const BIN = join(REPO, 'bin', 'quittance.js');
export const INVOICE = join(REPO, 'docs', 'examples', 'invoice.json');
export const MERCHANT_NAME = 'Tokyo On-line Mail Order Dealer';

export type CliResult = { code: number; out: string; err: string };

/**
 * Runs `quittance …argv` in this process. A thrown error is reported the way
 * main() does it (one line on stderr, exit 1), so the result is what a user of
 * the real binary would see.
 */
export async function cli(argv: string[], env: NodeJS.ProcessEnv = { QUITTANCE_PASSPHRASE: PASS }): Promise<CliResult> {
  let out = '';
  let err = '';
  const io = {
    out: (t: string) => {
      out += t;
    },
    err: (t: string) => {
      err += t;
    },
    env,
    // Never resolves: no command in these tests waits for a signal.
    stopSignal: new Promise<void>(() => {}),
  };
  try {
    const code = await runCli(argv, io);
    return { code, out, err };
  } catch (e) {
    err += `quittance: ${(e as Error).message}\n`;
    return { code: 1, out, err };
  }
}

/** Runs the real bin/quittance.js under this Node (24 under npm test). */
export function spawnBin(argv: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const options = {
    encoding: 'utf8',
    // PATH only: nothing from the developer's environment (a set
    // QUITTANCE_PASSPHRASE, say) leaks into the run.
    env: { PATH: process.env.PATH, ...env },
    timeout: 30_000,
    // A new session has no controlling terminal, so a missing passphrase fails
    // at once instead of prompting on the developer's /dev/tty. (Node honours
    // `detached` in spawnSync; @types/node does not list it.)
    detached: true,
  } as SpawnSyncOptionsWithStringEncoding;
  const r = spawnSync(process.execPath, [BIN, ...argv], options);
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function openssl(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input, timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temporary directory; the returned function removes it. */
export function tempDir(prefix = 'quittance-cli-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `ca init` in-process; fails the test on anything but exit 0. */
export async function initCaDir(dir: string): Promise<{ token: string; out: string }> {
  const r = await cli(['ca', 'init', '--data', dir]);
  if (r.code !== 0) throw new Error(`ca init failed (${r.code}): ${r.err}`);
  const m = /operator token \(shown once, keep it secret\): (\S+)/.exec(r.out);
  if (!m) throw new Error(`ca init printed no token: ${r.out}`);
  return { token: m[1]!, out: r.out };
}

/** `ca issue` in-process; returns the serial it printed. */
export async function issue(dataDir: string, role: string, name: string, out: string, extra: string[] = []): Promise<{ serial: string; partyId: string; out: string }> {
  const r = await cli(['ca', 'issue', '--data', dataDir, '--role', role, '--name', name, '--out', out, ...extra]);
  if (r.code !== 0) throw new Error(`ca issue failed (${r.code}): ${r.err}`);
  const m = /\(party id (\S+), serial ([0-9a-f]+)\)/.exec(r.out);
  if (!m) throw new Error(`ca issue printed no serial: ${r.out}`);
  return { partyId: m[1]!, serial: m[2]!, out: r.out };
}
