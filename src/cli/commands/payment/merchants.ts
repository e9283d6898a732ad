// `quittance payment add-merchant | merchants | suspend-merchant | activate-merchant | notify-merchant`:
// the merchants this payment server accepts invoices from (src/payment/merchants.ts).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { paymentPaths } from '../../../payment/data-dir.ts';
import { addMerchant, listMerchants, setMerchantNotifyUrl, setMerchantStatus, trustAnchorOf, type MerchantView } from '../../../payment/merchants.ts';
import { isValidAccountId } from '../../../protocol/messages/bank.ts';
import { x509 } from '../../../protocol/x509/index.ts';
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what} ${path}: ${(e as Error).message}`);
  }
}

/** The CA this server trusts: the last certificate of DIR/payment-chain.pem (no passphrase needed). */
async function trustAnchor(dir: string): Promise<Uint8Array> {
  const path = paymentPaths(dir).chain;
  const certs = x509.PemConverter.decodeWithHeaders(await readText(path, 'the payment server chain'))
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => new Uint8Array(b.rawData));
  if (certs.length === 0) throw new Error(`${path} holds no certificate`);
  return trustAnchorOf(certs);
}

function line(m: MerchantView): string {
  const notify = m.notifyUrl === null ? '' : `  notified at ${m.notifyUrl}`;
  return `${m.merchantId.padEnd(24)} ${m.status.padEnd(10)} ${(m.payoutAccount ?? '(no payout account)').padEnd(20)} ${m.displayName}  sha256 ${m.fingerprint}${notify}`;
}

/** --notify: the merchant server's base URL, http(s) only. */
function notifyUrlOf(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--notify ${raw} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--notify ${raw}: only http and https URLs`);
  if (url.search !== '' || url.hash !== '') throw new UsageError(`--notify ${raw}: the merchant server's base URL, without query or fragment`);
  return url.href;
}

const NOTIFY = { type: 'string', description: "the merchant server's base URL: payments and repayments are posted to it as they happen", valueName: 'URL' } as const;

export const addMerchantCommand: Command = {
  name: 'add-merchant',
  summary: 'accept invoices from a merchant (by its `merchant` certificate from this CA)',
  options: {
    data: S.DATA,
    db: S.DB,
    cert: { type: 'string', description: "the merchant's certificate chain, PEM, leaf first (chain.pem of `ca issue --role merchant`)", valueName: 'CHAIN.pem' },
    payout: { type: 'string', description: 'bank account its takings are paid out to', valueName: 'QB…' },
    notify: NOTIFY,
    json: S.JSON_OUT,
  },
  details: `Checks that CHAIN.pem is a merchant certificate valid now under the CA of this payment
server's own chain, then records the contract (active) under the certificate's party id. Invoices
are accepted from that party id only while the contract is active. With --notify, the
merchant server is told of each payment and repayment as it happens (it checks the signed
state as when it asks). Needs no passphrase.`,
  async run({ values }, io) {
    const dir = resolve(requireString(values, 'data'));
    const chainPem = await readText(resolve(requireString(values, 'cert')), '--cert');
    const payout = typeof values.payout === 'string' ? values.payout : null;
    if (payout !== null && !isValidAccountId(payout)) throw new UsageError(`--payout ${payout} is not a bank account id (QB, 2 check digits, 12 characters)`);
    const notifyUrl = notifyUrlOf(values.notify);
    const anchor = await trustAnchor(dir);
    const json = values.json === true;
    return S.withPaymentStore(values, async (p) => {
      const r = await addMerchant(p.db, { chainPem, payoutAccount: payout, notifyUrl, trustAnchor: anchor, now: new Date() });
      if (!r.ok) return failWith(io, json, r);
      printResult(io, json, { ok: true, merchant: r.value }, `merchant accepted\n  ${line(r.value)}\n`);
      return EXIT.OK;
    });
  },
};

export const merchantsCommand: Command = {
  name: 'merchants',
  summary: 'list the merchants this server accepts invoices from',
  options: { data: S.DATA, db: S.DB, json: S.JSON_OUT },
  details: 'Reads the database only; needs no passphrase.',
  async run({ values }, io) {
    return S.withPaymentStore(values, async (p) => {
      const merchants = await listMerchants(p.db);
      printResult(io, values.json === true, { merchants }, merchants.length === 0 ? 'no merchants yet (`payment add-merchant`)\n' : merchants.map(line).join('\n') + '\n');
      return EXIT.OK;
    });
  },
};

function statusCommand(name: string, status: 'active' | 'suspended', summary: string): Command {
  return {
    name,
    summary,
    args: 'MERCHANT_ID',
    options: { data: S.DATA, db: S.DB, json: S.JSON_OUT },
    details:
      status === 'suspended'
        ? 'New invoices and payments of the merchant are refused (PAY_MERCHANT_NOT_ACCEPTED); payments already made stay as they are.'
        : 'Invoices of the merchant are accepted again.',
    async run({ values, positionals }, io) {
      const id = positionals[0];
      if (id === undefined || positionals.length !== 1) throw new UsageError('give exactly one MERCHANT_ID');
      const json = values.json === true;
      return S.withPaymentStore(values, async (p) => {
        const r = await setMerchantStatus(p.db, id, status, new Date());
        if (!r.ok) return failWith(io, json, r);
        printResult(io, json, { ok: true, merchant: r.value }, `${line(r.value)}\n`);
        return EXIT.OK;
      });
    },
  };
}

export const suspendMerchantCommand = statusCommand('suspend-merchant', 'suspended', 'stop accepting invoices from a merchant');
export const activateMerchantCommand = statusCommand('activate-merchant', 'active', 'accept invoices from a suspended merchant again');

export const notifyMerchantCommand: Command = {
  name: 'notify-merchant',
  summary: "set (or with --off clear) where a merchant server is notified of payments and repayments",
  args: 'MERCHANT_ID',
  options: { data: S.DATA, db: S.DB, notify: NOTIFY, off: { type: 'boolean', description: 'notify no more: the shop only asks' }, json: S.JSON_OUT },
  details: `Notifications already waiting go to the URL current when they are sent. The shop learns
every state when it asks as well (its background sweep), so notifying is about promptness,
never about money. Needs no passphrase.`,
  async run({ values, positionals }, io) {
    const id = positionals[0];
    if (id === undefined || positionals.length !== 1) throw new UsageError('give exactly one MERCHANT_ID');
    const off = values.off === true;
    const url = notifyUrlOf(values.notify);
    if (off === (url !== null)) throw new UsageError('give either --notify URL or --off');
    const json = values.json === true;
    return S.withPaymentStore(values, async (p) => {
      const r = await setMerchantNotifyUrl(p.db, id, url, new Date());
      if (!r.ok) return failWith(io, json, r);
      printResult(io, json, { ok: true, merchant: r.value }, `${line(r.value)}\n`);
      return EXIT.OK;
    });
  },
};
