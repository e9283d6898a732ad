// `quittance payment init` and `quittance payment serve`.
import { resolve } from 'node:path';
import { parseAmount } from '../../../protocol/amount.ts';
import { currencyDigits } from '../../../protocol/currencies.ts';
import { createApp } from '../../../payment/app.ts';
import { ensureDenominationKeys } from '../../../payment/denominations.ts';
import { initPayment } from '../../../payment/init.ts';
import { startLoader } from '../../../payment/loader.ts';
import { startNotifier } from '../../../payment/notification-delivery.ts';
import { startSettlementSchedule } from '../../../payment/settlement.ts';
import { EXIT, UsageError, integerOption, requireString, type Command } from '../../command.ts';
import { listenAddress, listenOptions, serveUntilStopped, serverLogger } from '../../serve.ts';
import * as S from './shared.ts';

function dayOption(raw: unknown, name: string): number | undefined {
  return integerOption(raw, name, 0, 3650);
}

/** The largest power of two not above 10,000 major units: JPY:8192, EUR:5242.88. */
export function defaultMaxMinor(currency: string): bigint {
  const limit = 10_000n * 10n ** BigInt(currencyDigits(currency) ?? 0);
  let v = 1n;
  while (v * 2n <= limit) v *= 2n;
  return v;
}

/** --currency CUR (default maximum) and --max-value CUR:AMOUNT, both repeatable, into config entries. */
export function currencyOptions(currencies: unknown, maxValues: unknown): { maxValue: string }[] | undefined {
  const byCurrency = new Map<string, string>();
  for (const c of (currencies as string[] | undefined) ?? []) {
    if (currencyDigits(c) === undefined) throw new UsageError(`--currency ${c}: not an ISO 4217 code Quittance knows`);
    byCurrency.set(c, `${c}:${defaultMaxMinor(c)}`);
  }
  for (const m of (maxValues as string[] | undefined) ?? []) {
    const a = parseAmount(m);
    if (!a.ok) throw new UsageError(`--max-value ${m}: ${a.message}`);
    byCurrency.set(a.value.currency, m);
  }
  return byCurrency.size === 0 ? undefined : [...byCurrency.values()].map((maxValue) => ({ maxValue }));
}

export const init: Command = {
  name: 'init',
  summary: 'create a payment server from a `payment` certificate (config, key copy, operator token)',
  options: {
    data: S.DATA,
    cert: { type: 'string', description: 'certificate chain, PEM, leaf first (chain.pem of `ca issue --role payment`)', valueName: 'CHAIN.pem' },
    key: { type: 'string', description: 'its encrypted private key (key.pem of `ca issue`)', valueName: 'KEY.pem' },
    name: { type: 'string', description: "the server's name for operators (default: the certificate's display name)", valueName: 'NAME' },
    currency: { type: 'string', multiple: true, description: 'issue e-money in this currency, denominations up to about 10,000 units', valueName: 'CUR' },
    'max-value': { type: 'string', multiple: true, description: 'largest denomination of its currency, a power of two in minor units (e.g. JPY:8192)', valueName: 'AMOUNT' },
    'key-bits': { type: 'string', description: 'RSA size of denomination keys (default 2048, at least 2048)', valueName: 'N' },
    'withdraw-days': { type: 'string', description: 'how long a denomination key signs coins (default 30)', valueName: 'N' },
    'deposit-days': { type: 'string', description: 'how long its coins are accepted (default 365)', valueName: 'N' },
    'overlap-days': { type: 'string', description: 'publish the next key this long before the current one stops signing (default 7)', valueName: 'N' },
    'ca-url': { type: 'string', description: "the CA's base URL: certificates in invoices are checked against its CRL (default: no revocation check)", valueName: 'URL' },
    db: S.DB,
  },
  details: `Checks that CHAIN.pem is a certificate for role payment and that KEY.pem (decrypted with
QUITTANCE_PASSPHRASE or a prompt) is its key, then copies both into DIR and writes DIR/payment.json.
The same passphrase protects the denomination keys in the database. Default currency: JPY up to
JPY:8192. The operator token is printed once; only its SHA-256 is stored.`,
  async run({ values }, io) {
    const dir = resolve(requireString(values, 'data'));
    const certPath = resolve(requireString(values, 'cert'));
    const keyPath = resolve(requireString(values, 'key'));
    const config: Record<string, unknown> = {};
    const currencies = currencyOptions(values.currency, values['max-value']);
    if (currencies) config.currencies = currencies;
    if (values['key-bits'] !== undefined) {
      const bits = Number(values['key-bits']);
      if (!Number.isInteger(bits)) throw new UsageError(`--key-bits must be an integer, got ${String(values['key-bits'])}`);
      config.denominationKeyBits = bits;
    }
    const days = { withdrawDays: 'withdraw-days', depositDays: 'deposit-days', rotationOverlapDays: 'overlap-days' } as const;
    for (const [field, opt] of Object.entries(days)) {
      const d = dayOption(values[opt], opt);
      if (d !== undefined) config[field] = d;
    }
    if (typeof values.db === 'string') config.db = values.db;
    if (typeof values['ca-url'] === 'string') config.caUrl = values['ca-url'];
    const r = await initPayment(dir, {
      certPath,
      keyPath,
      passphrase: await S.passphrase(io),
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      config,
    });
    if (!r.ok) {
      io.err(`${r.code}: ${r.message}\n`);
      return EXIT.FAILED;
    }
    io.out(
      `payment server created in ${dir}\n  party id: ${r.value.partyId} ("${r.value.displayName}")\n` +
        `  denominations: ${r.value.config.currencies.map((c) => `up to ${c.maxValue}`).join(', ')}\n` +
        `  operator token (shown once, keep it secret): ${r.value.adminToken}\n`,
    );
    return EXIT.OK;
  },
};

export const serve: Command = {
  name: 'serve',
  summary: 'run the payment server (signed denomination key list, reserves, loading, settlement)',
  options: {
    data: S.DATA,
    ...listenOptions(7003),
    db: S.DB,
  },
  details: `Makes the denomination keys that are due, then prints one JSON line
{"event":"ready","party":"payment","url":…} when it listens; stops on SIGINT/SIGTERM.
With a bank link (\`payment link-bank\`) it also watches the linked bank accounts: a transfer
whose subject is a reserve public key loads that reserve, anything else is sent back.
Several servers may watch the same accounts; each transfer is handled once.
With a bank link it also pays merchants' takings out at start and every settleEveryMinutes
(payment.json, default 60; 0: only \`payment settle\` or POST /v1/admin/settlements/run).
Merchants whose contract names a notification URL (\`payment add-merchant --notify\`) are told
of payments and repayments; waiting notifications are sent every notifyEverySeconds
(payment.json, default 5; 0: never — merchants then only ask).
The key passphrase comes from QUITTANCE_PASSPHRASE or a prompt.`,
  async run({ values }, io) {
    const address = listenAddress(values, 7003);
    return S.withPayment(values, io, async (p) => {
      await ensureDenominationKeys(p.deps, p.deps.clock());
      const app = createApp(p.deps, { logger: serverLogger(io) });
      const stopLoader = new AbortController();
      let loader: Promise<void> | undefined;
      let settlements: Promise<void> | undefined;
      let notifier: Promise<void> | undefined;
      app.addHook('onListen', async () => {
        notifier ??= startNotifier(p.deps, { signal: stopLoader.signal, everySeconds: p.deps.config.notifyEverySeconds, log: app.log.child({ component: 'notifications' }) });
      });
      // Only once listening: a server that fails to start takes no money in and pays none out.
      if (p.deps.bankLink) {
        app.addHook('onListen', async () => {
          loader ??= startLoader(p.deps, { signal: stopLoader.signal, log: app.log.child({ component: 'loader' }) });
          if (p.deps.config.settleEveryMinutes > 0) {
            settlements ??= startSettlementSchedule(p.deps, { signal: stopLoader.signal, everyMinutes: p.deps.config.settleEveryMinutes, log: app.log.child({ component: 'settlement' }) });
          }
        });
      }
      try {
        await serveUntilStopped(app, io, 'payment', address);
      } finally {
        stopLoader.abort();
        await loader;
        await settlements;
        await notifier;
      }
      return EXIT.OK;
    });
  },
};
