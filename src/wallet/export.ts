// `wallet export TX`: the evidence bundle of a paid purchase (docs/EVIDENCE.md),
// made of the signed documents exactly as they were received and verified,
// with those of its refunds that were paid back. Anyone holding the CA
// certificate checks it offline with `quittance verify`.
import { EVIDENCE_FORMAT, EvidenceBundle, MAX_BUNDLE_REFUNDS } from '../protocol/evidence.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { OpenedWallet } from './open.ts';
import { purchaseDetail } from './purchases.ts';

export type ExportCode = 'WALLET_PURCHASE_NOT_FOUND' | 'WALLET_PURCHASE_NOT_PAID';

export async function exportEvidence(wallet: OpenedWallet, id: string): Promise<Result<EvidenceBundle, ExportCode>> {
  const found = await purchaseDetail(wallet, id);
  if (!found.ok) return found;
  const p = found.value;
  // Before PAID there is no receipt: the documents prove an order, not a purchase.
  if (p.state !== 'PAID' && p.state !== 'COMPLETED') {
    return err('WALLET_PURCHASE_NOT_PAID', `purchase ${p.transactionId} is ${p.state}: only a PAID or COMPLETED purchase has a receipt to export (finish it with \`wallet buy --resume\`)`);
  }
  const d = p.documents;
  const refunds = await paidRefunds(wallet, p.purchaseId);
  if (refunds.length > MAX_BUNDLE_REFUNDS) throw new Error(`purchase ${p.purchaseId}: ${refunds.length} refunds, more than an evidence bundle holds (${MAX_BUNDLE_REFUNDS})`);
  const bundle = {
    format: EVIDENCE_FORMAT,
    transactionId: p.transactionId,
    documents: {
      ...(d.hello ? { hello: d.hello.jws } : {}),
      order: d.order?.jws,
      // The countersigned one: the merchant's signature first, then the purchaser's acceptance.
      invoice: d.countersignedInvoice?.jws,
      receptionRequest: d.receptionRequest?.jws,
      receptionResponse: d.receptionResponse?.jws,
      receipt: d.receipt?.jws,
      ...(d.completion ? { completion: d.completion.jws } : {}),
    },
    // Absent when there is none: the bundle of an unrefunded purchase is what it always was.
    ...(refunds.length > 0 ? { refunds } : {}),
  };
  // The store holds what the wallet verified; a row that is not a valid bundle is a bug or a damaged store.
  const parsed = EvidenceBundle.safeParse(bundle);
  if (!parsed.success) throw new Error(`purchase ${p.purchaseId}: the stored documents do not form an evidence bundle: ${parsed.error.issues[0]?.message ?? ''}`);
  return ok(parsed.data);
}

/**
 * The refunds of a purchase that were paid back (REMITTED or COMPLETED), in
 * the order they were asked for. Earlier states prove nothing was paid; a
 * refund stuck before the payment server's word is not evidence of money back.
 */
async function paidRefunds(wallet: OpenedWallet, purchaseId: string): Promise<unknown[]> {
  const rows = await wallet.db
    .selectFrom('wallet_refunds')
    .select(['request_id', 'request_jws', 'claim', 'remitted_jws', 'receipt_jws', 'completed_jws'])
    .where('purchase_id', '=', purchaseId)
    .where('state', 'in', ['REMITTED', 'COMPLETED'])
    .orderBy('created_at')
    .orderBy('request_id')
    .execute();
  return rows.map((r) => {
    if (r.claim === null || r.remitted_jws === null) throw new Error(`refund ${r.request_id}: remitted without its claim or the payment server's word`);
    // The claim holds the permit as it was presented (countersigned) and the remittance request.
    const claim = JSON.parse(r.claim) as { permit: unknown; request: unknown };
    return {
      request: JSON.parse(r.request_jws) as unknown,
      permit: claim.permit,
      remittanceRequest: claim.request,
      remitted: JSON.parse(r.remitted_jws) as unknown,
      ...(r.receipt_jws !== null ? { receipt: JSON.parse(r.receipt_jws) as unknown } : {}),
      ...(r.completed_jws !== null ? { completed: JSON.parse(r.completed_jws) as unknown } : {}),
    };
  });
}
