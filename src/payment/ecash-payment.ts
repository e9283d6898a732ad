// Message 170 → 180 (DESIGN §2, §4): an e-money payment against an invoice
// accepted at 150. It is a swap in which part of the value goes to the
// merchant: the coins are spent, the change envelopes are signed, and the
// invoice amount moves float → merchant, all in one transaction, which also
// marks the payment PAID with its signed receipt (fig. 7).
//
// The float stays equal to issued − spent: the spent coins (amount + change)
// leave it, the change coins (change) re-enter it, so it falls by the amount,
// which is exactly the transfer to the merchant.
//
// Pipeline: every coin's key signed the payment (invoice hash, transaction,
// merchant, amount, coins, change) → the payment row of (merchant,
// transaction) exists → already PAID: the same request is a replay (the
// stored receipt and change signatures), another one PAY_REQUEST_CONFLICT;
// this comes before any time window, so a payment cut off by a crash is
// answered even after its invoice or keys expired → the row's invoice hash,
// amount and mode → merchant still accepted, invoice not past due → coins
// (depositable, genuine, in the amount's currency) → change envelopes → balance
// → coins unspent, envelopes unused → sign the change and the receipt (CPU,
// no transaction open) → ONE transaction.
//
// Races: the row moves RECEPTION_ACCEPTED → PAID by a conditional update made
// first in the transaction (it also serialises two payments of one
// transaction); coins and envelopes are guarded by their primary keys. The
// loser rolls back entirely and is answered from what committed.
import type { Kysely } from 'kysely';
import { parseAmount } from '../protocol/amount.ts';
import type { GeneralJws } from '../protocol/jws.ts';
import { ecashPaymentSigningBytes, type EcashPaymentBody, type EcashPaymentRequest, type EcashPaymentResponse } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import { checkCoins, insertSpentCoins, refuseSpentCoins, verifyCoinOwnership, type CheckedCoin } from './coins.ts';
import type { PaymentDatabase, PaymentPaymentTable } from './db.ts';
import {
  checkEnvelopes,
  insertIssuedEnvelopes,
  issuedSignatures,
  refuseReusedEnvelopes,
  sha256Hex,
  signEnvelopes,
  totalValue,
  type CheckedEnvelope,
  type IssueOutcome,
  type IssueSource,
} from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { ensureAccount, ledgerAccount, postTransfer } from './ledger.ts';
import { isActiveMerchant, merchantAccount } from './merchants.ts';
import { findPayment, rowAmount, type PurchaseDeps } from './money-reception.ts';
import { enqueueNotification } from './notifications.ts';
import { paidReceipt, paymentTransferId, signReceipt, wireJws } from './paid.ts';

type Db = Kysely<PaymentDatabase>;

// The envelopes of a payment's change.
const CHANGE: IssueSource = 'change';
export const PAYMENT_SPENDER = 'payment';

/** Races lost to another request before the answer is settled (each loss means another request committed). */
const MAX_RACES = 3;

class PaymentRaceLost extends Error {}

async function earlierPayment(db: Db, row: Pick<PaymentPaymentTable, 'payment_id'>, requestHash: string): Promise<Result<IssueOutcome<EcashPaymentResponse>, PayHttpErrorCode> | undefined> {
  const paid = await paidReceipt(db, row.payment_id, requestHash);
  if (!paid?.ok) return paid;
  return ok({ response: { receipt: paid.value, changeSignatures: await issuedSignatures(db, CHANGE, row.payment_id) }, replay: true });
}

/** Like swap.ts' settled(): what committed requests say about this one, or undefined when nothing stands in the way. */
async function settled(db: Db, row: PaymentPaymentTable, requestHash: string, coins: readonly CheckedCoin[], change: readonly CheckedEnvelope[]): Promise<Result<IssueOutcome<EcashPaymentResponse>, PayHttpErrorCode> | undefined> {
  const spent = await refuseSpentCoins(db, coins);
  const refusal = spent.ok && change.length > 0 ? await refuseReusedEnvelopes(db, change) : spent;
  const earlier = await earlierPayment(db, row, requestHash);
  if (earlier) return earlier;
  return refusal.ok ? undefined : refusal;
}

type CheckedPayment = { checkedCoins: CheckedCoin[]; checkedChange: CheckedEnvelope[]; currency: string };

/** Every check of a new e-money payment after the replay lookup; the first failure is the answer. */
async function checkPayment(
  deps: PurchaseDeps,
  row: PaymentPaymentTable,
  body: EcashPaymentBody & { coins: EcashPaymentRequest['coins'] },
  requestHash: string,
  now: Date,
): Promise<Result<CheckedPayment, PayHttpErrorCode>> {
  const amount = parseAmount(body.amount);
  if (!amount.ok) throw new TypeError('amount: schema let a bad amount through');
  if (row.invoice_hash !== body.invoiceHash) return err('PAY_INVOICE_MISMATCH', 'the payment names another invoice hash than the invoice accepted for this transaction');
  if (amount.value.currency !== row.currency || amount.value.minor !== row.amount) {
    return err('PAY_INVOICE_MISMATCH', `the payment is for ${body.amount} but the invoice for ${rowAmount(row)}`);
  }
  if (row.payment_mode !== 'ecash') return err('PAY_PAYMENT_MODE_UNSUPPORTED', `the invoice is to be paid in mode ${row.payment_mode}, not with e-money`);
  if (!(await isActiveMerchant(deps.db, row.shop_id))) return err('PAY_MERCHANT_NOT_ACCEPTED', `merchant ${row.shop_id} has no active contract with this payment server`);
  if (now.getTime() > Date.parse(row.payment_due_time)) return err('PAY_INVOICE_EXPIRED', `the invoice was due by ${row.payment_due_time}`);

  const checkedCoins = await checkCoins(deps, body.coins, now);
  if (!checkedCoins.ok) return checkedCoins;
  const currency = checkedCoins.value[0]!.currency;
  if (currency !== row.currency) return err('PAY_CURRENCY_MISMATCH', `the coins are in ${currency}, the invoice in ${row.currency}`);
  const checkedChange = await checkEnvelopes(deps, body.change, currency, now);
  if (!checkedChange.ok) return checkedChange;
  const paid = totalValue(checkedCoins.value);
  const back = totalValue(checkedChange.value);
  if (paid !== row.amount + back) {
    return err('PAY_PAYMENT_UNBALANCED', `the coins are worth ${paid} but the amount plus change is ${row.amount + back} (minor units of ${currency})`);
  }
  const refused = await settled(deps.db, row, requestHash, checkedCoins.value, checkedChange.value);
  if (refused && !refused.ok) return refused;
  // (A settled() success is a replay the caller finds with earlierPayment.)
  if (refused) return err('PAY_REQUEST_CONFLICT', 'this payment committed while it was checked');
  return ok({ checkedCoins: checkedCoins.value, checkedChange: checkedChange.value, currency });
}

/** POST /v1/payments/ecash, after the schema. */
export async function payEcash(deps: PurchaseDeps, request: EcashPaymentRequest): Promise<Result<IssueOutcome<EcashPaymentResponse>, PayHttpErrorCode>> {
  // Copies: what is verified is what is stored.
  const coins = request.coins.map((c) => ({ coinPub: c.coinPub, denominationId: c.denominationId, denominationSignature: c.denominationSignature, coinSignature: c.coinSignature }));
  const change = request.change.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage }));
  const body = { invoiceHash: request.invoiceHash, transactionId: request.transactionId, merchantId: request.merchantId, amount: request.amount, coins, change };
  const signed = ecashPaymentSigningBytes(body);
  const owned = await verifyCoinOwnership(coins, signed);
  if (!owned.ok) return owned;
  const requestHash = sha256Hex(signed);

  const row = await findPayment(deps.db, body.merchantId, body.transactionId);
  if (!row) return err('PAY_PAYMENT_UNKNOWN', `no money reception was accepted for transaction ${body.transactionId} of shop ${body.merchantId}`);
  const earlier = await earlierPayment(deps.db, row, requestHash);
  if (earlier) return earlier;

  const now = deps.clock();
  const checked = await checkPayment(deps, row, body, requestHash, now);
  // A twin of this request may have paid while this one was checked (a time
  // window may even have closed in between): a refusal is then a replay.
  if (!checked.ok) return (await earlierPayment(deps.db, row, requestHash)) ?? checked;
  const { checkedCoins, checkedChange, currency } = checked.value;

  const changeSignatures = signEnvelopes(checkedChange);
  if (!changeSignatures.ok) return changeSignatures;
  const receipt = await signReceipt(deps, row, 'ecash', now);

  for (let race = 1; ; race++) {
    try {
      await withRetry(() =>
        deps.db.transaction().execute(async (trx) => {
          const marked = await trx
            .updateTable('payment_payments')
            .set({ state: 'PAID', payment_request_hash: requestHash, receipt_jws: JSON.stringify(receipt), paid_at: now.toISOString() })
            .where('payment_id', '=', row.payment_id)
            .where('state', '=', 'RECEPTION_ACCEPTED')
            .executeTakeFirst();
          if (marked.numUpdatedRows === 0n) throw new PaymentRaceLost();
          await insertSpentCoins(trx, checkedCoins, PAYMENT_SPENDER, row.payment_id, now);
          await insertIssuedEnvelopes(trx, CHANGE, row.payment_id, checkedChange, changeSignatures.value, now);
          const float = ledgerAccount.float(currency);
          const merchant = merchantAccount(row.shop_id, currency);
          await ensureAccount(trx, float, currency, 'float', now);
          await ensureAccount(trx, merchant, currency, 'merchant', now);
          const moved = await postTransfer(trx, { id: paymentTransferId(row.payment_id), debit: float, credit: merchant, currency, amount: row.amount, reason: 'payment' }, now);
          // The float holds at least every unspent coin, and these coins were unspent.
          if (!moved) throw new Error(`float:${currency} does not cover payment ${row.payment_id}: the books are broken (run quittance audit)`);
          await enqueueNotification(trx, { merchantId: row.shop_id, kind: 'payment', ref: row.transaction_id, event: 'paid' }, now);
        }),
      );
      return ok({ response: { receipt: wireJws(receipt), changeSignatures: changeSignatures.value }, replay: false });
    } catch (e) {
      if (!(e instanceof PaymentRaceLost || deps.isUniqueViolation(e)) || race >= MAX_RACES) throw e;
      // PostgreSQL aborted the transaction on the violation: look outside it.
      const answer = await settled(deps.db, row, requestHash, checkedCoins, checkedChange);
      if (answer) return answer;
    }
  }
}

/**
 * The state a payment shows (fig. 13): the row's, except that a payment
 * refunded in full is REPAYMENT_COMPLETION (the row stays PAID: what was paid
 * and its receipt do not change).
 */
export type ShownPaymentState = PaymentPaymentTable['state'] | 'REPAYMENT_COMPLETION';

export type PaymentStateView = {
  shopId: string;
  transactionId: string;
  state: ShownPaymentState;
  amount: string;
  invoiceHash: string;
  paidAt?: string;
  /** The signed receipt (180) once PAID: the merchant checks it like the shopper's copy (210). */
  receipt?: GeneralJws;
  /** Once paid: how much of it was refunded (1150 → 1180), "JPY:0" when nothing. */
  refunded?: string;
};

/** GET /v1/payments/:shopId/:transactionId. */
export async function paymentState(db: Db, shopId: string, transactionId: string): Promise<Result<PaymentStateView, PayHttpErrorCode>> {
  const row = await findPayment(db, shopId, transactionId);
  if (!row) return err('PAY_PAYMENT_UNKNOWN', `no money reception was accepted for transaction ${transactionId} of shop ${shopId}`);
  const paid = row.state === 'PAID';
  return ok({
    shopId: row.shop_id,
    transactionId: row.transaction_id,
    state: paid && row.refunded === row.amount ? 'REPAYMENT_COMPLETION' : row.state,
    amount: rowAmount(row),
    invoiceHash: row.invoice_hash,
    ...(row.paid_at !== null ? { paidAt: row.paid_at } : {}),
    ...(row.receipt_jws !== null ? { receipt: JSON.parse(row.receipt_jws) as GeneralJws } : {}),
    ...(paid ? { refunded: rowAmount({ currency: row.currency, amount: row.refunded }) } : {}),
  });
}
