// What the payment server keeps of a refund once it is paid (remittance.ts,
// messages 1150 → 1180), and the two messages that come after (DESIGN §3):
//
// 1190 → 1200  POST /v1/repayments/:permitId/receipt: the recipient's signed
//   repayment receipt (fig. 19). It must be signed by the very key that
//   claimed the refund (stored at 1150: the certified leaf's fingerprint or
//   the anonymous key's thumbprint) and name the permit, transaction,
//   recipient and amount that were paid. Stored once; the answer is the
//   signed RepaymentState `completed` carrying it. A repeat — or another
//   receipt for a permit already completed — is answered with the stored
//   state: the first receipt is the evidence, nothing changes.
// 1210 → 1220  GET /v1/repayments/:shopId/:permitId: the merchant asks; the
//   answer is the state signed now (`remitted`, or `completed` with the receipt).
import type { Kysely } from 'kysely';
import { formatAmount, parseAmount } from '../protocol/amount.ts';
import { REPAYMENT_RECEIPT_TYP, REPAYMENT_STATE_TYP, RepaymentState, parseDocument } from '../protocol/documents/index.ts';
import type { SignerIdentity } from '../protocol/identity.ts';
import { signDocument, type GeneralJws } from '../protocol/jws.ts';
import type { RepaymentReceiptCall, RepaymentStateAnswer } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { PaymentDatabase, PaymentRepaymentTable } from './db.ts';
import type { IssueOutcome } from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { normalized, verifyUnderOurCa, type PurchaseDeps, type PurchaseOptions } from './money-reception.ts';
import { enqueueNotification } from './notifications.ts';
import { wireJws } from './paid.ts';
import { withRetry } from '../store/index.ts';

type Db = Kysely<PaymentDatabase>;

/** Who may claim and acknowledge a refund: the purchaser, certified (`client`) or anonymous. */
export const RECIPIENT = { roles: ['client'], orAnonymous: true } as const;

/** A refund's ledger transfer (merchant → float or purse) and its issued envelopes' source id. */
export function repaymentRef(shopId: string, permitId: string): string {
  // Neither a party id nor a short id contains "/".
  return `${shopId}/${permitId}`;
}

export function refundTransferId(shopId: string, permitId: string): string {
  return `refund:${repaymentRef(shopId, permitId)}`;
}

/** The key that signed, as stored: it must sign the receipt too. */
export function signerKey(s: SignerIdentity): Pick<PaymentRepaymentTable, 'signer_kind' | 'signer_key'> {
  return s.kind === 'certified' ? { signer_kind: 'certified', signer_key: s.fingerprint } : { signer_kind: 'anonymous', signer_key: s.thumbprint };
}

export function findRepayment(db: Db, shopId: string, permitId: string): Promise<PaymentRepaymentTable | undefined> {
  return db.selectFrom('payment_repayments').selectAll().where('shop_id', '=', shopId).where('permit_id', '=', permitId).executeTakeFirst();
}

type StateFields = Pick<PaymentRepaymentTable, 'transaction_id' | 'permit_id' | 'shop_id' | 'currency' | 'amount'>;

/** The payment server's signed word on a repayment at `now` (second precision). */
export async function signRepaymentState(deps: Pick<PurchaseDeps, 'signer'>, row: StateFields, receipt: GeneralJws | undefined, now: Date): Promise<GeneralJws> {
  const payload = RepaymentState.parse({
    typ: REPAYMENT_STATE_TYP,
    transactionId: row.transaction_id,
    permitId: row.permit_id,
    shopId: row.shop_id,
    amount: formatAmount({ currency: row.currency, minor: row.amount }),
    state: receipt === undefined ? 'remitted' : 'completed',
    ...(receipt !== undefined ? { repaymentReceipt: wireJws(receipt) } : {}),
    time: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
  });
  return signDocument({ payload, typ: REPAYMENT_STATE_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
}

function completedAnswer(row: PaymentRepaymentTable): IssueOutcome<RepaymentStateAnswer> {
  return { response: { state: wireJws(JSON.parse(row.completed_state_jws!) as GeneralJws) }, replay: true };
}

/** POST /v1/repayments/:permitId/receipt (1190 → 1200), after the schema. */
export async function acceptRepaymentReceipt(
  deps: PurchaseDeps,
  opts: PurchaseOptions,
  permitId: string,
  call: RepaymentReceiptCall,
): Promise<Result<IssueOutcome<RepaymentStateAnswer>, PayHttpErrorCode>> {
  const receiptJws = normalized(call.receipt);
  const now = deps.clock();
  const v = await verifyUnderOurCa(deps, opts, receiptJws, { typ: REPAYMENT_RECEIPT_TYP, signers: [RECIPIENT], document: 'receipt', what: 'repayment receipt' }, now);
  if (!v.ok) return v;
  const parsed = parseDocument(REPAYMENT_RECEIPT_TYP, v.value.payload);
  if (!parsed.ok) return err('PAY_DOCUMENT_INVALID', `the repayment receipt: ${parsed.message}`, { document: 'receipt', issues: parsed.details });
  const receipt = parsed.value;
  if (receipt.permitId !== permitId) return err('PAY_PERMIT_MISMATCH', `the receipt is for permit ${receipt.permitId}, posted for permit ${permitId}`);

  // Permit ids are the shops' own: the permit's hash tells which shop's this is.
  const rows = await deps.db.selectFrom('payment_repayments').selectAll().where('permit_id', '=', permitId).execute();
  if (rows.length === 0) return err('PAY_REPAYMENT_UNKNOWN', `no refund was paid here against permit ${permitId}`);
  const row = rows.find((r) => r.permit_hash === receipt.permitHash);
  if (!row) return err('PAY_PERMIT_MISMATCH', `the receipt names another permit document than the one refund ${permitId} was paid against`);
  const signer = signerKey(v.value.signers[0]!);
  if (signer.signer_kind !== row.signer_kind || signer.signer_key !== row.signer_key) {
    return err('PAY_PURCHASER_MISMATCH', 'the repayment receipt is not signed by the key that claimed the refund');
  }
  const amount = parseAmount(receipt.amount);
  if (!amount.ok) throw new TypeError('amount: schema let a bad amount through');
  if (receipt.transactionId !== row.transaction_id || receipt.recipientId !== row.recipient_id || amount.value.currency !== row.currency || amount.value.minor !== row.amount) {
    return err('PAY_PERMIT_MISMATCH', `the receipt names another transaction, recipient or amount than refund ${permitId} (${formatAmount({ currency: row.currency, minor: row.amount })} of transaction ${row.transaction_id})`);
  }
  if (row.state === 'completed') return ok(completedAnswer(row));

  const state = await signRepaymentState(deps, row, receiptJws, now);
  const marked = await withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('payment_repayments')
        .set({ state: 'completed', receipt_jws: JSON.stringify(receiptJws), completed_state_jws: JSON.stringify(state), completed_at: now.toISOString() })
        .where('shop_id', '=', row.shop_id)
        .where('permit_id', '=', row.permit_id)
        .where('state', '=', 'remitted')
        .executeTakeFirst();
      if (r.numUpdatedRows > 0n) await enqueueNotification(trx, { merchantId: row.shop_id, kind: 'repayment', ref: row.permit_id, event: 'completed' }, now);
      return r;
    }),
  );
  if (marked.numUpdatedRows === 0n) {
    // Another receipt committed first: it stands.
    const now2 = await findRepayment(deps.db, row.shop_id, row.permit_id);
    if (now2?.state !== 'completed') throw new Error(`repayment ${row.permit_id} of ${row.shop_id} is neither remitted nor completed`);
    return ok(completedAnswer(now2));
  }
  return ok({ response: { state: wireJws(state) }, replay: false });
}

/** GET /v1/repayments/:shopId/:permitId (1210 → 1220): the state, signed now. */
export async function repaymentState(deps: Pick<PurchaseDeps, 'db' | 'signer' | 'clock'>, shopId: string, permitId: string): Promise<Result<RepaymentStateAnswer, PayHttpErrorCode>> {
  const row = await findRepayment(deps.db, shopId, permitId);
  if (!row) return err('PAY_REPAYMENT_UNKNOWN', `permit ${permitId} of shop ${shopId} was never presented here`);
  const receipt = row.receipt_jws === null ? undefined : (JSON.parse(row.receipt_jws) as GeneralJws);
  return ok({ state: wireJws(await signRepaymentState(deps, row, receipt, deps.clock())) });
}
