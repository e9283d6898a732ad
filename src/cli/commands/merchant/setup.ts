// `quittance merchant init` and `quittance merchant serve`.
import { resolve } from 'node:path';
import { createApp } from '../../../merchant/app.ts';
import { initMerchant } from '../../../merchant/init.ts';
import { runSettlementSweep } from '../../../merchant/settle.ts';
import { runSettlementWatch } from '../../../merchant/settlement-watch.ts';
import { runWebhookDelivery } from '../../../merchant/webhook-delivery.ts';
import { EXIT, UsageError, integerOption, requireString, type Command } from '../../command.ts';
import { listenAddress, listenOptions, serveUntilStopped, serverLogger } from '../../serve.ts';
import * as S from './shared.ts';

/** The one spelling the documents use (fields.ts HttpUrl): "http://h:1" becomes "http://h:1/". */
function canonicalUrl(raw: string, name: string): string {
  try {
    return new URL(raw).href;
  } catch {
    throw new UsageError(`--${name} ${raw}: not a URL`);
  }
}

export const init: Command = {
  name: 'init',
  summary: 'create a shop from a `merchant` certificate (config, catalogue, key copy, operator token)',
  options: {
    data: S.DATA,
    cert: { type: 'string', description: 'certificate chain, PEM, leaf first then the CA (chain.pem of `ca issue --role merchant`)', valueName: 'CHAIN.pem' },
    key: { type: 'string', description: 'its encrypted private key (key.pem of `ca issue`)', valueName: 'KEY.pem' },
    name: { type: 'string', description: "the shop's name for operators (default: the certificate's display name)", valueName: 'NAME' },
    'payment-url': { type: 'string', description: 'base URL of the payment server named in invoices (e.g. http://127.0.0.1:7003/)', valueName: 'URL' },
    'payment-cert': { type: 'string', description: "that payment server's certificate chain (chain.pem of `ca issue --role payment`)", valueName: 'CHAIN.pem' },
    'ca-url': { type: 'string', description: "the CA's base URL: certified orders are checked against its CRL (default: no revocation check)", valueName: 'URL' },
    'due-minutes': { type: 'string', description: 'minutes an invoice can be paid (default 30)', valueName: 'N' },
    'refund-days': { type: 'string', description: 'days after billing a refund may be asked for (default 30)', valueName: 'N' },
    db: S.DB,
  },
  details: `Checks that CHAIN.pem is a certificate for role merchant ending at the CA root, that KEY.pem
(decrypted with QUITTANCE_PASSPHRASE or a prompt) is its key, and that the payment server's chain is a
payment certificate of the same CA; then copies them into DIR and writes DIR/merchant.json with the
demo catalogue (ARTICLE A JPY:1000, B JPY:2000, C JPY:1500, D JPY:500) and selling conditions; edit
its "catalogue" to sell something else. The operator token is printed once; only its SHA-256 is stored.`,
  async run({ values }, io) {
    const dir = resolve(requireString(values, 'data'));
    const certPath = resolve(requireString(values, 'cert'));
    const keyPath = resolve(requireString(values, 'key'));
    const paymentUrl = typeof values['payment-url'] === 'string' ? canonicalUrl(values['payment-url'], 'payment-url') : undefined;
    const paymentCert = typeof values['payment-cert'] === 'string' ? resolve(values['payment-cert']) : undefined;
    if ((paymentUrl === undefined) !== (paymentCert === undefined)) throw new UsageError('--payment-url and --payment-cert go together');
    const config: Record<string, unknown> = {};
    const due = integerOption(values['due-minutes'], 'due-minutes', 1, 7 * 24 * 60);
    if (due !== undefined) config.paymentDueMinutes = due;
    const refund = integerOption(values['refund-days'], 'refund-days', 0, 3650);
    if (refund !== undefined) config.refundDays = refund;
    if (typeof values['ca-url'] === 'string') config.caUrl = canonicalUrl(values['ca-url'], 'ca-url');
    if (typeof values.db === 'string') config.db = values.db;
    const r = await initMerchant(dir, {
      certPath,
      keyPath,
      passphrase: await S.passphrase(io),
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      ...(paymentUrl !== undefined && paymentCert !== undefined ? { payment: { url: paymentUrl, certPath: paymentCert } } : {}),
      config,
    });
    if (!r.ok) {
      io.err(`${r.code}: ${r.message}\n`);
      return EXIT.FAILED;
    }
    const ps = r.value.paymentServer;
    io.out(
      `merchant server created in ${dir}\n  party id: ${r.value.partyId} ("${r.value.displayName}")\n` +
        `  payment server: ${ps ? `${ps.partyId} ("${ps.displayName}") at ${ps.url}` : 'none yet (orders are refused until one is named)'}\n` +
        `  catalogue: ${r.value.config.catalogue.articles.length} articles\n` +
        `  operator token (shown once, keep it secret): ${r.value.adminToken}\n`,
    );
    return EXIT.OK;
  },
};

export const serve: Command = {
  name: 'serve',
  summary: 'run the merchant server (catalogue, hello, orders → signed invoices, receipts → signed completions)',
  options: {
    data: S.DATA,
    ...listenOptions(7004),
    db: S.DB,
  },
  details: `Prints one JSON line {"event":"ready","party":"merchant","url":…} when it listens; stops on
SIGINT/SIGTERM. The key passphrase comes from QUITTANCE_PASSPHRASE or a prompt.
Every settleSweepSeconds (merchant.json, default 10; 0 = off) it asks the payment server about
unpaid orders whose payment due time plus settleMarginMinutes (default 60) has not passed, and
settles those it reports PAID with a receipt, so an order is settled even when the shopper's
client stops after paying. Every settlementWatchSeconds (default 60; 0 = off) it fetches the
payment server's settlement reports (settlement.paid), and every webhookSweepSeconds (default 5;
0 = off) it sends due webhook deliveries (\`merchant webhook --help\`).`,
  async run({ values }, io) {
    const address = listenAddress(values, 7004);
    return S.withMerchant(values, io, async (m) => {
      const app = createApp(m.deps, { logger: serverLogger(io) });
      const stopSweep = new AbortController();
      let sweep: Promise<unknown> | undefined;
      // Only once listening: a server that failed to start settles nothing.
      app.addHook('onListen', async () => {
        sweep ??= Promise.all([
          runSettlementSweep(m.deps, { signal: stopSweep.signal, log: app.log.child({ component: 'settlement' }) }),
          runSettlementWatch(m.deps, { signal: stopSweep.signal, log: app.log.child({ component: 'settlement-watch' }) }),
          runWebhookDelivery(m.deps, { signal: stopSweep.signal, log: app.log.child({ component: 'webhooks' }) }),
        ]);
      });
      try {
        await serveUntilStopped(app, io, 'merchant', address);
      } finally {
        stopSweep.abort();
        await sweep;
      }
      return EXIT.OK;
    });
  },
};
