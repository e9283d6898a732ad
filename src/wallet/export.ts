// `wallet export TX`: the evidence bundle of a paid purchase (docs/EVIDENCE.md),
// made of the signed documents exactly as they were received and verified.
// Anyone holding the CA certificate checks it offline with `quittance verify`.
import { EVIDENCE_FORMAT, EvidenceBundle } from '../protocol/evidence.ts';
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
  };
  // The store holds what the wallet verified; a row that is not a valid bundle is a bug or a damaged store.
  const parsed = EvidenceBundle.safeParse(bundle);
  if (!parsed.success) throw new Error(`purchase ${p.purchaseId}: the stored documents do not form an evidence bundle: ${parsed.error.issues[0]?.message ?? ''}`);
  return ok(parsed.data);
}
