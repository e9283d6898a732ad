// Message 210 → 190 (EP 0 848 343 fig. 5, steps 650–670; DESIGN §2): the
// receipt copy settles the order it names.
//
// The receipt must be signed with the key of the payment server named in THIS
// order's invoice — the chain stored with the order, not whichever payment
// server the shop names today, and not just any certified payment server:
// another payment server of the same CA could otherwise "receive" money it
// never had. Its payload must then answer the stored invoice field by field.
//
// Pipeline: order exists → the very receipt that settled it already: its
// completion again (no CRL fetch, no signature work) → CRL → signature,
// path (role payment, our CA, not revoked) → signer is the invoice's payment
// server, with the key of the stored chain → the payload is a receipt → it
// matches the invoice → completion signed (CPU, no transaction open) → ONE
// transaction: UNPAID → PAID, receipt and completion stored, limited stock
// counted. The conditional update makes a twin (the shopper's copy racing the
// payment server's, or a retry) a no-op that answers the winner's completion.
import { sql, type Kysely, type Selectable } from 'kysely';
import { parseAmount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import {
  COMPLETION_TYP,
  INVOICE_TYP,
  parseDocument,
  RECEIPT_TYP,
  type Completion,
  type Invoice,
  type JwsGeneral,
  type Receipt,
} from '../protocol/documents/index.ts';
import { signDocument, verifyDocument, type GeneralJws } from '../protocol/jws.ts';
import type { CompletionResponse } from '../protocol/messages/merchant.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import { CRL_MAX_AGE_SECONDS } from './crl.ts';
import type { MerchantDatabase, MerchantOrderTable } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import { sameBytes, signingKeyOf, storedLeafKey } from './payment-server.ts';
import { enqueueOrderPaid } from './webhooks.ts';

type Db = Kysely<MerchantDatabase>;
type OrderRow = Pick<
  Selectable<MerchantOrderTable>,
  'transaction_id' | 'purchaser_id' | 'payment_state' | 'invoice_jws' | 'invoice_hash' | 'payment_server_id' | 'payment_server_chain' | 'receipt_jws' | 'completion_jws'
>;

export type ReceiptOutcome = { response: CompletionResponse; replay: boolean };

/** The JWS as stored and compared: exactly the fields of the general serialization. */
export function wireJws(jws: GeneralJws | JwsGeneral): JwsGeneral {
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) };
}

async function findOrder(db: Db, transactionId: string): Promise<OrderRow | undefined> {
  return db
    .selectFrom('merchant_orders')
    .select(['transaction_id', 'purchaser_id', 'payment_state', 'invoice_jws', 'invoice_hash', 'payment_server_id', 'payment_server_chain', 'receipt_jws', 'completion_jws'])
    .where('transaction_id', '=', transactionId)
    .executeTakeFirst();
}

function storedCompletion(row: OrderRow, replay: boolean): Result<ReceiptOutcome, MerchantHttpErrorCode> {
  if (row.completion_jws === null) throw new Error(`order ${row.transaction_id} is PAID without a completion`);
  return ok({ response: { transactionId: row.transaction_id, completion: JSON.parse(row.completion_jws) as JwsGeneral }, replay });
}

/** Our own signed invoice, as stored: a failure to read it is a bug, not the caller's. */
function storedInvoice(row: OrderRow): Invoice {
  const jws = JSON.parse(row.invoice_jws) as JwsGeneral;
  const parsed = parseDocument(INVOICE_TYP, JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as unknown);
  if (!parsed.ok) throw new Error(`stored invoice of ${row.transaction_id} does not parse`);
  return parsed.value;
}

export function sameAmount(a: string, b: string): boolean {
  const x = parseAmount(a);
  const y = parseAmount(b);
  return x.ok && y.ok && x.value.currency === y.value.currency && x.value.minor === y.value.minor;
}

/** Steps 1–4 of the pipeline: the receipt is the invoice's payment server's answer to THIS invoice. */
async function checkReceipt(deps: MerchantDeps, row: OrderRow, jws: JwsGeneral): Promise<Result<{ receipt: Receipt; receiptHash: string }, MerchantHttpErrorCode>> {
  const crls = await deps.crls();
  if (!crls.ok) return crls;

  // 1. A payment server of our CA signed it, unaltered, with a certificate valid now.
  const verified = await verifyDocument(jws, {
    now: deps.clock(),
    trustAnchors: deps.trustAnchors,
    crls: crls.value.crls,
    requireCrl: crls.value.required,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: RECEIPT_TYP,
    signers: [{ roles: ['payment'] }],
    cache: deps.verificationCache,
  });
  if (!verified.ok) {
    const extra = verified.details && typeof verified.details === 'object' ? verified.details : {};
    return err('MERCHANT_RECEIPT_SIGNATURE_INVALID', `the receipt's signature is not accepted: ${verified.message}`, { ...extra, code: verified.code });
  }

  // 2. …and it is the payment server the invoice named, holding the key of the chain sent with the invoice.
  const signer = verified.value.signers[0]!;
  const signerId = signer.kind === 'certified' ? signer.partyId : '(anonymous)';
  if (signerId !== row.payment_server_id) {
    return err('MERCHANT_RECEIPT_WRONG_PAYMENT_SERVER', `the receipt is signed by ${signerId}; the invoice names payment server ${row.payment_server_id}`, {
      paymentServerId: row.payment_server_id,
    });
  }
  const key = signingKeyOf(jws);
  if (!key || !sameBytes(key, storedLeafKey(row.payment_server_chain))) {
    return err('MERCHANT_RECEIPT_WRONG_PAYMENT_SERVER', `the receipt is not signed with the key of the payment server certificate sent with the invoice`, {
      paymentServerId: row.payment_server_id,
    });
  }

  // 3. What it says.
  const parsed = parseDocument(RECEIPT_TYP, verified.value.payload);
  if (!parsed.ok) return err('MERCHANT_RECEIPT_INVALID', 'the signed payload is not a valid receipt', parsed.details);
  const receipt = parsed.value;

  // 4. It answers this order's invoice (fig. 7 against fig. 6).
  const invoice = storedInvoice(row);
  const mismatches: [field: string, same: boolean, expected: string][] = [
    ['transactionId', receipt.transactionId === row.transaction_id, row.transaction_id],
    ['invoiceHash', receipt.invoiceHash === row.invoice_hash, row.invoice_hash],
    ['purchaserId', receipt.purchaserId === row.purchaser_id, row.purchaser_id],
    ['amountReceived', sameAmount(receipt.amountReceived, invoice.amount), invoice.amount],
    ['mode', receipt.mode === invoice.paymentMode, invoice.paymentMode],
    ['shop', receipt.shop.id === invoice.shop.id && receipt.shop.name === invoice.shop.name, invoice.shop.id],
    ['recipient', receipt.recipient.id === invoice.paymentServer.id && receipt.recipient.name === invoice.paymentServer.name, invoice.paymentServer.id],
  ];
  const wrong = mismatches.find(([, same]) => !same);
  if (wrong) {
    const [field, , expected] = wrong;
    return err('MERCHANT_RECEIPT_MISMATCH', `the receipt's ${field} does not match the invoice of transaction ${row.transaction_id} (expected ${expected})`, { field, expected });
  }
  return ok({ receipt, receiptHash: verified.value.documentHash });
}

/** Units per limited article (stock set in the catalogue) in this order's stored lines. */
async function limitedUnits(db: Db, deps: MerchantDeps, transactionId: string): Promise<Map<string, bigint>> {
  const limited = new Set(deps.config.catalogue.articles.filter((a) => a.stock !== undefined).map((a) => a.id));
  const lines = await db.selectFrom('merchant_order_lines').select(['article', 'quantity']).where('transaction_id', '=', transactionId).execute();
  const units = new Map<string, bigint>();
  for (const l of lines) if (limited.has(l.article)) units.set(l.article, (units.get(l.article) ?? 0n) + BigInt(l.quantity));
  return units;
}

/** POST /v1/orders/:transactionId/receipt after the body schema, and settling from the payment server. */
export async function acceptReceipt(deps: MerchantDeps, transactionId: string, receiptJws: JwsGeneral): Promise<Result<ReceiptOutcome, MerchantHttpErrorCode>> {
  // Copied before the first await (STYLE: snapshot untrusted input).
  const jws = wireJws(receiptJws);
  const stored = JSON.stringify(jws);
  const row = await findOrder(deps.db, transactionId);
  if (!row) return err('MERCHANT_ORDER_NOT_FOUND', `no order ${transactionId}`);
  if (row.payment_state === 'PAID' && row.receipt_jws === stored) return storedCompletion(row, true);

  const checked = await checkReceipt(deps, row, jws);
  if (!checked.ok) return checked;
  // Another valid receipt for an order already paid (the payment server re-signed
  // it): the order was settled once; its completion stands.
  if (row.payment_state === 'PAID') return storedCompletion(row, true);

  const now = deps.clock();
  const completion: Completion = { typ: COMPLETION_TYP, transactionId, receiptHash: checked.value.receiptHash, state: 'paid', time: now.toISOString() };
  const self = parseDocument(COMPLETION_TYP, completion);
  if (!self.ok) throw new Error(`merchant made an invalid completion: ${JSON.stringify(self.details)}`);
  const signed = wireJws(await signDocument({ payload: completion, typ: COMPLETION_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c }));

  const settled = await withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('merchant_orders')
        .set({ payment_state: 'PAID', receipt_jws: stored, receipt_hash: checked.value.receiptHash, completion_jws: JSON.stringify(signed), paid_at: now.toISOString() })
        .where('transaction_id', '=', transactionId)
        .where('payment_state', '=', 'UNPAID')
        .executeTakeFirst();
      // A twin settled it first: its completion is the answer, and the stock was counted by it.
      if (updated.numUpdatedRows === 0n) return false;
      for (const [article, sold] of await limitedUnits(trx, deps, transactionId)) {
        await trx
          .insertInto('merchant_stock_sold')
          .values({ article, sold })
          .onConflict((oc) => oc.column('article').doUpdateSet({ sold: sql<bigint>`merchant_stock_sold.sold + excluded.sold` }))
          .execute();
      }
      // The outbox: order.paid exists iff this transaction commits.
      await enqueueOrderPaid(trx, transactionId, now);
      return true;
    }),
  );
  if (settled) return ok({ response: { transactionId, completion: signed }, replay: false });
  const winner = await findOrder(deps.db, transactionId);
  if (!winner || winner.payment_state !== 'PAID') throw new Error(`order ${transactionId} neither settled nor paid`);
  return storedCompletion(winner, true);
}
