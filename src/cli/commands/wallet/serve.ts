// `quittance wallet serve`: the wallet daemon for the wallet page — the
// wallet's JSON API on loopback, opened with a fresh random session token.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createWalletDaemon } from '../../../wallet-daemon/app.ts';
import { EXIT, UsageError, integerOption, type Command } from '../../command.ts';
import { failWith } from '../../output.ts';
import { listenAddress, listenOptions, serverLogger } from '../../serve.ts';
import * as S from './shared.ts';

/** Loopback only: the daemon holds an unlocked wallet and must not be reachable from the network. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function httpUrlOption(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !URL.canParse(v) || !/^https?:$/.test(new URL(v).protocol)) throw new UsageError(`--${name} must be an http:// or https:// URL, got ${String(v)}`);
  return v;
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the wallet daemon: the JSON API (and page) of this wallet on loopback, behind a session token',
  options: {
    data: S.DATA,
    ...listenOptions(7005),
    bank: { type: 'string', description: 'base URL of your bank, for loads from the page', valueName: 'URL' },
    account: { type: 'string', description: 'your bank account that pays loads (QB…)', valueName: 'ID' },
    payment: { type: 'string', description: 'base URL of the payment server loads go to', valueName: 'URL' },
    'bank-token-file': { type: 'string', description: 'file holding your bank holder token (default: $QUITTANCE_BANK_TOKEN)', valueName: 'FILE' },
    static: { type: 'string', description: "serve the wallet page's built files (index.html, assets) from this directory", valueName: 'DIR' },
    'load-timeout': { type: 'string', description: "how long a load from the page waits for the payment server's credit (default 60)", valueName: 'SECONDS' },
    json: { type: 'boolean', description: 'print the ready line as JSON' },
  },
  details: `Unlocks the wallet once (passphrase from QUITTANCE_PASSPHRASE or a prompt) and serves its
API on http://HOST:PORT/api for the wallet page; prints one ready line with the URL to open,
which carries a fresh random session token in its fragment (#token=…): every /api request
must send it as "Authorization: Bearer TOKEN". Browsers never send a URL fragment to any
server, so other web pages cannot learn it. Requests naming another Host (DNS rebinding)
or coming from another web page (Origin) are refused with 403; no CORS headers are sent.
HOST must be a loopback address. Stop with Ctrl-C (SIGINT/SIGTERM): open prompts are
cancelled (nothing signed or paid), a payment under way reaches a stored state first.
With --json the ready line is {"event":"ready","party":"wallet","url","wallet","token"}.
Loads from the page need --bank, --account, --payment and the bank token.
The routes are listed in the README ("Wallet daemon").`,
  async run({ values }, io) {
    const address = listenAddress(values, 7005);
    if (!isLoopback(address.host)) throw new UsageError(`--host must be a loopback address (127.0.0.1, ::1 or localhost), got ${address.host}`);
    const loadWaitMs = (integerOption(values['load-timeout'], 'load-timeout', 1, 3600) ?? 60) * 1000;
    const bankUrl = httpUrlOption(values, 'bank');
    const paymentUrl = httpUrlOption(values, 'payment');
    const account = typeof values.account === 'string' ? values.account : undefined;
    const token = typeof values['bank-token-file'] === 'string' ? (await readFile(values['bank-token-file'], 'utf8')).trim() : io.env.QUITTANCE_BANK_TOKEN;
    if ((bankUrl === undefined) !== (account === undefined)) throw new UsageError('--bank and --account go together');
    if (bankUrl !== undefined && (token === undefined || token === '')) throw new UsageError('loads need the bank holder token: set QUITTANCE_BANK_TOKEN or pass --bank-token-file');
    const staticDir = typeof values.static === 'string' ? resolve(values.static) : undefined;
    const json = Boolean(values.json);
    return S.withWallet(values, io, async (w) => {
      const passphrase = await S.passphrase(io, 'Wallet passphrase: ');
      const seed = await w.unlockSeed(passphrase);
      if (!seed.ok) return S.fail(io, json, seed);
      const sessionToken = randomBytes(32).toString('base64url');
      let port = address.port;
      try {
        const { app } = await createWalletDaemon({
          wallet: w,
          seed: seed.value,
          passphrase,
          token: sessionToken,
          listening: { host: address.host, port: () => port },
          now: S.now,
          fetch,
          loading: { ...(bankUrl !== undefined && account !== undefined && token ? { bank: { bankUrl, account, token } } : {}), ...(paymentUrl !== undefined ? { paymentUrl } : {}) },
          ...(staticDir !== undefined ? { staticDir } : {}),
          loadWaitMs,
          logger: serverLogger(io),
        });
        try {
          try {
            await app.listen(address);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return failWith(io, json, { code: 'CLI_PORT_IN_USE', message: `port ${address.port} is in use; choose another --port` });
            throw e;
          }
          port = (app.server.address() as AddressInfo).port;
          const base = `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}/`;
          const wallet = `${base}#token=${sessionToken}`;
          io.out(json ? JSON.stringify({ event: 'ready', party: 'wallet', url: base, wallet, token: sessionToken }) + '\n' : `wallet ready: open ${wallet}\n`);
          await io.stopSignal;
        } finally {
          await app.close();
        }
      } finally {
        seed.value.fill(0);
      }
      return EXIT.OK;
    });
  },
};
