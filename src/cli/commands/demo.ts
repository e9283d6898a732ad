// `quittance demo` (= `npm start`): the whole marketplace on this machine — CA
// (auto-approving), bank, payment server (with its loader) and a shop (with its
// settlement sweep) — in one process, with SQLite under one directory. The
// first run creates everything (src/cli/demo/setup.ts); later runs reuse it.
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApp as createBankApp } from '../../bank/app.ts';
import { getAccount } from '../../bank/accounts.ts';
import { OPERATOR } from '../../bank/auth.ts';
import { openBank } from '../../bank/open.ts';
import { createApp as createCaApp } from '../../ca/app.ts';
import { openCa } from '../../ca/open.ts';
import { createApp as createMerchantApp } from '../../merchant/app.ts';
import { DEFAULT_CATALOGUE } from '../../merchant/config.ts';
import { openMerchant } from '../../merchant/open.ts';
import { runSettlementSweep } from '../../merchant/settle.ts';
import { runSettlementWatch } from '../../merchant/settlement-watch.ts';
import { runWebhookDelivery } from '../../merchant/webhook-delivery.ts';
import { createApp as createPaymentApp } from '../../payment/app.ts';
import { ensureDenominationKeys } from '../../payment/denominations.ts';
import { setMerchantNotifyUrl } from '../../payment/merchants.ts';
import { startNotifier } from '../../payment/notification-delivery.ts';
import { startLoader } from '../../payment/loader.ts';
import { startSettlementSchedule } from '../../payment/settlement.ts';
import { openPayment } from '../../payment/open.ts';
import { EXIT, UsageError, integerOption, type Command, type Io } from '../command.ts';
import { failWith } from '../output.ts';
import {
  DEMO_MERCHANT_NAME,
  DemoDataError,
  PARTIES,
  createDemo,
  demoPaths,
  partyUrl,
  portOf,
  readDemo,
  type DemoAddress,
  type DemoFile,
  type Party,
} from '../demo/setup.ts';
import { DEMO_WALLET_LOAD, demoWalletDaemon, ensureDemoWallet, walletBaseUrl, walletPort } from '../demo/wallet.ts';

const DEFAULT_DATA = './.quittance/demo';
const DEFAULT_BASE_PORT = 7001;
/** How often the demo pays the shop's takings out to its bank account (a real payment server: settleEveryMinutes, default 60). */
const DEMO_SETTLE_EVERY_MINUTES = 1;
/** How often waiting notifications to the shop are sent (a real payment server: notifyEverySeconds, default 5). */
const DEMO_NOTIFY_EVERY_SECONDS = 1;

type Closer = () => Promise<unknown>;

/** A port somebody else holds: reported as CLI_PORT_IN_USE, naming it. */
class PortInUse extends Error {}

function portError(e: unknown, port: number, party: Party | 'wallet', host: string): PortInUse | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES') return undefined;
  return new PortInUse(`port ${port} (for the ${party}) on ${host}: ${code === 'EACCES' ? 'permission denied' : 'address already in use'}`);
}

/** Binds and releases each port, so a taken one stops the demo before its first run writes anything. */
async function checkPorts(address: DemoAddress): Promise<void> {
  const all: [Party | 'wallet', number][] = [...PARTIES.map((p): [Party, number] => [p, portOf(address, p)]), ['wallet', walletPort(address)]];
  for (const [party, port] of all) {
    await new Promise<void>((ok, fail) => {
      const probe = createServer();
      probe.once('error', (e) => fail(portError(e, port, party, address.host) ?? e));
      probe.listen({ port, host: address.host, exclusive: true }, () => probe.close(() => ok()));
    });
  }
}

/** What the browser opens: the wallet page (with its session token), the storefront, the shop's dashboard. */
type WebUrls = { wallet: string; storefront: string; dashboard: string; pageBuilt: boolean };

function guide(dir: string, demo: DemoFile, created: boolean, balance: string | undefined, web: WebUrls): string {
  const p = demoPaths(dir);
  const url = (party: Party) => partyUrl(demo, party);
  const articles = DEFAULT_CATALOGUE.articles.map((a) => `${a.name} ${a.unitPrice}`).join(', ');
  return [
    '',
    'Quittance demo — DEMO ONLY, NOT FOR REAL MONEY: the keys are encrypted with a fixed passphrase',
    `written in ${p.demoFile}, and the CA certifies whoever registers.`,
    `  data      ${dir} (${created ? 'created now' : 'reused'})`,
    `  CA        ${url('ca')}   root certificate ${p.caCert}`,
    `  bank      ${url('bank')}`,
    `  payment   ${url('payment')}`,
    `  shop      ${url('merchant')}   "${DEMO_MERCHANT_NAME}": ${articles} (merchant.json may say otherwise)`,
    `  shopper   bank account ${demo.shopper.bankAccount}${balance ? ` (balance ${balance})` : ''}, holder token in ${demo.shopper.tokenFile}`,
    ...(demo.shopBank ? [`  shop's bank account ${demo.shopBank.bankAccount} (token in ${p.demoFile}): the payment server pays the shop's takings there every ${DEMO_SETTLE_EVERY_MINUTES} minute`] : []),
    '',
    'In the browser (the shopper\'s wallet "Hanako" is registered and was loaded with ' + DEMO_WALLET_LOAD + ' on its first run):',
    `  wallet       ${web.wallet}`,
    `  storefront   ${web.storefront}   (open the wallet link first, in the same tab)`,
    `  dashboard    ${web.dashboard}   operator token ${demo.operatorTokens.merchant}`,
    ...(web.pageBuilt ? [] : ['  (the web pages are not built: run `npm run build:web`, or start with `npm start`)']),
    '',
    'In another terminal, a wallet registers, loads money and buys:',
    "  export QUITTANCE_PASSPHRASE='a passphrase for your wallet'",
    '  npx quittance wallet init --data ./wallet',
    `  npx quittance wallet register --data ./wallet --ca ${url('ca')} --ca-cert ${p.caCert} --name Hanako`,
    `  npx quittance wallet load --data ./wallet --bank ${url('bank')} --payment ${url('payment')} \\`,
    `      --account ${demo.shopper.bankAccount} --bank-token-file ${demo.shopper.tokenFile} --amount JPY:10000`,
    `  npx quittance wallet buy --data ./wallet --merchant ${url('merchant')} --item "ARTICLE A:1" --item "ARTICLE C:2"`,
    `  npx quittance wallet buy --data ./wallet --merchant ${url('merchant')} --item "ARTICLE B:1" --anonymous`,
    'and pays from a purse at the payment server (mode account, identified):',
    `  npx quittance wallet load --data ./wallet --bank ${url('bank')} --payment ${url('payment')} \\`,
    `      --account ${demo.shopper.bankAccount} --bank-token-file ${demo.shopper.tokenFile} --amount JPY:5000 --into purse`,
    `  npx quittance wallet buy --data ./wallet --merchant ${url('merchant')} --item "ARTICLE D:2" --mode account`,
    'gets money back (a part, then the rest):',
    '  npx quittance wallet refund TX --data ./wallet --amount JPY:1000 --reason "ARTICLE A returned"',
    '  npx quittance wallet refund TX --data ./wallet --reason "the rest"',
    'then proves a purchase offline and checks the books:',
    `  npx quittance wallet export TX --data ./wallet --out bundle.json   (TX from: npx quittance wallet history --data ./wallet)`,
    `  npx quittance verify bundle.json --ca ${p.caCert}`,
    `  npx quittance audit --data ${p.payment}`,
    '',
    'Ctrl-C stops the demo; run it again to continue with the same data.',
    '',
  ].join('\n');
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export const demo: Command = {
  name: 'demo',
  summary: 'run the whole marketplace here (CA, bank, payment server, shop) with demo data — not for real money',
  options: {
    data: { type: 'string', description: `the demo's directory (default ${DEFAULT_DATA}); made on the first run, reused after`, valueName: 'DIR' },
    'base-port': { type: 'string', description: `ports N (CA), N+1 (bank), N+2 (payment), N+3 (shop), N+4 (wallet page); default ${DEFAULT_BASE_PORT}`, valueName: 'N' },
    host: { type: 'string', description: 'address to listen on (default 127.0.0.1)', valueName: 'HOST' },
    json: { type: 'boolean', description: 'leave out the guide on stderr: stdout carries the ready line only' },
  },
  details: `The first run makes, in DIR: a CA that certifies at registration (demo only), a bank
with a shopper account holding JPY:100000 (its holder token in DIR/shopper-token), a payment
server with its bank account, and the shop "${DEMO_MERCHANT_NAME}" under contract; the keys are
encrypted with a fixed passphrase written in DIR/demo.json (0600, with the operator tokens).
Once every server listens, a shopper wallet (DIR/wallet, "Hanako") is registered and loaded with
${DEMO_WALLET_LOAD} from that account (first run only) and served by the wallet daemon on N+4 with
the wallet page; the shop serves its storefront at /shop/ and its dashboard at /admin/.
Later runs reuse DIR with the same --host and --base-port. When every party answers /healthz,
stdout gets one JSON line {"ready":true,"urls":{…},"wallet":URL#token=…,"storefront":URL,
"dashboard":URL,"ca_cert":PATH,"shopper":{"bankAccount","tokenFile","wallet"}}.
Ctrl-C or SIGTERM stops everything and exits 0. A port in use: CLI_PORT_IN_USE, exit 1.
Server logs (warnings by default; QUITTANCE_LOG_LEVEL) go to stderr.`,
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const dir = resolve(typeof values.data === 'string' && values.data !== '' ? values.data : DEFAULT_DATA);
    const address: DemoAddress = {
      host: typeof values.host === 'string' && values.host !== '' ? values.host : '127.0.0.1',
      basePort: integerOption(values['base-port'], 'base-port', 1, 65532) ?? DEFAULT_BASE_PORT,
    };
    const quiet = values.json === true;
    try {
      await checkPorts(address);
      let state = await readDemo(dir, address);
      const created = state === undefined;
      if (!quiet) io.err(created ? `making the demo marketplace in ${dir}…\n` : `starting the demo marketplace from ${dir}…\n`);
      state ??= await createDemo(dir, address);
      return await serveDemo(dir, state, created, io, quiet);
    } catch (e) {
      if (e instanceof PortInUse) return failWith(io, false, { code: 'CLI_PORT_IN_USE', message: `${e.message}; stop what holds it or choose another --base-port` });
      if (e instanceof DemoDataError) return failWith(io, false, { code: 'CLI_DEMO_DATA_INVALID', message: e.message });
      throw e;
    }
  },
};

/** Runs every closer in reverse order even if one fails; the first failure is thrown after. */
async function closeAll(closers: Closer[]): Promise<void> {
  const failures: unknown[] = [];
  for (const close of closers.reverse()) await close().catch((e: unknown) => failures.push(e));
  if (failures.length > 0) throw failures[0];
}

async function serveDemo(dir: string, state: DemoFile, created: boolean, io: Io, quiet: boolean): Promise<number> {
  const paths = demoPaths(dir);
  const pass = state.passphrase;
  const logger = { level: io.env.QUITTANCE_LOG_LEVEL ?? 'warn', stream: { write: (line: string) => io.err(line) } };
  // Undone in reverse on the way out, whatever happened: background work, then servers, then databases.
  const closers: Closer[] = [];
  const stop = new AbortController();
  const apps: Partial<Record<Party, FastifyInstance>> = {};
  try {
    const ca = await openCa(paths.ca, { passphrase: pass, configOverrides: { autoApprove: true } });
    closers.push(() => ca.close());
    apps.ca = createCaApp(ca.deps, { logger });

    const bank = await openBank(paths.bank);
    closers.push(() => bank.close());
    apps.bank = createBankApp(bank.deps, { logger });

    const payment = await openPayment(paths.payment, { passphrase: pass });
    closers.push(() => payment.close());
    await ensureDenominationKeys(payment.deps, payment.deps.clock());
    apps.payment = createPaymentApp(payment.deps, { logger });

    // The storefront hands its payment URIs to this demo's wallet page.
    const merchant = await openMerchant(paths.merchant, { passphrase: pass, configOverrides: { walletUrl: walletBaseUrl(state) } });
    closers.push(() => merchant.close());
    apps.merchant = createMerchantApp(merchant.deps, { logger });

    for (const party of PARTIES) {
      const app = apps[party]!;
      const port = portOf(state, party);
      try {
        await app.listen({ port, host: state.host });
      } catch (e) {
        throw portError(e, port, party, state.host) ?? e;
      }
      closers.push(() => app.close());
    }
    // Only once every server listens: nothing takes money in or settles before the demo is up.
    const loader = startLoader(payment.deps, { signal: stop.signal, log: apps.payment.log.child({ component: 'loader' }) });
    const sweep = runSettlementSweep(merchant.deps, { signal: stop.signal, log: apps.merchant.log.child({ component: 'settlement' }) });
    // The shop's own backend hears of payments, refunds and payouts (webhooks, if the operator added endpoints).
    const watch = runSettlementWatch(merchant.deps, { signal: stop.signal, log: apps.merchant.log.child({ component: 'settlement-watch' }) });
    const webhooks = runWebhookDelivery(merchant.deps, { signal: stop.signal, log: apps.merchant.log.child({ component: 'webhooks' }) });
    // Paying the shop's takings to its bank account: every minute in the demo (payment.json says 60 for real servers).
    const payouts = startSettlementSchedule(payment.deps, { signal: stop.signal, everyMinutes: DEMO_SETTLE_EVERY_MINUTES, log: apps.payment.log.child({ component: 'payout' }) });
    const urls = Object.fromEntries(PARTIES.map((p) => [p, partyUrl(state, p)])) as Record<Party, string>;
    // The shop is told of payments and refunds as they happen, wherever it listens this time.
    await setMerchantNotifyUrl(payment.deps.db, merchant.deps.signer.partyId, urls.merchant, new Date());
    const notifier = startNotifier(payment.deps, { signal: stop.signal, everySeconds: DEMO_NOTIFY_EVERY_SECONDS, log: apps.payment.log.child({ component: 'notifications' }) });
    closers.push(async () => {
      stop.abort();
      await Promise.all([loader, sweep, payouts, notifier, watch, webhooks]);
    });

    const answers = await Promise.all(PARTIES.map((p) => healthy(urls[p])));
    const silent = PARTIES.filter((_, i) => !answers[i]);
    if (silent.length > 0) throw new Error(`no answer on /healthz from ${silent.join(', ')}`);

    // The shopper's wallet for the browser: made and loaded once the servers it talks to are up.
    if (!quiet) io.err('opening the demo wallet…\n');
    const shopperWallet = await ensureDemoWallet(dir, state);
    closers.push(() => shopperWallet.wallet.close());
    const daemon = await demoWalletDaemon(shopperWallet.wallet, state, logger);
    closers.push(async () => daemon.seed.fill(0));
    try {
      await daemon.app.listen({ port: walletPort(state), host: state.host });
    } catch (e) {
      throw portError(e, walletPort(state), 'wallet', state.host) ?? e;
    }
    closers.push(() => daemon.app.close());
    const web: WebUrls = { wallet: `${walletBaseUrl(state)}#token=${daemon.token}`, storefront: `${urls.merchant}/shop/`, dashboard: `${urls.merchant}/admin/`, pageBuilt: daemon.pageBuilt };

    // After the wallet's first load: the guide shows what is left on the shopper's account.
    const shopperAccount = await getAccount(bank.deps, OPERATOR, state.shopper.bankAccount);
    if (!quiet) io.err(guide(dir, state, created, shopperAccount.ok ? shopperAccount.value.balance : undefined, web));
    io.out(
      JSON.stringify({
        ready: true,
        urls,
        wallet: web.wallet,
        storefront: web.storefront,
        dashboard: web.dashboard,
        ca_cert: paths.caCert,
        shopper: { bankAccount: state.shopper.bankAccount, tokenFile: state.shopper.tokenFile, wallet: join(dir, 'wallet') },
        ...(state.shopBank ? { shop: { bankAccount: state.shopBank.bankAccount } } : {}),
      }) + '\n',
    );
    await io.stopSignal;
    if (!quiet) io.err('stopping the demo…\n');
  } catch (e) {
    await closeAll(closers).catch(() => {}); // the first error is the one to report
    throw e;
  }
  await closeAll(closers);
  if (!quiet) io.err('demo stopped\n');
  return EXIT.OK;
}
