// `quittance wallet buy|history|show`: the purchase (messages 110–190) from
// the command line. The trusted display is this terminal: the verified shop
// identity, then the invoice (fig. 15), each for OK/Cancel (y/N on stdin)
// unless --yes; then the receipt (fig. 16).
import { createInterface } from 'node:readline/promises';
import { buy, parseItem, resumePurchases, type BuyEvent, type BuyPrompt, type InvoiceView, type ReceiptView } from '../../../wallet/buy.ts';
import { purchaseDetail, purchaseHistory } from '../../../wallet/purchases.ts';
import { parsePaymentUri } from '../../../protocol/payment-uri.ts';
import type { PartyView } from '../../../wallet/purchase-checks.ts';
import { EXIT, UsageError, requireString, type Command, type Io } from '../../command.ts';
import * as S from './shared.ts';

function merchantText(m: PartyView, url: string): string {
  return [
    `Merchant at ${url} — VERIFIED by your CA:`,
    `  name (certified):  ${m.displayName}`,
    `  party id:          ${m.partyId}`,
    `  role:              ${m.role}`,
    `  issued by:         ${m.issuer}`,
    `  certificate SHA-256: ${m.fingerprint}`,
    `  valid:             ${m.notBefore} .. ${m.notAfter}`,
  ].join('\n');
}

function invoiceText(i: InvoiceView): string {
  return [
    `Invoice ${i.transactionId} (signed by ${i.shop.name}, ${i.shop.id}):`,
    ...i.lines.map((l) => `  ${l.name.padEnd(24)} ${String(l.quantity).padStart(4)} × ${l.unitPrice}`),
    `  amount:            ${i.amount}  (${i.paymentMode})`,
    `  purchaser:         ${i.purchaserId}`,
    `  payment server:    ${i.paymentServer.name} (${i.paymentServer.id}) at ${i.paymentAddress}`,
    `  billed:            ${i.billTime}`,
    `  pay by:            ${i.paymentDueTime}`,
    `  refunds until:     ${i.refundDeadline}`,
  ].join('\n');
}

function receiptText(r: ReceiptView): string {
  return [
    `Receipt ${r.transactionId} — signed by ${r.recipient.name} (${r.recipient.id}), verified:`,
    `  received:          ${r.amountReceived} (${r.mode})`,
    `  for shop:          ${r.shop.name} (${r.shop.id})`,
    `  purchaser:         ${r.purchaserId}`,
    `  time:              ${r.time}`,
    `  invoice hash:      ${r.invoiceHash}`,
  ].join('\n');
}

export async function askYes(io: Io, question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  try {
    io.err(`${question} [y/N] `);
    const answer = await rl.question('');
    return /^(y|yes)$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

function confirmer(io: Io, json: boolean, yes: boolean): (p: BuyPrompt) => Promise<boolean> {
  return async (p) => {
    // With --json, stdout carries exactly one JSON document (the result); what is shown
    // along the way goes to stderr as JSON lines.
    if (json) io.err(JSON.stringify(p) + '\n');
    else io.err((p.kind === 'merchant' ? merchantText(p.merchant, p.merchantUrl) : invoiceText(p.invoice)) + '\n');
    if (yes) return true;
    return askYes(io, p.kind === 'merchant' ? 'Order from this merchant?' : 'Pay this invoice?');
  };
}

function displayer(io: Io, json: boolean): (e: BuyEvent) => void {
  return (e) => {
    if (json) {
      io.err(JSON.stringify(e) + '\n');
      return;
    }
    if (e.kind === 'stored') io.err(`purchase ${e.purchaseId} stored; paying\n`);
    if (e.kind === 'paying') io.err(e.purseKey !== undefined ? `paying from your purse ${e.purseKey}\n` : `paying with ${e.coins} coin${e.coins === 1 ? '' : 's'}, change ${e.change}\n`);
    if (e.kind === 'receipt') io.err(receiptText(e.receipt) + '\n');
    if (e.kind === 'completion' && e.state === 'stored') io.err('the shop confirmed the payment (signed completion kept)\n');
    if (e.kind === 'completion' && e.state === 'not-offered') io.err('the shop does not take receipt copies yet; the purchase is PAID\n');
    if (e.kind === 'completion' && e.state === 'failed') io.err(`the shop did not confirm: ${e.code ?? ''} ${e.message ?? ''} (the purchase is PAID; --resume tries again)\n`);
  };
}

export const buyCommand: Command = {
  name: 'buy',
  summary: 'buy from a shop: verified shop identity, signed order and invoice, payment (e-money or purse), signed receipt',
  options: {
    data: S.DATA,
    merchant: { type: 'string', description: 'base URL of the shop (e.g. http://127.0.0.1:7004)', valueName: 'URL' },
    item: { type: 'string', multiple: true, description: 'article name or id and quantity, e.g. "ARTICLE A:1"', valueName: 'NAME:QTY' },
    anonymous: { type: 'boolean', description: 'sign with a fresh per-order key instead of your certificate' },
    mode: { type: 'string', description: 'payment mode: ecash (coins, default) or account (your purse at the payment server; not with --anonymous)', valueName: 'MODE' },
    yes: { type: 'boolean', description: 'accept the shop and the invoice without asking (scripts)' },
    resume: { type: 'boolean', description: 'finish interrupted purchases (or only the transaction given as argument) with the identical requests' },
    json: S.JSON_OUT,
  },
  args: '[PAYMENT_URI | TX]',
  details: `Needs a registered wallet (the shop and the payment server are checked against its CA
and the CA's current CRL) and money at the shop's payment server: coins for --mode ecash
('wallet load'), or a loaded purse for --mode account ('wallet load --into purse'). An
account payment is identified: the payment server debits the purse registered to your
certificate; anonymous purchases (--anonymous) pay with coins only.
Instead of --merchant and --item, a payment URI from a shop ("Pay with Quittance"):
'quittance wallet buy --data W "quittance://pay?shop=…&offer=…"' buys the shop's offer
exactly as the shop priced it (its lines are shown in the invoice); "…&items=A:1,B:2"
buys those catalogue articles.
Shows the shop's CERTIFIED identity, then the invoice, each for y/N (--yes accepts);
any failed check stops with its code and nothing is paid. The purchase is stored before
the first payment message and every request before it is sent: after a crash or a lost
answer, 'quittance wallet buy --data DIR --resume' repeats them; nothing is paid twice.
Evidence: 'wallet history', 'wallet show TX', 'wallet export TX --out FILE', then
'quittance verify FILE --ca CA.pem' anywhere, offline.`,
  async run({ values, positionals }, io) {
    const json = Boolean(values.json);
    const mode = typeof values.mode === 'string' ? values.mode : 'ecash';
    if (mode !== 'ecash' && mode !== 'account') throw new UsageError(`--mode must be ecash or account, got ${mode}`);
    if (mode === 'account' && values.anonymous) throw new UsageError('--mode account pays from the purse registered to your identity; an --anonymous purchase pays with e-money (--mode ecash)');
    if (values.resume) {
      for (const o of ['merchant', 'item', 'anonymous', 'mode']) if (values[o] !== undefined) throw new UsageError(`--${o} does not go with --resume (the purchase already names it)`);
    } else if (positionals.length > 1) throw new UsageError('give one payment URI (a transaction id goes only with --resume)');
    // A payment URI names the shop and what to buy: not with --merchant or --item.
    const uri = values.resume || positionals[0] === undefined ? undefined : parsePaymentUri(positionals[0]);
    if (uri && !uri.ok) throw new UsageError(uri.message);
    if (uri) for (const o of ['merchant', 'item']) if (values[o] !== undefined) throw new UsageError(`--${o} does not go with a payment URI (it names the shop and what to buy)`);
    const items = values.resume ? [] : uri ? (uri.value.kind === 'items' ? uri.value.items : []) : ((values.item as string[] | undefined) ?? []).map((raw) => {
      const r = parseItem(raw);
      if (!r.ok) throw new UsageError(r.message);
      return r.value;
    });
    const merchantUrl = values.resume ? '' : uri ? uri.value.shop : requireString(values, 'merchant');
    const offer = uri?.value.kind === 'offer' ? uri.value.offerId : undefined;
    if (!values.resume && !uri) {
      if (!URL.canParse(merchantUrl) || !/^https?:$/.test(new URL(merchantUrl).protocol)) throw new UsageError(`--merchant must be an http:// or https:// URL, got ${merchantUrl}`);
      if (items.length === 0) throw new UsageError('name at least one --item "ARTICLE:QTY"');
    }
    return S.withWallet(values, io, async (w) => {
      const pass = await S.passphrase(io, 'Wallet passphrase: ');
      const seed = await w.unlockSeed(pass);
      if (!seed.ok) return S.fail(io, json, seed);
      try {
        const deps = { now: S.now, fetch, seed: seed.value, passphrase: pass, confirm: confirmer(io, json, Boolean(values.yes)), display: displayer(io, json) };
        if (values.resume) {
          const r = await resumePurchases(w, deps, positionals[0]);
          if (!r.ok) return S.fail(io, json, r);
          const v = r.value;
          const text = v.resumed.length + v.failed.length === 0 ? 'no unfinished purchases\n' : [...v.resumed.map((x) => `finished: ${x.purchaseId} ${x.state}`), ...v.failed.map((x) => `not finished: ${x.purchaseId}: ${x.code} ${x.message}`)].join('\n') + '\n';
          S.printResult(io, json, v, text);
          return v.failed.length === 0 ? EXIT.OK : EXIT.FAILED;
        }
        const r = await buy(w, { merchantUrl, items, ...(offer !== undefined ? { offer } : {}), anonymous: Boolean(values.anonymous), mode }, deps);
        if (!r.ok) return S.fail(io, json, r);
        const how = r.value.receipt.mode === 'account' ? 'from your purse' : `change ${r.value.change}`;
        S.printResult(io, json, r.value, `${r.value.state}: ${r.value.transactionId} — ${r.value.receipt.amountReceived} paid to ${r.value.receipt.recipient.name}, ${how}\n`);
        return EXIT.OK;
      } finally {
        seed.value.fill(0);
      }
    });
  },
};

export const history: Command = {
  name: 'history',
  summary: 'list your purchases and their state',
  options: { data: S.DATA, json: S.JSON_OUT },
  async run({ values }, io) {
    return S.withWallet(values, io, async (w) => {
      const h = await purchaseHistory(w);
      const text =
        h.purchases.length === 0
          ? '(no purchases)\n'
          : h.purchases.map((p) => `${p.createdAt}  ${p.state.padEnd(9)} ${p.amount.padEnd(12)} ${p.shop.name} (${p.transactionId})${p.lastError ? `  stopped: ${p.lastError}` : ''}`).join('\n') + '\n';
      S.printResult(io, Boolean(values.json), h, text);
      return EXIT.OK;
    });
  },
};

export const show: Command = {
  name: 'show',
  summary: 'show one purchase with all its signed documents',
  args: 'TX',
  options: { data: S.DATA, json: S.JSON_OUT },
  async run({ values, positionals }, io) {
    const id = positionals[0];
    if (id === undefined || positionals.length !== 1) throw new UsageError('give one transaction id (see `wallet history`)');
    return S.withWallet(values, io, async (w) => {
      const d = await purchaseDetail(w, id);
      if (!d.ok) return S.fail(io, Boolean(values.json), d);
      const p = d.value;
      const lines = [
        `purchase ${p.purchaseId}: ${p.state}${p.lastError ? ` (stopped: ${p.lastError})` : ''}`,
        `  shop:            ${p.shop.name} (${p.shop.id}) at ${p.merchantUrl}, certificate ${p.merchantFingerprint}`,
        `  payment server:  ${p.paymentServer} at ${p.paymentUrl}`,
        `  purchaser:       ${p.purchaser.id} (${p.purchaser.kind})`,
        `  amount:          ${p.amount} (${p.mode}); ${p.mode === 'account' ? 'from your purse' : `${p.coinsSpent} coins spent, change ${p.change}`}`,
        ...p.refunds.map((f) => `  refund:          ${f.amount} ${f.state}${f.permitId ? ` (permit ${f.permitId})` : ''} — ${f.reason}${f.lastError ? `; stopped: ${f.lastError}` : ''}`),
        '  documents:',
        ...Object.entries(p.documents).map(([k, doc]) => `    ${k.padEnd(22)} ${JSON.stringify(doc.payload)}`),
      ];
      S.printResult(io, Boolean(values.json), p, lines.join('\n') + '\n');
      return EXIT.OK;
    });
  },
};
