// The shop's settlement reports (read side of settlement, issue 5): asks the
// payment server named in merchant.json for them with a query signed by the
// shop's own key (POST /v1/settlements/query), believes only reports signed
// by that payment server's certificate (party id from merchant.json, path to
// the shop's CA, revocation when a CA URL is configured) that name this shop
// and that server, and keeps them (merchant_settlement_reports, migration
// 0004) so the shop has its evidence without asking again.
import type { Kysely } from 'kysely';
import { parseAmount } from '../protocol/amount.ts';
import {
  MAX_SETTLEMENT_REPORTS,
  parseDocument,
  SETTLEMENT_QUERY_TYP,
  SETTLEMENT_REPORT_TYP,
  SettlementReportsAnswer,
  type JwsGeneral,
  type SettlementQuery,
  type SettlementReport,
} from '../protocol/documents/index.ts';
import { signDocument, verifyDocument } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { CRL_MAX_AGE_SECONDS } from './crl.ts';
import type { MerchantDatabase } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantErrorCode } from './errors.ts';
import { codeOf } from './payment-server.ts';

/** One stored report (migration 0004-settlement-reports). */
export interface MerchantSettlementReportTable {
  settlement_id: string;
  currency: string;
  /** Wire amount, e.g. "JPY:6". */
  amount: string;
  item_count: number;
  /** The report's own time. */
  report_time: string;
  /** The signed report, JWS JSON, as received. */
  report_jws: string;
  fetched_at: string;
}

type Db = Kysely<MerchantDatabase & { merchant_settlement_reports: MerchantSettlementReportTable }>;

function reportsDb(db: Kysely<MerchantDatabase>): Db {
  return db.withTables<{ merchant_settlement_reports: MerchantSettlementReportTable }>();
}

export type SettlementReportView = { settlementId: string; amount: string; payoutAccount: string; time: string; items: SettlementReport['items'] };

const FETCH_TIMEOUT_MS = 10_000;
/** MAX_SETTLEMENT_REPORTS reports of at most a JwsGeneral payload each, and some room. */
const MAX_ANSWER_CHARS = MAX_SETTLEMENT_REPORTS * 100_000;
const MAX_PAGES = 500;

type Deps = Pick<MerchantDeps, 'db' | 'signer' | 'paymentServer' | 'trustAnchors' | 'crls' | 'clock' | 'verificationCache' | 'fetch'>;

async function ask(deps: Deps, url: string, body: unknown): Promise<Result<SettlementReportsAnswer, MerchantErrorCode>> {
  const target = new URL('v1/settlements/query', url.endsWith('/') ? url : `${url}/`);
  let status: number;
  let text: string;
  try {
    const res = await (deps.fetch ?? fetch)(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', `the payment server at ${target.origin} cannot be reached: ${e instanceof Error ? e.name : 'error'}`);
  }
  if (text.length > MAX_ANSWER_CHARS) return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', 'the payment server answered too much', { status });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', `the payment server answered ${status} without JSON`, { status });
  }
  if (status !== 200) {
    const code = codeOf(json);
    const message = typeof (json as { message?: unknown }).message === 'string' ? (json as { message: string }).message.slice(0, 300) : '';
    if (status >= 500 || code === undefined) return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', `the payment server answered ${status}`, { status });
    return err('MERCHANT_SETTLEMENT_QUERY_REFUSED', `the payment server refused the settlement query: ${code}${message ? `: ${message}` : ''}`, { status, code });
  }
  const parsed = SettlementReportsAnswer.safeParse(json);
  if (!parsed.success) return err('MERCHANT_SETTLEMENT_REPORT_INVALID', 'the payment server answered with something that is not a list of signed reports');
  return ok(parsed.data);
}

/** A report is believed only when the payment server of merchant.json signed it, about this shop. */
async function checkReport(deps: Deps, jws: JwsGeneral): Promise<Result<SettlementReport, MerchantErrorCode>> {
  const ps = deps.paymentServer!;
  const crls = await deps.crls();
  if (!crls.ok) return crls;
  const v = await verifyDocument(jws, {
    now: deps.clock(),
    trustAnchors: deps.trustAnchors,
    crls: crls.value.crls,
    requireCrl: crls.value.required,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: SETTLEMENT_REPORT_TYP,
    signers: [{ roles: ['payment'] }],
    cache: deps.verificationCache,
  });
  if (!v.ok) return err('MERCHANT_SETTLEMENT_REPORT_INVALID', `a settlement report's signature is not accepted: ${v.message}`, { code: v.code });
  const signer = v.value.signers[0]!;
  if (signer.kind !== 'certified' || signer.partyId !== ps.partyId) {
    return err('MERCHANT_SETTLEMENT_REPORT_INVALID', `a settlement report is signed by ${signer.kind === 'certified' ? signer.partyId : 'an uncertified key'}, not by ${ps.partyId}, the payment server of merchant.json`);
  }
  const doc = parseDocument(SETTLEMENT_REPORT_TYP, v.value.payload);
  if (!doc.ok) return err('MERCHANT_SETTLEMENT_REPORT_INVALID', `a settlement report does not parse: ${doc.message}`, { issues: doc.details });
  if (doc.value.shop.id !== deps.signer.partyId || doc.value.paymentServer.id !== ps.partyId) {
    return err('MERCHANT_SETTLEMENT_REPORT_INVALID', `settlement report ${doc.value.settlementId} names shop ${doc.value.shop.id} and payment server ${doc.value.paymentServer.id}, not this shop and ${ps.partyId}`);
  }
  return ok(doc.value);
}

function view(r: SettlementReport): SettlementReportView {
  return { settlementId: r.settlementId, amount: r.amount, payoutAccount: r.payoutAccount, time: r.time, items: r.items };
}

/**
 * Fetches every report made since `since` (default: the newest one stored,
 * or all), checks each, stores the new ones and returns all it fetched. One
 * report that fails its check fails the whole fetch and nothing is stored.
 */
export async function fetchSettlementReports(deps: Deps, opts: { since?: string } = {}): Promise<Result<{ reports: SettlementReportView[]; stored: number }, MerchantErrorCode>> {
  const ps = deps.paymentServer;
  if (!ps) return err('MERCHANT_PAYMENT_SERVER_UNSET', 'merchant.json names no payment server');
  const db = reportsDb(deps.db);
  let since = opts.since;
  if (since === undefined) {
    const last = await db.selectFrom('merchant_settlement_reports').select('report_time').orderBy('report_time', 'desc').limit(1).executeTakeFirst();
    since = last?.report_time;
  }
  const found = new Map<string, { report: SettlementReport; jws: JwsGeneral }>();
  for (let page = 0; page < MAX_PAGES; page++) {
    const now = deps.clock();
    const query: SettlementQuery = {
      typ: SETTLEMENT_QUERY_TYP,
      shopId: deps.signer.partyId,
      paymentServerId: ps.partyId,
      ...(since !== undefined ? { since } : {}),
      time: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
    };
    const request = await signDocument({ payload: query, typ: SETTLEMENT_QUERY_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
    const answer = await ask(deps, ps.url, { request });
    if (!answer.ok) return answer;
    let newest = since;
    for (const jws of answer.value.reports) {
      const r = await checkReport(deps, jws);
      if (!r.ok) return r;
      found.set(r.value.settlementId, { report: r.value, jws });
      if (newest === undefined || r.value.time > newest) newest = r.value.time;
    }
    // `since` is inclusive: stop when a full page did not move it (reports of one second beyond a page are not paged further).
    if (!answer.value.more || newest === since) break;
    since = newest;
  }
  const at = deps.clock().toISOString();
  let stored = 0;
  for (const { report, jws } of found.values()) {
    const amount = parseAmount(report.amount);
    const r = await db
      .insertInto('merchant_settlement_reports')
      .values({ settlement_id: report.settlementId, currency: amount.ok ? amount.value.currency : report.currency, amount: report.amount, item_count: report.items.length, report_time: report.time, report_jws: JSON.stringify(jws), fetched_at: at })
      .onConflict((oc) => oc.column('settlement_id').doNothing())
      .executeTakeFirst();
    if ((r.numInsertedOrUpdatedRows ?? 0n) > 0n) stored++;
  }
  const reports = [...found.values()].map((f) => view(f.report)).sort((a, b) => a.time.localeCompare(b.time) || a.settlementId.localeCompare(b.settlementId));
  return ok({ reports, stored });
}

/** The stored reports, oldest first (as they were checked when fetched). */
export async function storedSettlementReports(db: Kysely<MerchantDatabase>): Promise<SettlementReportView[]> {
  const rows = await reportsDb(db).selectFrom('merchant_settlement_reports').select('report_jws').orderBy('report_time').orderBy('settlement_id').execute();
  return rows.map((row) => {
    const jws = JSON.parse(row.report_jws) as JwsGeneral;
    const doc = parseDocument(SETTLEMENT_REPORT_TYP, JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as unknown);
    if (!doc.ok) throw new Error('a stored settlement report does not parse');
    return view(doc.value);
  });
}
