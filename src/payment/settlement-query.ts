// POST /v1/settlements/query: a shop fetches its signed settlement reports.
// The query is signed by the shop's certified `merchant` key (under this
// server's CA, checked against the CRL when one is configured), names this
// payment server and is fresh (±SETTLEMENT_QUERY_WINDOW_SECONDS): a shop
// reads its own reports and nobody else's. The answer is the stored reports
// as signed when each settlement was made.
import { SETTLEMENT_QUERY_TYP, SETTLEMENT_QUERY_WINDOW_SECONDS, MAX_SETTLEMENT_REPORTS, parseDocument, rfc3339UtcToMillis, type SettlementQueryCall, type SettlementReportsAnswer } from '../protocol/documents/index.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { normalized, verifyUnderOurCa, type PurchaseDeps, type PurchaseOptions } from './money-reception.ts';
import { settlementReports } from './settlement.ts';

export async function querySettlements(
  deps: Pick<PurchaseDeps, 'db' | 'signer' | 'caches' | 'clock'>,
  opts: PurchaseOptions,
  call: SettlementQueryCall,
): Promise<Result<SettlementReportsAnswer, PayHttpErrorCode>> {
  const jws = normalized(call.request);
  const now = deps.clock();
  const v = await verifyUnderOurCa(deps, opts, jws, { typ: SETTLEMENT_QUERY_TYP, signers: [{ roles: ['merchant'] }], document: 'request', what: 'settlement query' }, now);
  if (!v.ok) return v;
  const parsed = parseDocument(SETTLEMENT_QUERY_TYP, v.value.payload);
  if (!parsed.ok) return err('PAY_DOCUMENT_INVALID', `the settlement query: ${parsed.message}`, { document: 'request', issues: parsed.details });
  const q = parsed.value;
  const signer = v.value.signers[0]!;
  if (signer.kind !== 'certified' || signer.partyId !== q.shopId) return err('PAY_MERCHANT_NOT_ACCEPTED', `the settlement query for shop ${q.shopId} is not signed by that shop`);
  if (q.paymentServerId !== deps.signer.partyId) return err('PAY_SETTLEMENT_QUERY_INVALID', `the settlement query is for payment server ${q.paymentServerId}, not ${deps.signer.partyId}`);
  const at = rfc3339UtcToMillis(q.time)!;
  if (Math.abs(at - now.getTime()) > SETTLEMENT_QUERY_WINDOW_SECONDS * 1000) {
    return err('PAY_SETTLEMENT_QUERY_INVALID', `the settlement query's time ${q.time} is more than ${SETTLEMENT_QUERY_WINDOW_SECONDS / 60} minutes from ${now.toISOString()}: check the clock and sign a fresh one`);
  }
  const merchant = await deps.db.selectFrom('payment_merchants').select('merchant_id').where('merchant_id', '=', q.shopId).executeTakeFirst();
  if (!merchant) return err('PAY_MERCHANT_NOT_ACCEPTED', `shop ${q.shopId} has no contract here`);
  const found = await settlementReports(deps.db, q.shopId, q.since, MAX_SETTLEMENT_REPORTS);
  return ok({ reports: found.reports.map((r) => JSON.parse(r) as SettlementReportsAnswer['reports'][number]), more: found.more });
}
