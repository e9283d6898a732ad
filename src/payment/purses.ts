// Mode `account` (DESIGN §2 "payment modes", issue 4): a prepaid purse at the
// payment server, "funded from the bank like a reserve but identified".
//
// A purse IS a reserve: its key is a reserve key derived from the wallet seed,
// loaded through the bank with that key as the subject (the loader does not
// change, the ledger account is reserve:<key>), and the key may still withdraw
// coins from it. What makes it a purse is a registration binding the key to
// one certified shopper (POST /v1/purses): a document signed by the shopper's
// `client` certificate AND the purse key's signature over the same binding, so
// nobody can claim another's reserve or put their purse in another's name.
//
// Paying (POST /v1/payments/account, message 170 in mode account): after 150
// accepted the countersigned invoice, the purse key signs (invoice hash,
// transaction, merchant, amount, purse); the purse must belong to the
// invoice's purchaser. ONE transaction marks the payment PAID with its signed
// receipt and moves the amount reserve:<key> → merchant; the conditional debit
// refuses an overdraft (PAY_PURSE_INSUFFICIENT, nothing written). An
// anonymous purchase cannot pay this way: its purchaser id is a per-order key,
// which owns no purse.
import type { Kysely } from 'kysely';
import { parseAmount } from '../protocol/amount.ts';
import { PURSE_REGISTRATION_TYP, parseDocument, rfc3339UtcToMillis } from '../protocol/documents/index.ts';
import { verifyEd25519 } from '../protocol/ed25519.ts';
import type { GeneralJws } from '../protocol/jws.ts';
import {
  accountPaymentSigningBytes,
  purseRegistrationSigningBytes,
  type AccountPaymentRequest,
  type AccountPaymentResponse,
  type PurseRegistrationCall,
  type PurseView,
} from '../protocol/messages/payment.ts';
import { err, ok, type Err, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import type { PaymentDatabase, PaymentPurseTable } from './db.ts';
import { sha256Hex, type IssueOutcome } from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { ensureAccount, ledgerAccount, postTransfer } from './ledger.ts';
import { isActiveMerchant, merchantAccount } from './merchants.ts';
import { findPayment, rowAmount, verifyUnderOurCa, type PurchaseDeps, type PurchaseOptions } from './money-reception.ts';
import { enqueueNotification } from './notifications.ts';
import { paidReceipt, paymentTransferId, signReceipt, wireJws } from './paid.ts';

type Db = Kysely<PaymentDatabase>;

/** A registration is accepted this long before or after its own time (clock skew, not a validity period). */
export const REGISTRATION_WINDOW_SECONDS = 600;

/** Races lost to another request before the answer is settled. */
const MAX_RACES = 3;

function view(row: PaymentPurseTable): PurseView {
  return { purseKey: row.purse_key, partyId: row.party_id, registeredAt: row.created_at };
}

function normalized(jws: { payload: string; signatures: readonly { protected: string; signature: string }[] }): GeneralJws {
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) };
}

export function findPurse(db: Db, purseKey: string): Promise<PaymentPurseTable | undefined> {
  return db.selectFrom('payment_purses').selectAll().where('purse_key', '=', purseKey).executeTakeFirst();
}

/** An existing registration of the key: the same party's is answered again, another party's is refused. */
function earlierRegistration(row: PaymentPurseTable | undefined, partyId: string): Result<IssueOutcome<PurseView>, PayHttpErrorCode> | undefined {
  if (!row) return undefined;
  if (row.party_id !== partyId) return err('PAY_PURSE_TAKEN', 'this purse key is registered to another party');
  return ok({ response: view(row), replay: true });
}

/** POST /v1/purses, after the schema. */
export async function registerPurse(deps: PurchaseDeps, opts: PurchaseOptions, call: PurseRegistrationCall): Promise<Result<IssueOutcome<PurseView>, PayHttpErrorCode>> {
  const jws = normalized(call.registration);
  const now = deps.clock();
  const v = await verifyUnderOurCa(deps, opts, jws, { typ: PURSE_REGISTRATION_TYP, signers: [{ roles: ['client'] }], document: 'registration', what: 'purse registration' }, now);
  if (!v.ok) return v;
  const parsed = parseDocument(PURSE_REGISTRATION_TYP, v.value.payload);
  if (!parsed.ok) return err('PAY_DOCUMENT_INVALID', `the purse registration: ${parsed.message}`, { document: 'registration', issues: parsed.details });
  const reg = parsed.value;
  const signer = v.value.signers[0]!;
  if (signer.kind !== 'certified') throw new Error('verifyDocument let an anonymous signer through a certified-only policy');
  if (signer.partyId !== reg.partyId) return err('PAY_PURCHASER_MISMATCH', `the registration names party ${reg.partyId} but is signed by ${signer.partyId}`);
  if (reg.paymentServerId !== deps.signer.partyId) return err('PAY_DOCUMENT_INVALID', `the registration is addressed to payment server ${reg.paymentServerId}, not to this one (${deps.signer.partyId})`);
  const skew = Math.abs(now.getTime() - rfc3339UtcToMillis(reg.time)!);
  if (skew > REGISTRATION_WINDOW_SECONDS * 1000) {
    return err('PAY_DOCUMENT_INVALID', `the registration is dated ${reg.time}, more than ${REGISTRATION_WINDOW_SECONDS / 60} minutes from this server's time: sign a fresh one`);
  }
  if (!(await verifyEd25519(reg.purseKey, call.purseSignature, purseRegistrationSigningBytes(reg)))) {
    return err('PAY_PURSE_SIGNATURE_INVALID', 'the purse key did not sign this registration (or is not a strong Ed25519 key)');
  }

  const earlier = earlierRegistration(await findPurse(deps.db, reg.purseKey), reg.partyId);
  if (earlier) return earlier;
  const row: PaymentPurseTable = {
    purse_key: reg.purseKey,
    party_id: reg.partyId,
    fingerprint: signer.fingerprint,
    registration_jws: JSON.stringify(jws),
    purse_signature: call.purseSignature,
    created_at: now.toISOString(),
  };
  try {
    await deps.db.insertInto('payment_purses').values(row).execute();
  } catch (e) {
    if (!deps.isUniqueViolation(e)) throw e;
    const raced = earlierRegistration(await findPurse(deps.db, reg.purseKey), reg.partyId);
    if (!raced) throw e;
    return raced;
  }
  return ok({ response: view(row), replay: false });
}

/** Rolls back the payment's transaction and becomes its coded answer. */
class Refusal extends Error {
  readonly result: Err<PayHttpErrorCode>;
  constructor(result: Err<PayHttpErrorCode>) {
    super(result.message);
    this.result = result;
  }
}

class PaymentRaceLost extends Error {}

/** POST /v1/payments/account, after the schema. */
export async function payFromPurse(deps: PurchaseDeps, request: AccountPaymentRequest): Promise<Result<IssueOutcome<AccountPaymentResponse>, PayHttpErrorCode>> {
  const body = { invoiceHash: request.invoiceHash, transactionId: request.transactionId, merchantId: request.merchantId, amount: request.amount, purseKey: request.purseKey };
  const signed = accountPaymentSigningBytes(body);
  if (!(await verifyEd25519(body.purseKey, request.purseSignature, signed))) return err('PAY_PURSE_SIGNATURE_INVALID', 'the payment is not signed by the purse key');
  const requestHash = sha256Hex(signed);

  const row = await findPayment(deps.db, body.merchantId, body.transactionId);
  if (!row) return err('PAY_PAYMENT_UNKNOWN', `no money reception was accepted for transaction ${body.transactionId} of shop ${body.merchantId}`);
  const earlier = async () => {
    const paid = await paidReceipt(deps.db, row.payment_id, requestHash);
    return paid?.ok ? ok({ response: { receipt: paid.value }, replay: true }) : paid;
  };
  // Before any time window: a payment cut off by a crash is answered even after its invoice expired.
  const before = await earlier();
  if (before) return before;

  // A twin of this request may pay while this one is checked (a time window
  // may even close in between): every refusal from here is first a replay check.
  const refuse = async (r: Err<PayHttpErrorCode>) => (await earlier()) ?? r;
  const amount = parseAmount(body.amount);
  if (!amount.ok) throw new TypeError('amount: schema let a bad amount through');
  if (row.invoice_hash !== body.invoiceHash) return refuse(err('PAY_INVOICE_MISMATCH', 'the payment names another invoice hash than the invoice accepted for this transaction'));
  if (amount.value.currency !== row.currency || amount.value.minor !== row.amount) {
    return refuse(err('PAY_INVOICE_MISMATCH', `the payment is for ${body.amount} but the invoice for ${rowAmount(row)}`));
  }
  if (row.payment_mode !== 'account') return refuse(err('PAY_PAYMENT_MODE_UNSUPPORTED', `the invoice is to be paid in mode ${row.payment_mode}, not from a purse`));
  if (!(await isActiveMerchant(deps.db, row.shop_id))) return refuse(err('PAY_MERCHANT_NOT_ACCEPTED', `merchant ${row.shop_id} has no active contract with this payment server`));
  const now = deps.clock();
  if (now.getTime() > Date.parse(row.payment_due_time)) return refuse(err('PAY_INVOICE_EXPIRED', `the invoice was due by ${row.payment_due_time}`));

  const purse = await findPurse(deps.db, body.purseKey);
  if (!purse) return refuse(err('PAY_PURSE_UNKNOWN', 'this key is not registered as a purse here (POST /v1/purses)'));
  if (purse.party_id !== row.purchaser_id) {
    return refuse(err('PAY_PURCHASER_MISMATCH', `the purse belongs to ${purse.party_id}, the invoice's purchaser is ${row.purchaser_id}`));
  }
  const reserve = await deps.db.selectFrom('payment_reserves').select('currency').where('reserve_pub', '=', body.purseKey).executeTakeFirst();
  if (!reserve) return refuse(err('PAY_PURSE_INSUFFICIENT', `nothing has been loaded into this purse; the invoice is for ${rowAmount(row)}`));
  if (reserve.currency !== row.currency) return refuse(err('PAY_CURRENCY_MISMATCH', `the purse holds ${reserve.currency}, the invoice is in ${row.currency}`));

  const receipt = await signReceipt(deps, row, 'account', now);
  for (let race = 1; ; race++) {
    try {
      await withRetry(() =>
        deps.db.transaction().execute(async (trx) => {
          const marked = await trx
            .updateTable('payment_payments')
            .set({ state: 'PAID', payment_request_hash: requestHash, receipt_jws: JSON.stringify(receipt), paid_at: now.toISOString(), purse_key: body.purseKey, purse_signature: request.purseSignature })
            .where('payment_id', '=', row.payment_id)
            .where('state', '=', 'RECEPTION_ACCEPTED')
            .executeTakeFirst();
          if (marked.numUpdatedRows === 0n) throw new PaymentRaceLost();
          const from = ledgerAccount.reserve(body.purseKey);
          const merchant = merchantAccount(row.shop_id, row.currency);
          await ensureAccount(trx, merchant, row.currency, 'merchant', now);
          const moved = await postTransfer(trx, { id: paymentTransferId(row.payment_id), debit: from, credit: merchant, currency: row.currency, amount: row.amount, reason: 'payment' }, now);
          if (!moved) throw new Refusal(err('PAY_PURSE_INSUFFICIENT', `the purse holds less than ${rowAmount(row)} (money withdrawn or on hold is not available); nothing was paid`));
          await enqueueNotification(trx, { merchantId: row.shop_id, kind: 'payment', ref: row.transaction_id, event: 'paid' }, now);
        }),
      );
      return ok({ response: { receipt: wireJws(receipt) }, replay: false });
    } catch (e) {
      if (e instanceof Refusal) return (await earlier()) ?? e.result;
      if (!(e instanceof PaymentRaceLost || deps.isUniqueViolation(e)) || race >= MAX_RACES) throw e;
      const answer = await earlier();
      if (answer) return answer;
    }
  }
}
