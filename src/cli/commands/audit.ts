// `quittance audit`: checks the payment server's books against each other
// (src/payment/audit.ts) and exits 1 on any violation, so it can run from cron
// or CI. It reads only: no migration, no write; a SQLite file that does not
// exist is an error, not a new empty database.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { auditPayment, type AuditReport } from '../../payment/audit.ts';
import { paymentPaths, readPaymentConfig, resolveDbUrl } from '../../payment/data-dir.ts';
import { trustAnchorOf } from '../../payment/merchants.ts';
import { x509 } from '../../protocol/x509/index.ts';
import type { PaymentDatabase } from '../../payment/db.ts';
import { openDatabase } from '../../store/index.ts';
import { EXIT, UsageError, type Command } from '../command.ts';
import { JSON_OUT } from '../output.ts';

async function databaseUrl(values: Record<string, unknown>): Promise<string> {
  if (typeof values.db === 'string' && values.db !== '') return values.db;
  if (typeof values.data === 'string' && values.data !== '') {
    const dir = resolve(values.data);
    return resolveDbUrl(dir, (await readPaymentConfig(dir)).db);
  }
  throw new UsageError('--db URL (or --data DIR of a payment server) is required');
}

/**
 * The CA refund signatures must chain to, from outside the audited database:
 * --ca FILE, or with --data the root of the payment server's own chain. One
 * that was asked for and cannot be read is an error, never a silent fallback.
 * Neither given: undefined (the audit then uses the contracts' roots, weaker).
 */
async function trustAnchors(values: Record<string, unknown>): Promise<Uint8Array[] | undefined> {
  let path: string;
  if (typeof values.ca === 'string' && values.ca !== '') path = resolve(values.ca);
  else if (typeof values.data === 'string' && values.data !== '') path = paymentPaths(resolve(values.data)).chain;
  else return undefined;
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`the CA to check signatures against: ${path}: ${(e as Error).message}`, { cause: e });
  }
  const certs = x509.PemConverter.decodeWithHeaders(pem)
    .filter((b) => b.type === 'CERTIFICATE')
    .map((b) => new Uint8Array(b.rawData));
  if (certs.length === 0) throw new Error(`the CA to check signatures against: ${path} holds no certificate`);
  return [trustAnchorOf(certs)];
}

function text(report: AuditReport): string {
  const failed = report.checks.filter((c) => !c.ok);
  const lines = [report.ok ? `payment books: sound (${report.checks.length} checks)` : `payment books: ${failed.length} of ${report.checks.length} checks FAILED`];
  for (const c of report.checks) {
    lines.push(`  ${(c.ok ? 'ok' : 'FAILED').padEnd(7)} ${c.name}`);
    for (const p of c.problems) lines.push(`          - ${p}`);
  }
  return lines.join('\n') + '\n';
}

export const audit: Command = {
  name: 'audit',
  summary: "check the payment server's books (ledger, float, coins, reserves, loads, bank mirror); exit 1 on a violation",
  options: {
    db: { type: 'string', description: "the payment server's database URL (sqlite:PATH or postgres://…)", valueName: 'URL' },
    data: { type: 'string', description: 'or: a payment server data directory (its payment.json names the database; its CA checks the signatures)', valueName: 'DIR' },
    ca: { type: 'string', description: "the CA certificate (PEM) refund signatures and merchant contracts must chain to (default with --data: the payment server's own CA)", valueName: 'CA.pem' },
    json: JSON_OUT,
  },
  details: `Checks: schema (all migrations applied), ledger (balances sum to zero, match their transfers),
float (= envelopes issued − coins spent, per currency), coins (spent once, at their key's value),
withdrawals and swaps (amount = envelopes = coins or ledger transfer), payments (coins = amount +
change, transfer float or purse → merchant, a purse payment signed by its purse key), refunds
(per payment ≤ paid = Σ refunds = refunded; transfer merchant → float or purse; envelopes =
amount; each permit once; the permit signed by the shop's merchant certificate and countersigned
by the recipient, the remittance request and repayment receipt by the same key — chains checked
against the payment server's CA with --data, else against the roots of the merchant contracts),
reserves (ledger = loads − withdrawals − purse payments + refunds
into the purse), purses (each binding signed by its purse key), loads (each incoming bank entry:
one load or one bounce of its amount), bounces (state agrees with the held money), bank (mirror
= −received + bounces paid back), suspense (= bounced − paid back; holds = bounces held) and
transfers (each explained by a bank entry, bounce, withdrawal, payment or refund, in its
accounts' currency). Reads only, from one snapshot (one read-only transaction): safe on a
running server's database.
Exit 0 when sound, 1 with the report (JSON: code PAY_AUDIT_FAILED) on any violation.`,
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const url = await databaseUrl(values);
    if (url.startsWith('sqlite:') && url !== 'sqlite::memory:' && !existsSync(url.slice('sqlite:'.length))) {
      throw new Error(`no database at ${url.slice('sqlite:'.length)}`);
    }
    const anchors = await trustAnchors(values);
    if (!anchors && values.json !== true) io.err('note: no --ca or --data: refund signatures are checked against the roots of the merchant contracts stored in the database itself\n');
    const store = await openDatabase<PaymentDatabase>(url);
    let report: AuditReport;
    try {
      report = await auditPayment(store.db, anchors ? { trustAnchors: anchors } : {});
    } finally {
      await store.close();
    }
    const failed = report.checks.filter((c) => !c.ok).map((c) => c.name);
    if (values.json === true) {
      const body = report.ok ? report : { ok: false, code: 'PAY_AUDIT_FAILED', message: `violated: ${failed.join(', ')}`, checks: report.checks };
      io.out(JSON.stringify(body, null, 2) + '\n');
    } else {
      io.out(text(report));
      if (!report.ok) io.err(`PAY_AUDIT_FAILED: violated: ${failed.join(', ')}\n`);
    }
    return report.ok ? EXIT.OK : EXIT.FAILED;
  },
};
