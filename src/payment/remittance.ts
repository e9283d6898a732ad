// Messages 1150 + 1170 → 1160/1180 (DESIGN §3, figs. 17–23): a refund paid
// against the merchant's repayment permit, in one request (POST /v1/repayments).
// The recipient sends the permit countersigned with its key, a remittance
// request signed by the same key naming the permit and where the money goes
// (the hash of its blinded envelopes, or its purse), and the envelopes.
//
// Pipeline (the first failure is answered; nothing is written before the end):
//  0. the very claim repeated after it was paid: the stored answer, before any
//     certificate is checked (repeatedClaim)
//  1. permit JWS: exactly [merchant, recipient] under certificates of this
//     server's CA (recipient: `client` or an anonymous jwk)  PAY_DOCUMENT_*
//  2. signer 0 is a `merchant` (PAY_MERCHANT_NOT_ACCEPTED) and the permit's
//     shop; the permit names this server as the repayer     PAY_PERMIT_MISMATCH
//  3. signer 1 owns permit.recipientId (the patent's step 1750: someone who
//     intercepted the permit cannot claim it)               PAY_PURCHASER_MISMATCH
//  4. request JWS: signed by that same key, for the recipient
//     (PAY_PURCHASER_MISMATCH), naming this permit, its hash, transaction,
//     amount and mode and this server                        PAY_PERMIT_MISMATCH
//  5. where the money goes: mode ecash, envelopes whose remittanceEnvelopesHash
//     is the request's (a thief who swaps the envelopes fails here); mode
//     account, no envelopes and a certified recipient     PAY_PERMIT_MISMATCH, PAY_PAYMENT_MODE_UNSUPPORTED
//  6. the payment (shop, transaction) exists here (PAY_PAYMENT_UNKNOWN), is
//     PAID (PAY_PAYMENT_NOT_PAID), and its purchaser is the recipient (PAY_PURCHASER_MISMATCH)
//  7. a repayment of this permit already: the same request is a replay (the
//     stored answer, 200) — before any time window, so a claim cut off by a
//     crash is answered even after the permit's due time — another one is
//     PAY_PERMIT_USED. From here every refusal is first a replay check: a
//     twin of this request may commit while this one is checked.
//  8. merchant still under contract; not past the permit's due time
//     (PAY_PERMIT_EXPIRED); amount positive and in the payment's currency;
//     envelopes withdrawable, unused and worth the amount, or the purse
//     registered to the recipient and in that currency; refunded + amount ≤
//     paid (PAY_REFUND_EXCEEDS_PAYMENT) and the merchant's collected balance
//     covers it (PAY_MERCHANT_BALANCE_INSUFFICIENT) — both only spare the
//     RSA work here: the transaction below is the guard
//  9. sign the envelopes and the state `remitted` (CPU, no transaction open)
// 10. ONE transaction: the repayment row (its primary key (shop, permit)
//     first, so a twin waits there and fails); payment.refunded += amount by a
//     conditional update (two permits racing for the last of a payment: one
//     passes); the ledger transfer merchant → float (the fresh coins are
//     e-money outstanding: float = issued − spent still holds) or → the purse,
//     a conditional debit; the issued envelopes.
//
// Refunds after a payout: a refund is paid out of the merchant's collected
// balance at this server. Once that was paid out to the merchant's bank, a
// refund is funded from the merchant's later takings, and refused
// (PAY_MERCHANT_BALANCE_INSUFFICIENT, nothing written) while there are none;
// the shopper may present the same permit again until its due time.
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { formatAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { REMITTANCE_REQUEST_TYP, REPAYMENT_PERMIT_TYP, parseDocument, type RemittanceRequest, type RepaymentPermit } from '../protocol/documents/index.ts';
import type { SignerIdentity } from '../protocol/identity.ts';
import { documentHash, type GeneralJws } from '../protocol/jws.ts';
import { remittanceEnvelopesHash, type Envelope, type RemittanceAnswer, type RemittanceCall } from '../protocol/messages/payment.ts';
import { err, ok, type Err, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import type { PaymentDatabase, PaymentPaymentTable, PaymentRepaymentTable } from './db.ts';
import { checkEnvelopes, insertIssuedEnvelopes, issuedSignatures, refuseReusedEnvelopes, signEnvelopes, totalValue, type CheckedEnvelope, type IssueOutcome } from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { accountBalance, ensureAccount, ledgerAccount, postTransfer } from './ledger.ts';
import { isActiveMerchant, merchantAccount } from './merchants.ts';
import { findPayment, normalized, ownerId, sameKey, verifyUnderOurCa, type PurchaseDeps, type PurchaseOptions } from './money-reception.ts';
import { enqueueNotification } from './notifications.ts';
import { wireJws } from './paid.ts';
import { findPurse } from './purses.ts';
import { findRepayment, RECIPIENT, refundTransferId, repaymentRef, signerKey, signRepaymentState } from './repayments.ts';

type Db = Kysely<PaymentDatabase>;

/** Races lost to another request before the answer is settled. */
const MAX_RACES = 3;

/** Rolls back the transaction and becomes the request's coded answer. */
class Refusal extends Error {
  readonly result: Err<PayHttpErrorCode>;
  constructor(result: Err<PayHttpErrorCode>) {
    super(result.message);
    this.result = result;
  }
}

type Claim = {
  permit: RepaymentPermit;
  permitHash: string;
  permitJws: GeneralJws;
  request: RemittanceRequest;
  requestHash: string;
  requestJws: GeneralJws;
  recipient: SignerIdentity;
  amount: Amount;
  mode: 'ecash' | 'account';
  envelopes: Envelope[];
};

function sameAmount(a: Amount, b: Amount): boolean {
  return a.currency === b.currency && a.minor === b.minor;
}

function amountOf(s: string): Amount {
  const a = parseAmount(s);
  if (!a.ok) throw new TypeError('amount: schema let a bad amount through');
  return a.value;
}

/** Steps 1–5: the documents and the envelopes, which need no database. */
async function checkClaim(deps: PurchaseDeps, opts: PurchaseOptions, call: RemittanceCall, now: Date): Promise<Result<Claim, PayHttpErrorCode>> {
  // Copies: what is verified is what is stored.
  const permitJws = normalized(call.permit);
  const requestJws = normalized(call.request);
  const envelopes = call.envelopes.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage }));

  // 1. (The merchant position takes any certified role: its role is checked
  //    below, so that a non-merchant signer gets PAY_MERCHANT_NOT_ACCEPTED.)
  const p = await verifyUnderOurCa(deps, opts, permitJws, { typ: REPAYMENT_PERMIT_TYP, signers: [{}, RECIPIENT], document: 'permit', what: 'repayment permit' }, now);
  if (!p.ok) return p;
  const parsedPermit = parseDocument(REPAYMENT_PERMIT_TYP, p.value.payload);
  if (!parsedPermit.ok) return err('PAY_DOCUMENT_INVALID', `the repayment permit: ${parsedPermit.message}`, { document: 'permit', issues: parsedPermit.details });
  const permit = parsedPermit.value;
  const permitHash = p.value.documentHash;
  const [merchant, recipient] = p.value.signers as [SignerIdentity, SignerIdentity];

  // 2.
  if (merchant.kind !== 'certified' || merchant.role !== 'merchant') {
    return err('PAY_MERCHANT_NOT_ACCEPTED', `the permit is signed by a ${merchant.kind === 'certified' ? merchant.role : 'anonymous'} key, not by a merchant`);
  }
  if (merchant.partyId !== permit.shop.id) return err('PAY_PERMIT_MISMATCH', `the permit names shop ${permit.shop.id} but is signed by merchant ${merchant.partyId}`);
  if (permit.repayer.id !== deps.signer.partyId) return err('PAY_PERMIT_MISMATCH', `the permit is to be repaid by ${permit.repayer.id}, not by this payment server (${deps.signer.partyId})`);

  // 3.
  if (ownerId(recipient) !== permit.recipientId) {
    return err('PAY_PURCHASER_MISMATCH', `the permit is for recipient ${permit.recipientId} but was countersigned by ${ownerId(recipient)}`);
  }

  // 4.
  const r = await verifyUnderOurCa(deps, opts, requestJws, { typ: REMITTANCE_REQUEST_TYP, signers: [RECIPIENT], document: 'request', what: 'remittance request' }, now);
  if (!r.ok) return r;
  const parsedRequest = parseDocument(REMITTANCE_REQUEST_TYP, r.value.payload);
  if (!parsedRequest.ok) return err('PAY_DOCUMENT_INVALID', `the remittance request: ${parsedRequest.message}`, { document: 'request', issues: parsedRequest.details });
  const request = parsedRequest.value;
  if (!sameKey(r.value.signers[0]!, recipient) || request.recipientId !== permit.recipientId) {
    return err('PAY_PURCHASER_MISMATCH', 'the remittance request is not signed by the key that countersigned the permit');
  }
  if (request.paymentServerId !== deps.signer.partyId) return err('PAY_PERMIT_MISMATCH', `the remittance request is addressed to payment server ${request.paymentServerId}`);
  const amount = amountOf(permit.amount);
  if (
    request.permitId !== permit.permitId ||
    request.permitHash !== permitHash ||
    request.transactionId !== permit.transactionId ||
    request.mode !== permit.mode ||
    !sameAmount(amountOf(request.amount), amount)
  ) {
    return err('PAY_PERMIT_MISMATCH', "the remittance request names another permit, permit hash, transaction, amount or mode than the permit's");
  }

  // 5.
  const mode = permit.mode;
  if (mode !== 'ecash' && mode !== 'account') return err('PAY_PAYMENT_MODE_UNSUPPORTED', `refunds in mode ${mode} are not paid here`);
  if (mode === 'account') {
    // A purse is registered to a certified party: a per-order key owns none.
    if (recipient.kind !== 'certified') return err('PAY_PAYMENT_MODE_UNSUPPORTED', 'mode account repays into a purse registered to a certified recipient; an anonymous purchase is repaid in e-money');
    if (envelopes.length > 0) return err('PAY_PERMIT_MISMATCH', 'a refund in mode account credits a purse: it takes no envelopes');
  } else {
    if (envelopes.length === 0) return err('PAY_PERMIT_MISMATCH', 'a refund in mode ecash needs the blinded envelopes of the fresh coins');
    if ((await remittanceEnvelopesHash(envelopes)) !== request.envelopesHash) {
      return err('PAY_PERMIT_MISMATCH', 'the envelopes are not the ones the remittance request names (envelopesHash)');
    }
  }
  return ok({ permit, permitHash, permitJws, request, requestHash: r.value.documentHash, requestJws, recipient, amount, mode, envelopes });
}

/** The stored answer to this permit's repayment: a replay when `requestHash` is the request that claimed it, PAY_PERMIT_USED otherwise. */
async function earlierRemittance(db: Db, shopId: string, permitId: string, requestHash: string): Promise<Result<IssueOutcome<RemittanceAnswer>, PayHttpErrorCode> | undefined> {
  const row = await findRepayment(db, shopId, permitId);
  if (!row) return undefined;
  if (row.request_hash !== requestHash) return err('PAY_PERMIT_USED', `permit ${permitId} of shop ${shopId} was already repaid to another remittance request`);
  const blindSignatures = row.mode === 'ecash' ? await issuedSignatures(db, 'refund', repaymentRef(shopId, permitId)) : [];
  return ok({ response: { state: wireJws(JSON.parse(row.state_jws) as GeneralJws), blindSignatures }, replay: true });
}

type Destination = { mode: 'ecash'; envelopes: CheckedEnvelope[] } | { mode: 'account'; purseKey: string };

/** Step 8: every check of a new repayment after the replay lookup; the first failure is the answer. */
async function checkRepayment(deps: PurchaseDeps, claim: Claim, payment: PaymentPaymentTable, now: Date): Promise<Result<Destination, PayHttpErrorCode>> {
  const { permit, amount } = claim;
  if (!(await isActiveMerchant(deps.db, permit.shop.id))) return err('PAY_MERCHANT_NOT_ACCEPTED', `merchant ${permit.shop.id} has no active contract with this payment server`);
  // Inclusive: due at T means payable at T.
  if (now.getTime() > Date.parse(permit.dueTime)) return err('PAY_PERMIT_EXPIRED', `the permit was due by ${permit.dueTime}: ask the shop for a new one`);
  if (amount.minor <= 0n) return err('PAY_DOCUMENT_INVALID', 'the permit amount must be positive', { document: 'permit', issues: [{ path: 'amount', message: 'must be positive' }] });
  if (amount.currency !== payment.currency) return err('PAY_CURRENCY_MISMATCH', `the permit is in ${amount.currency}, the payment in ${payment.currency}`);

  let destination: Destination;
  if (claim.mode === 'ecash') {
    const checked = await checkEnvelopes(deps, claim.envelopes, payment.currency, now);
    if (!checked.ok) return checked;
    const worth = totalValue(checked.value);
    if (worth !== amount.minor) return err('PAY_PERMIT_MISMATCH', `the envelopes are worth ${formatAmount({ currency: amount.currency, minor: worth })}, the permit ${formatAmount(amount)}`);
    const reused = await refuseReusedEnvelopes(deps.db, checked.value);
    if (!reused.ok) return reused;
    destination = { mode: 'ecash', envelopes: checked.value };
  } else {
    const purseKey = claim.request.purseKey!;
    const purse = await findPurse(deps.db, purseKey);
    if (!purse) return err('PAY_PURSE_UNKNOWN', 'this key is not registered as a purse here (POST /v1/purses)');
    if (purse.party_id !== permit.recipientId) return err('PAY_PURCHASER_MISMATCH', `the purse belongs to ${purse.party_id}, the permit's recipient is ${permit.recipientId}`);
    const reserve = await deps.db.selectFrom('payment_reserves').select('currency').where('reserve_pub', '=', purseKey).executeTakeFirst();
    if (reserve && reserve.currency !== payment.currency) return err('PAY_CURRENCY_MISMATCH', `the purse holds ${reserve.currency}, the refund is in ${payment.currency}`);
    destination = { mode: 'account', purseKey };
  }

  // Not the guards (the transaction's conditional updates are): they spare
  // the signing for a request that cannot succeed.
  if (payment.refunded + amount.minor > payment.amount) return err('PAY_REFUND_EXCEEDS_PAYMENT', exceeds(payment, amount.minor));
  const balance = (await accountBalance(deps.db, merchantAccount(payment.shop_id, payment.currency)))?.available ?? 0n;
  if (balance < amount.minor) {
    // Refunds of this payment that committed since it was read took that
    // balance: then the cap is the answer (a refund and its debit commit
    // together, so one the balance shows is in the payment read after it).
    const fresh = await findPayment(deps.db, payment.shop_id, payment.transaction_id);
    if (fresh && fresh.refunded + amount.minor > fresh.amount) return err('PAY_REFUND_EXCEEDS_PAYMENT', exceeds(fresh, amount.minor));
    return err('PAY_MERCHANT_BALANCE_INSUFFICIENT', insufficient(payment.shop_id));
  }
  return ok(destination);
}

function exceeds(payment: PaymentPaymentTable, minor: bigint): string {
  const f = (m: bigint) => formatAmount({ currency: payment.currency, minor: m });
  return `transaction ${payment.transaction_id} was paid ${f(payment.amount)}, of which ${f(payment.refunded)} is refunded already: ${f(minor)} more is too much`;
}

function insufficient(shopId: string): string {
  return `the collected balance of shop ${shopId} here does not cover this refund (its takings were paid out); it is paid once later takings do`;
}

/** POST /v1/repayments, after the schema. */
/**
 * Step 0: a claim repeated after it was paid, byte for byte (the same permit
 * and remittance request documents, the same envelopes), is answered with
 * what was stored — before any signature or certificate is checked "now": a
 * shopper whose certificate expired or was revoked since must still receive
 * the coins the merchant's money already paid for. The stored answer is no
 * secret to the one who holds these bytes: blind signatures are worthless
 * without the blinding factors, and the state is public (GET).
 */
async function repeatedClaim(db: Db, call: RemittanceCall): Promise<Result<IssueOutcome<RemittanceAnswer>, PayHttpErrorCode> | undefined> {
  const permitBytes = decodeBase64url(call.permit.payload);
  const requestBytes = decodeBase64url(call.request.payload);
  if (!permitBytes || !requestBytes) return undefined;
  let permit: unknown;
  try {
    permit = JSON.parse(new TextDecoder().decode(permitBytes));
  } catch {
    return undefined;
  }
  const parsed = parseDocument(REPAYMENT_PERMIT_TYP, permit);
  if (!parsed.ok) return undefined;
  const row = await findRepayment(db, parsed.value.shop.id, parsed.value.permitId);
  if (!row || row.permit_hash !== (await documentHash(permitBytes)) || row.request_hash !== (await documentHash(requestBytes))) return undefined;
  // The request (its hash is the stored one) names the envelopes' hash: these must be those envelopes.
  if (row.mode === 'ecash') {
    const request = parseDocument(REMITTANCE_REQUEST_TYP, JSON.parse(new TextDecoder().decode(requestBytes)));
    if (!request.ok || request.value.envelopesHash !== (await remittanceEnvelopesHash(call.envelopes))) return undefined;
  }
  return earlierRemittance(db, row.shop_id, row.permit_id, row.request_hash);
}

export async function remit(deps: PurchaseDeps, opts: PurchaseOptions, call: RemittanceCall): Promise<Result<IssueOutcome<RemittanceAnswer>, PayHttpErrorCode>> {
  const repeated = await repeatedClaim(deps.db, call);
  if (repeated) return repeated;
  const now = deps.clock();
  const claimed = await checkClaim(deps, opts, call, now);
  if (!claimed.ok) return claimed;
  const claim = claimed.value;
  const { permit, amount } = claim;
  const shopId = permit.shop.id;

  // 6.
  const payment = await findPayment(deps.db, shopId, permit.transactionId);
  if (!payment) return err('PAY_PAYMENT_UNKNOWN', `no payment of transaction ${permit.transactionId} to shop ${shopId} was accepted here`);
  if (payment.state !== 'PAID') return err('PAY_PAYMENT_NOT_PAID', `transaction ${permit.transactionId} of shop ${shopId} is not paid: there is nothing to refund`);
  if (payment.purchaser_id !== permit.recipientId) {
    return err('PAY_PURCHASER_MISMATCH', `transaction ${permit.transactionId} was paid by ${payment.purchaser_id}, the permit repays ${permit.recipientId}`);
  }

  // 7.
  const earlier = () => earlierRemittance(deps.db, shopId, permit.permitId, claim.requestHash);
  const before = await earlier();
  if (before) return before;
  const refuse = async (r: Err<PayHttpErrorCode>) => (await earlier()) ?? r;

  // 8.
  const checked = await checkRepayment(deps, claim, payment, now);
  if (!checked.ok) return refuse(checked);
  const destination = checked.value;

  // 9.
  const blindSignatures = destination.mode === 'ecash' ? signEnvelopes(destination.envelopes) : ok([]);
  if (!blindSignatures.ok) return refuse(blindSignatures);
  const row: PaymentRepaymentTable = {
    shop_id: shopId,
    permit_id: permit.permitId,
    payment_id: payment.payment_id,
    transaction_id: permit.transactionId,
    recipient_id: permit.recipientId,
    ...signerKey(claim.recipient),
    currency: payment.currency,
    amount: amount.minor,
    mode: destination.mode,
    purse_key: destination.mode === 'account' ? destination.purseKey : null,
    permit_hash: claim.permitHash,
    request_hash: claim.requestHash,
    permit_jws: JSON.stringify(claim.permitJws),
    request_jws: JSON.stringify(claim.requestJws),
    state: 'remitted',
    state_jws: '',
    receipt_jws: null,
    completed_state_jws: null,
    completed_at: null,
    settlement_id: null,
    created_at: now.toISOString(),
  };
  const state = await signRepaymentState(deps, row, undefined, now);
  row.state_jws = JSON.stringify(state);

  // 10.
  const ref = repaymentRef(shopId, permit.permitId);
  for (let race = 1; ; race++) {
    try {
      await withRetry(() =>
        deps.db.transaction().execute(async (trx) => {
          await trx.insertInto('payment_repayments').values(row).execute();
          const capped = await trx
            .updateTable('payment_payments')
            .set({ refunded: sql`refunded + ${amount.minor}` })
            .where('payment_id', '=', payment.payment_id)
            .where('state', '=', 'PAID')
            .where((eb) => eb(sql`refunded + ${amount.minor}`, '<=', eb.ref('amount')))
            .executeTakeFirst();
          if (capped.numUpdatedRows === 0n) {
            const now2 = await trx.selectFrom('payment_payments').selectAll().where('payment_id', '=', payment.payment_id).executeTakeFirstOrThrow();
            throw new Refusal(err('PAY_REFUND_EXCEEDS_PAYMENT', exceeds(now2, amount.minor)));
          }
          const currency = payment.currency;
          const merchant = merchantAccount(shopId, currency);
          await ensureAccount(trx, merchant, currency, 'merchant', now);
          let to: string;
          if (destination.mode === 'ecash') {
            to = ledgerAccount.float(currency);
            await ensureAccount(trx, to, currency, 'float', now);
          } else {
            // A purse nothing was loaded into yet becomes a reserve now: its
            // currency is fixed by this first credit, as by a first load.
            await trx
              .insertInto('payment_reserves')
              .values({ reserve_pub: destination.purseKey, currency, created_at: now.toISOString() })
              .onConflict((oc) => oc.column('reserve_pub').doNothing())
              .execute();
            const reserve = await trx.selectFrom('payment_reserves').select('currency').where('reserve_pub', '=', destination.purseKey).executeTakeFirstOrThrow();
            if (reserve.currency !== currency) throw new Refusal(err('PAY_CURRENCY_MISMATCH', `the purse holds ${reserve.currency}, the refund is in ${currency}`));
            to = ledgerAccount.reserve(destination.purseKey);
            await ensureAccount(trx, to, currency, 'reserve', now);
          }
          const moved = await postTransfer(trx, { id: refundTransferId(shopId, permit.permitId), debit: merchant, credit: to, currency, amount: amount.minor, reason: 'refund' }, now);
          if (!moved) throw new Refusal(err('PAY_MERCHANT_BALANCE_INSUFFICIENT', insufficient(shopId)));
          if (destination.mode === 'ecash') await insertIssuedEnvelopes(trx, 'refund', ref, destination.envelopes, blindSignatures.value, now);
          await enqueueNotification(trx, { merchantId: shopId, kind: 'repayment', ref: permit.permitId, event: 'remitted' }, now);
        }),
      );
      return ok({ response: { state: wireJws(state), blindSignatures: blindSignatures.value }, replay: false });
    } catch (e) {
      if (e instanceof Refusal) return refuse(e.result);
      if (!deps.isUniqueViolation(e) || race >= MAX_RACES) throw e;
      // Another request committed first (PostgreSQL aborted ours: look
      // outside it): a twin of this one, another claim of this permit, or
      // one that signed one of our envelopes.
      const answer = await earlier();
      if (answer) return answer;
      if (destination.mode === 'ecash') {
        const reused = await refuseReusedEnvelopes(deps.db, destination.envelopes);
        if (!reused.ok) return refuse(reused);
      }
    }
  }
}
