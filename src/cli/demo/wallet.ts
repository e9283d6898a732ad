// The demo's own shopper wallet, for the wallet page: made once (DIR/wallet),
// registered with the demo CA (which certifies at once) and loaded from the
// demo shopper's bank account, then served by the wallet daemon on base port
// + 4 with the wallet page and the bank link. Done through the same library
// calls as `wallet init|register|load` and `wallet serve`, once every server
// listens (registration and loading talk to the CA, bank and payment server).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { WEB_DIST } from '../../http/ui.ts';
import { parseAmount } from '../../protocol/amount.ts';
import { loadMoney } from '../../wallet/load.ts';
import { initWallet, openWallet, type OpenedWallet } from '../../wallet/open.ts';
import { isWallet } from '../../wallet/wallet-dir.ts';
import { readIdentity, resumeRegistration, submitRegistration } from '../../wallet/register.ts';
import { createWalletDaemon } from '../../wallet-daemon/app.ts';
import { DEMO_PASSPHRASE, demoPaths, partyUrl, urlHost, type DemoFile } from './setup.ts';

/** The wallet daemon listens on base port + 4 (7005 by default, `wallet serve`'s own default). */
export const WALLET_PORT_OFFSET = 4;
/** What the demo wallet is loaded with on its first run (from the shopper's JPY:100000). */
export const DEMO_WALLET_LOAD = 'JPY:20000';
export const DEMO_WALLET_NAME = 'Hanako';
/** Written once the wallet is registered and loaded: a later run only serves it. */
const READY_MARKER = 'demo-wallet.json';

export function walletPort(state: { basePort: number }): number {
  return state.basePort + WALLET_PORT_OFFSET;
}

export function walletBaseUrl(state: { host: string; basePort: number }): string {
  return `http://${urlHost(state.host)}:${walletPort(state)}/`;
}

export function demoWalletDir(dir: string): string {
  return join(dir, 'wallet');
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; code: string; message: string }, what: string): T {
  if (!r.ok) throw new Error(`demo wallet: ${what}: ${r.code}: ${r.message}`);
  return r.value;
}

const now = () => new Date();

/** Opens the demo wallet, making, registering and loading it first if this demo has none yet. */
export async function ensureDemoWallet(dir: string, state: DemoFile): Promise<{ wallet: OpenedWallet; created: boolean }> {
  const path = demoWalletDir(dir);
  const marker = join(dir, READY_MARKER);
  if (!isWallet(path)) unwrap(await initWallet(path, { passphrase: DEMO_PASSPHRASE, now }), 'init');
  const wallet = unwrap(await openWallet(path, { now }), 'open');
  if (existsSync(marker)) return { wallet, created: false };
  try {
    const deps = { now, fetch };
    const identity = await readIdentity(wallet);
    if (identity?.status !== 'approved') {
      const caRootPem = await readFile(demoPaths(dir).caCert, 'utf8');
      const r = unwrap(
        await submitRegistration(
          wallet,
          { caUrl: partyUrl(state, 'ca'), displayName: DEMO_WALLET_NAME, realIdentity: { name: 'Hanako Yamada', postalAddress: '(demo)', email: 'hanako@example.invalid' }, passphrase: DEMO_PASSPHRASE, caRootPem },
          deps,
        ),
        'register',
      );
      if (r.status !== 'approved') unwrap(await resumeRegistration(wallet, deps), 'register');
    }
    const seed = unwrap(await wallet.unlockSeed(DEMO_PASSPHRASE), 'unlock');
    try {
      const amount = unwrap(parseAmount(DEMO_WALLET_LOAD), 'amount');
      unwrap(
        await loadMoney(wallet, { paymentUrl: partyUrl(state, 'payment'), amount, bank: { bankUrl: partyUrl(state, 'bank'), account: state.shopper.bankAccount, token: state.shopper.holderToken } }, { now, fetch, seed, waitTimeoutMs: 60_000 }),
        'load',
      );
    } finally {
      seed.fill(0);
    }
    await writeFile(marker, JSON.stringify({ wallet: path, loaded: DEMO_WALLET_LOAD }) + '\n', { mode: 0o600 });
  } catch (e) {
    await wallet.close();
    throw e;
  }
  return { wallet, created: true };
}

/** The wallet daemon for the demo wallet (not listening yet), with a fresh session token. */
export async function demoWalletDaemon(wallet: OpenedWallet, state: DemoFile, logger: FastifyServerOptions['logger']): Promise<{ app: FastifyInstance; token: string; seed: Uint8Array; pageBuilt: boolean }> {
  const seed = unwrap(await wallet.unlockSeed(DEMO_PASSPHRASE), 'unlock');
  const token = randomBytes(32).toString('base64url');
  const staticDir = join(WEB_DIST, 'wallet');
  const pageBuilt = existsSync(join(staticDir, 'index.html'));
  const { app } = await createWalletDaemon({
    wallet,
    seed,
    passphrase: DEMO_PASSPHRASE,
    token,
    listening: { host: state.host, port: () => walletPort(state) },
    now,
    fetch,
    loading: { bank: { bankUrl: partyUrl(state, 'bank'), account: state.shopper.bankAccount, token: state.shopper.holderToken }, paymentUrl: partyUrl(state, 'payment') },
    ...(pageBuilt ? { staticDir } : {}),
    logger,
  });
  return { app, token, seed, pageBuilt };
}
