// What every mode of message 170 → 180 shares (ecash-payment.ts, purses.ts):
// the ledger transfer's id, the signed receipt (fig. 7), and the answer to a
// payment request that comes after the transaction was paid.
import type { Kysely } from 'kysely';
import { Receipt, RECEIPT_TYP } from '../protocol/documents/index.ts';
import { signDocument, type GeneralJws } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { PaymentDatabase, PaymentPaymentTable } from './db.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { storedInvoice, type PurchaseDeps } from './money-reception.ts';

type Db = Kysely<PaymentDatabase>;

/** The ledger transfer that pays the merchant: one per payment, whatever the mode. */
export function paymentTransferId(paymentId: string): string {
  return `payment:${paymentId}`;
}

/** A JWS as the response schemas type it: protected headers and signatures only, mutable arrays. */
export type WireJws = { payload: string; signatures: { protected: string; signature: string }[] };

export function wireJws(jws: GeneralJws): WireJws {
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) };
}

/** The receipt of `row` paid in `mode` at `now` (second precision), signed by this payment server. */
export async function signReceipt(deps: Pick<PurchaseDeps, 'signer'>, row: PaymentPaymentTable, mode: 'ecash' | 'account', now: Date): Promise<GeneralJws> {
  const invoice = storedInvoice(row);
  const payload = Receipt.parse({
    typ: RECEIPT_TYP,
    transactionId: row.transaction_id,
    purchaserId: row.purchaser_id,
    amountReceived: invoice.amount,
    mode,
    shop: invoice.shop,
    recipient: { id: deps.signer.partyId, name: deps.signer.displayName },
    time: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
    invoiceHash: row.invoice_hash,
  });
  return signDocument({ payload, typ: RECEIPT_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
}

/**
 * Once the payment is PAID: the stored receipt when `requestHash` is the
 * request that paid it (a replay), PAY_REQUEST_CONFLICT for any other
 * request. Undefined while it is not paid.
 */
export async function paidReceipt(db: Db, paymentId: string, requestHash: string): Promise<Result<WireJws, PayHttpErrorCode> | undefined> {
  const now = await db.selectFrom('payment_payments').select(['state', 'payment_request_hash', 'receipt_jws', 'transaction_id']).where('payment_id', '=', paymentId).executeTakeFirstOrThrow();
  if (now.state !== 'PAID') return undefined;
  if (now.payment_request_hash !== requestHash) return err('PAY_REQUEST_CONFLICT', `transaction ${now.transaction_id} was already paid by another payment`);
  return ok(wireJws(JSON.parse(now.receipt_jws!) as GeneralJws));
}
