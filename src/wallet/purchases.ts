// What `wallet history` and `wallet show TX` print: the stored purchases and
// every signed document of one, read from the store (no passphrase needed).
// The documents are shown as stored — they were verified before being kept.
import { formatAmount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { PurchaseState, WalletPurchaseTable } from './db.ts';
import type { OpenedWallet } from './open.ts';

export type PurchaseSummary = {
  purchaseId: string;
  transactionId: string;
  shop: { id: string; name: string };
  paymentServer: string;
  purchaser: { id: string; kind: 'certified' | 'anonymous' };
  amount: string;
  mode: string;
  state: PurchaseState;
  /** Why an unfinished purchase stopped (resume with `wallet buy --resume`). */
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
};

export type SignedDocument = { jws: unknown; payload: unknown };

export type PurchaseDetail = PurchaseSummary & {
  merchantUrl: string;
  merchantFingerprint: string;
  paymentUrl: string;
  paymentServerChain: string[];
  documents: Partial<Record<'hello' | 'order' | 'invoice' | 'countersignedInvoice' | 'receptionRequest' | 'receptionResponse' | 'receipt' | 'completion', SignedDocument>>;
  /** The e-money payment (170) as sent. */
  paymentRequest: unknown;
  coinsSpent: number;
  change: string;
  /** Refunds asked for (`wallet refund`), oldest first. */
  refunds: { requestId: string; state: string; amount: string; reason: string; permitId: string | null; lastError: string | null; createdAt: string }[];
};

function summary(r: WalletPurchaseTable): PurchaseSummary {
  return {
    purchaseId: r.purchase_id,
    transactionId: r.transaction_id,
    shop: { id: r.merchant_id, name: r.merchant_name },
    paymentServer: r.payment_party_id,
    purchaser: { id: r.purchaser_id, kind: r.purchaser_kind },
    amount: formatAmount({ currency: r.currency, minor: BigInt(r.amount) }),
    mode: r.payment_mode,
    state: r.state,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function document(text: string | null): SignedDocument | undefined {
  if (text === null) return undefined;
  const jws = JSON.parse(text) as { payload: string };
  return { jws, payload: JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) };
}

export async function purchaseHistory(wallet: OpenedWallet): Promise<{ purchases: PurchaseSummary[] }> {
  const rows = await wallet.db.selectFrom('wallet_purchases').selectAll().orderBy('created_at').orderBy('purchase_id').execute();
  return { purchases: rows.map(summary) };
}

/** One purchase by transaction id (or `merchant/transaction` when two shops used the same id). */
export async function purchaseDetail(wallet: OpenedWallet, id: string): Promise<Result<PurchaseDetail, 'WALLET_PURCHASE_NOT_FOUND'>> {
  const rows = await wallet.db.selectFrom('wallet_purchases').selectAll().where((eb) => eb.or([eb('transaction_id', '=', id), eb('purchase_id', '=', id)])).execute();
  if (rows.length === 0) return err('WALLET_PURCHASE_NOT_FOUND', `no purchase with transaction id ${id} (see \`quittance wallet history\`)`);
  if (rows.length > 1) return err('WALLET_PURCHASE_NOT_FOUND', `${rows.length} shops used transaction id ${id}: name it as SHOP/${id}`);
  const r = rows[0]!;
  const spent = await wallet.db.selectFrom('wallet_coins').select('value').where('spent_in', '=', r.purchase_id).execute();
  const change = r.change_request_id === null ? [] : await wallet.db.selectFrom('wallet_coins').select('value').where('request_id', '=', r.change_request_id).where('state', '=', 'unspent').execute();
  const refunds = await wallet.db.selectFrom('wallet_refunds').selectAll().where('purchase_id', '=', r.purchase_id).orderBy('created_at').execute();
  const docs: PurchaseDetail['documents'] = {};
  const put = (k: keyof PurchaseDetail['documents'], v: string | null) => {
    const d = document(v);
    if (d) docs[k] = d;
  };
  put('hello', r.hello_jws);
  put('order', r.order_jws);
  put('invoice', r.invoice_jws);
  put('countersignedInvoice', r.countersigned_invoice_jws);
  put('receptionRequest', r.reception_request_jws);
  put('receptionResponse', r.reception_response_jws);
  put('receipt', r.receipt_jws);
  put('completion', r.completion_jws);
  return ok({
    ...summary(r),
    merchantUrl: r.merchant_url,
    merchantFingerprint: r.merchant_fingerprint,
    paymentUrl: r.payment_url,
    paymentServerChain: JSON.parse(r.payment_chain) as string[],
    documents: docs,
    paymentRequest: r.payment_request === null ? null : (JSON.parse(r.payment_request) as unknown),
    coinsSpent: spent.length,
    change: formatAmount({ currency: r.currency, minor: change.reduce((s, c) => s + BigInt(c.value), 0n) }),
    refunds: refunds.map((f) => ({
      requestId: f.request_id,
      state: f.state,
      amount: formatAmount({ currency: f.currency, minor: BigInt(f.amount) }),
      reason: f.reason,
      permitId: f.permit_id,
      lastError: f.last_error,
      createdAt: f.created_at,
    })),
  });
}
