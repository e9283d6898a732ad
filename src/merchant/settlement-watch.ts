// settlement.paid without an operator: `merchant serve` fetches the payment
// server's signed settlement reports every settlementWatchSeconds
// (settlement-reports.ts checks and stores them) and announces each stored
// report that has no event yet.
//
// Announcing looks at what is stored, not at what one fetch returned, so a
// report stored by `quittance merchant settlements` (the CLI), or by a fetch
// whose process died before announcing, is announced by the next pass: the
// event exists once its report row committed, and exactly once (the event's
// dedupe key). Its `created` time, and the endpoints it goes to, are those of
// the moment the shop stored the report. Reports stored before webhooks
// existed go to no endpoint, since none existed then.
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { parseDocument, SETTLEMENT_REPORT_TYP, type JwsGeneral } from '../protocol/documents/index.ts';
import { withRetry } from '../store/index.ts';
import type { MerchantDeps } from './deps.ts';
import type { SweepLog } from './settle.ts';
import { fetchSettlementReports, type MerchantSettlementReportTable } from './settlement-reports.ts';
import { enqueueSettlementPaid, type SettlementPaidData } from './webhooks.ts';

type Deps = Pick<MerchantDeps, 'db' | 'clock'>;
const PAGE = 100;

function reportsDb(db: MerchantDeps['db']) {
  return db.withTables<{ merchant_settlement_reports: MerchantSettlementReportTable }>();
}

/** The event's data, from the report as it was checked and stored. */
function dataOf(reportJws: string): SettlementPaidData {
  const jws = JSON.parse(reportJws) as JwsGeneral;
  const doc = parseDocument(SETTLEMENT_REPORT_TYP, JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as unknown);
  if (!doc.ok) throw new Error('a stored settlement report does not parse');
  const r = doc.value;
  const refunds = r.items.filter((i) => i.kind === 'refund').length;
  return {
    settlementId: r.settlementId,
    amount: r.amount,
    currency: r.currency,
    transactions: r.items.length,
    payments: r.items.length - refunds,
    refunds,
    // The payment server pays a settlement with a bank transfer whose id is the settlement id.
    bankTransferId: r.settlementId,
    payoutAccount: r.payoutAccount,
    time: r.time,
  };
}

/** Emits settlement.paid for every stored report that has none; returns how many were emitted. */
export async function announceSettlements(deps: Deps, log?: SweepLog): Promise<number> {
  const db = reportsDb(deps.db);
  let announced = 0;
  let after = '';
  for (;;) {
    const page = await db
      .selectFrom('merchant_settlement_reports as r')
      .select(['r.settlement_id', 'r.report_jws', 'r.fetched_at'])
      .where('r.settlement_id', '>', after)
      .where(({ not, exists, selectFrom }) =>
        // The dedupe key of settlementDedupeKey (webhooks.ts).
        not(exists(selectFrom('merchant_webhook_events as v').select('v.event_id').where('v.dedupe_key', '=', sql<string>`'settlement.paid:' || ${sql.ref('r.settlement_id')}`))),
      )
      .orderBy('r.settlement_id')
      .limit(PAGE)
      .execute();
    for (const row of page) {
      const data = dataOf(row.report_jws);
      if (data.settlementId !== row.settlement_id) throw new Error(`stored report ${row.settlement_id} names settlement ${data.settlementId}`);
      const r = await withRetry(() => deps.db.transaction().execute((trx) => enqueueSettlementPaid(trx, data, new Date(row.fetched_at), deps.clock())));
      if (r.created) {
        announced++;
        log?.info({ settlementId: row.settlement_id, eventId: r.eventId, deliveries: r.deliveries }, 'settlement.paid queued');
      }
    }
    if (page.length < PAGE) return announced;
    after = page[page.length - 1]!.settlement_id;
  }
}

/** One pass: fetch new reports (when a payment server is named), then announce. A failed fetch still announces what is stored. */
export async function watchSettlementsOnce(deps: Parameters<typeof fetchSettlementReports>[0], log?: SweepLog): Promise<{ fetched: number; announced: number }> {
  let fetched = 0;
  if (deps.paymentServer) {
    const r = await fetchSettlementReports(deps);
    if (r.ok) fetched = r.value.stored;
    else log?.warn({ code: r.code }, 'fetching settlement reports failed');
  }
  return { fetched, announced: await announceSettlements(deps, log) };
}

/**
 * `merchant serve`: a pass at start and every settlementWatchSeconds
 * (merchant.json, default 60; 0 = off) until `signal` aborts. A failed pass
 * is logged and the next one runs as usual.
 */
export async function runSettlementWatch(deps: MerchantDeps, opts: { signal: AbortSignal; log: SweepLog }): Promise<void> {
  const everyMs = deps.config.settlementWatchSeconds * 1000;
  if (everyMs === 0) return;
  while (!opts.signal.aborted) {
    try {
      await watchSettlementsOnce(deps, opts.log);
    } catch (e) {
      opts.log.warn({ error: e instanceof Error ? `${e.name}: ${e.message}` : 'error' }, 'settlement watch pass failed');
    }
    try {
      await sleep(everyMs, undefined, { signal: opts.signal });
    } catch {
      return; // aborted
    }
  }
}
