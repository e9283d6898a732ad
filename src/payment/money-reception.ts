// Message 150 → 160 (DESIGN §2): the shopper presents the merchant's invoice,
// countersigned, and a money reception request signed by the same key. The
// payment server accepts the invoice for payment and answers with a signed
// money reception response.
//
// Pipeline (the first failure is answered; nothing is written before the end):
//  1. invoice JWS: exactly [merchant, purchaser] signatures verifying under
//     certificates of this server's CA (purchaser: a `client` certificate or
//     an anonymous jwk), its content an invoice         PAY_DOCUMENT_*
//  2. signer 0 is a `merchant` with an active contract   PAY_MERCHANT_NOT_ACCEPTED
//     and the invoice's shop; the invoice names this
//     payment server                                      PAY_INVOICE_MISMATCH
//  3. signer 1 owns invoice.purchaserId                   PAY_PURCHASER_MISMATCH
//  4. request JWS: signed by that same key, for this
//     server, this transaction and this invoice hash     PAY_DOCUMENT_*, PAY_PURCHASER_MISMATCH, PAY_INVOICE_MISMATCH
//  5. mode ecash|account (account: certified purchaser), amount in a currency issued here
//                                                         PAY_PAYMENT_MODE_UNSUPPORTED, PAY_CURRENCY_MISMATCH
//  6. an earlier 150 for (shop, transaction): the same invoice is answered
//     with the stored 160 (before the due time, so a repeat after a lost
//     answer still gets it); another invoice is PAY_REQUEST_CONFLICT
//  7. not past paymentDueTime                             PAY_INVOICE_EXPIRED
//  8. sign the 160, then insert the payment row; the unique (shop, transaction)
//     decides a race between two first copies.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { formatAmount, parseAmount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { INVOICE_TYP, MONEY_RECEPTION_REQUEST_TYP, MONEY_RECEPTION_RESPONSE_TYP, MoneyReceptionResponse, parseDocument, type Invoice } from '../protocol/documents/index.ts';
import type { SignerIdentity } from '../protocol/identity.ts';
import { signDocument, verifyDocument, type GeneralJws, type VerifiedDocument, type VerifyPolicy } from '../protocol/jws.ts';
import type { MoneyReceptionCall } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { createVerificationCache, type VerificationCache } from '../protocol/x509/index.ts';
import { denominationsOf } from './config.ts';
import type { PaymentDatabase, PaymentPaymentTable } from './db.ts';
import type { PaymentCaches, PaymentDeps } from './deps.ts';
import type { IssueOutcome } from './envelopes.ts';
import type { PayHttpErrorCode } from './errors.ts';
import { isActiveMerchant, trustAnchorOf } from './merchants.ts';

type Db = Kysely<PaymentDatabase>;

export type PurchaseDeps = Pick<PaymentDeps, 'db' | 'config' | 'signer' | 'clock' | 'isUniqueViolation' | 'caches' | 'wrapKey'>;

export type PurchaseOptions = {
  /**
   * The CA's current CRLs (DER). Given, every certificate path must be covered
   * by a fresh CRL (a revoked merchant is refused). Not given, revocation is
   * not checked by the payment server: the wallet checks the merchant against
   * the CA's CRL before it pays.
   */
  crls?: () => Promise<readonly Uint8Array[]>;
};

/** As the wallet: a CRL older than this is stale even before its nextUpdate. */
export const PURCHASE_CRL_MAX_AGE_SECONDS = 16 * 86_400;

const caches = new WeakMap<PaymentCaches, VerificationCache>();
function verificationCache(c: PaymentCaches): VerificationCache {
  let v = caches.get(c);
  if (v === undefined) {
    v = createVerificationCache({ maxEntries: 4096 });
    caches.set(c, v);
  }
  return v;
}

type Document = 'invoice' | 'request';

/**
 * A document signed under this payment server's CA (the trust anchor of its
 * own chain), with revocation checked when `opts.crls` is given. `document`
 * names it in the error's details.
 */
export async function verifyUnderOurCa(
  deps: Pick<PurchaseDeps, 'signer' | 'caches'>,
  opts: PurchaseOptions,
  jws: unknown,
  policy: { typ: string; signers: VerifyPolicy['signers']; document: string; what: string },
  now: Date,
): Promise<Result<VerifiedDocument, PayHttpErrorCode>> {
  const crls = opts.crls ? [...(await opts.crls())] : [];
  const v = await verifyDocument(jws, {
    now,
    trustAnchors: [trustAnchorOf(deps.signer.x5c)],
    crls,
    requireCrl: opts.crls !== undefined,
    crlMaxAgeSeconds: PURCHASE_CRL_MAX_AGE_SECONDS,
    expectedTyp: policy.typ,
    signers: policy.signers,
    cache: verificationCache(deps.caches),
  });
  if (!v.ok) return err('PAY_DOCUMENT_SIGNATURE_INVALID', `the ${policy.what} does not verify: ${v.message}`, { document: policy.document, code: v.code });
  return v;
}

function verify(deps: PurchaseDeps, opts: PurchaseOptions, document: Document, jws: unknown, now: Date): Promise<Result<VerifiedDocument, PayHttpErrorCode>> {
  const purchaser = { roles: ['client'], orAnonymous: true } as const;
  return verifyUnderOurCa(
    deps,
    opts,
    jws,
    document === 'invoice'
      ? // The merchant position takes any certified role: its role is checked
        // below, so that a non-merchant signer gets PAY_MERCHANT_NOT_ACCEPTED.
        { typ: INVOICE_TYP, signers: [{}, purchaser], document, what: 'invoice' }
      : { typ: MONEY_RECEPTION_REQUEST_TYP, signers: [purchaser], document, what: 'money reception request' },
    now,
  );
}

/** Whether two verified signers are the same key (certified: the same leaf certificate). */
export function sameKey(a: SignerIdentity, b: SignerIdentity): boolean {
  if (a.kind === 'certified') return b.kind === 'certified' && a.fingerprint === b.fingerprint;
  return b.kind === 'anonymous' && a.thumbprint === b.thumbprint;
}

/** Who a signer is as a purchaser id: the certified party id, or the anonymous key's thumbprint. */
export function ownerId(s: SignerIdentity): string {
  return s.kind === 'certified' ? s.partyId : s.thumbprint;
}

/** The JWS as stored: protected header and signature only (verifyDocument accepted no unprotected header). */
export function normalized(jws: { payload: string; signatures: readonly { protected: string; signature: string }[] }): GeneralJws {
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) };
}

/** The payment of (shop, transaction), if any. */
export function findPayment(db: Db, shopId: string, transactionId: string): Promise<PaymentPaymentTable | undefined> {
  return db.selectFrom('payment_payments').selectAll().where('shop_id', '=', shopId).where('transaction_id', '=', transactionId).executeTakeFirst();
}

function earlierReception(row: PaymentPaymentTable | undefined, invoiceHash: string): Result<IssueOutcome<GeneralJws>, PayHttpErrorCode> | undefined {
  if (!row) return undefined;
  if (row.invoice_hash !== invoiceHash) return err('PAY_REQUEST_CONFLICT', `transaction ${row.transaction_id} of shop ${row.shop_id} was already presented with another invoice`);
  return ok({ response: JSON.parse(row.reception_jws) as GeneralJws, replay: true });
}

/** POST /v1/money-reception, after the schema. */
export async function moneyReception(deps: PurchaseDeps, opts: PurchaseOptions, call: MoneyReceptionCall): Promise<Result<IssueOutcome<GeneralJws>, PayHttpErrorCode>> {
  // Copies: what is verified is what is stored.
  const invoiceJws = normalized(call.invoice);
  const requestJws = normalized(call.request);
  const now = deps.clock();

  // 1.
  const inv = await verify(deps, opts, 'invoice', invoiceJws, now);
  if (!inv.ok) return inv;
  const parsedInvoice = parseDocument(INVOICE_TYP, inv.value.payload);
  if (!parsedInvoice.ok) return err('PAY_DOCUMENT_INVALID', `the invoice: ${parsedInvoice.message}`, { document: 'invoice', issues: parsedInvoice.details });
  const invoice: Invoice = parsedInvoice.value;
  const invoiceHash = inv.value.documentHash;
  const [merchant, purchaser] = inv.value.signers as [SignerIdentity, SignerIdentity];

  // 2.
  if (merchant.kind !== 'certified' || merchant.role !== 'merchant') {
    return err('PAY_MERCHANT_NOT_ACCEPTED', `the invoice is signed by a ${merchant.kind === 'certified' ? merchant.role : 'anonymous'} key, not by a merchant`);
  }
  if (merchant.partyId !== invoice.shop.id) return err('PAY_INVOICE_MISMATCH', `the invoice names shop ${invoice.shop.id} but is signed by merchant ${merchant.partyId}`);
  if (!(await isActiveMerchant(deps.db, merchant.partyId))) return err('PAY_MERCHANT_NOT_ACCEPTED', `merchant ${merchant.partyId} has no active contract with this payment server`);
  if (invoice.paymentServer.id !== deps.signer.partyId) {
    return err('PAY_INVOICE_MISMATCH', `the invoice is to be paid to ${invoice.paymentServer.id}, not to this payment server (${deps.signer.partyId})`);
  }

  // 3.
  if (ownerId(purchaser) !== invoice.purchaserId) {
    return err('PAY_PURCHASER_MISMATCH', `the invoice is for purchaser ${invoice.purchaserId} but was countersigned by ${ownerId(purchaser)}`);
  }

  // 4.
  const req = await verify(deps, opts, 'request', requestJws, now);
  if (!req.ok) return req;
  const parsedRequest = parseDocument(MONEY_RECEPTION_REQUEST_TYP, req.value.payload);
  if (!parsedRequest.ok) return err('PAY_DOCUMENT_INVALID', `the money reception request: ${parsedRequest.message}`, { document: 'request', issues: parsedRequest.details });
  const request = parsedRequest.value;
  if (!sameKey(req.value.signers[0]!, purchaser) || request.purchaserId !== invoice.purchaserId) {
    return err('PAY_PURCHASER_MISMATCH', 'the money reception request is not signed by the key that countersigned the invoice');
  }
  if (request.paymentServerId !== deps.signer.partyId) return err('PAY_INVOICE_MISMATCH', `the request is addressed to payment server ${request.paymentServerId}`);
  if (request.transactionId !== invoice.transactionId || request.invoiceHash !== invoiceHash) {
    return err('PAY_INVOICE_MISMATCH', "the request names another transaction or invoice hash than the invoice's");
  }

  // 5. (`card` is not taken; `account` is accepted here and paid in a later slice.)
  if (invoice.paymentMode !== 'ecash' && invoice.paymentMode !== 'account') return err('PAY_PAYMENT_MODE_UNSUPPORTED', `payment mode ${invoice.paymentMode} is not taken here`);
  // A purse is registered to a certified party: a per-order key owns none, so the invoice could never be paid.
  if (invoice.paymentMode === 'account' && purchaser.kind !== 'certified') return err('PAY_PAYMENT_MODE_UNSUPPORTED', 'mode account pays from a purse registered to a certified purchaser; an anonymous purchase pays with e-money');
  const amount = parseAmount(invoice.amount);
  if (!amount.ok) throw new Error('a parsed invoice holds a bad amount');
  if (amount.value.minor <= 0n) return err('PAY_DOCUMENT_INVALID', 'the invoice amount must be positive', { document: 'invoice', issues: [{ path: 'amount', message: 'must be positive' }] });
  if (!deps.config.currencies.some((c) => denominationsOf(c).currency === amount.value.currency)) {
    return err('PAY_CURRENCY_MISMATCH', `this payment server takes no ${amount.value.currency}`);
  }

  // 6.
  const earlier = earlierReception(await findPayment(deps.db, invoice.shop.id, invoice.transactionId), invoiceHash);
  if (earlier) return earlier;

  // 7. Inclusive: due at T means payable at T.
  if (now.getTime() > Date.parse(invoice.paymentDueTime)) return err('PAY_INVOICE_EXPIRED', `the invoice was due by ${invoice.paymentDueTime}`);

  // 8.
  const payload = MoneyReceptionResponse.parse({
    typ: MONEY_RECEPTION_RESPONSE_TYP,
    transactionId: invoice.transactionId,
    invoiceHash,
    paymentServerId: deps.signer.partyId,
    accepted: true,
    time: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
  });
  const reception = await signDocument({ payload, typ: MONEY_RECEPTION_RESPONSE_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
  try {
    await deps.db
      .insertInto('payment_payments')
      .values({
        payment_id: `pay_${randomBytes(16).toString('base64url')}`,
        shop_id: invoice.shop.id,
        transaction_id: invoice.transactionId,
        purchaser_id: invoice.purchaserId,
        currency: amount.value.currency,
        amount: amount.value.minor,
        payment_mode: invoice.paymentMode,
        state: 'RECEPTION_ACCEPTED',
        invoice_hash: invoiceHash,
        payment_due_time: invoice.paymentDueTime,
        invoice_jws: JSON.stringify(invoiceJws),
        reception_jws: JSON.stringify(reception),
        payment_request_hash: null,
        receipt_jws: null,
        paid_at: null,
        purse_key: null,
        purse_signature: null,
        refunded: 0n,
        created_at: now.toISOString(),
      })
      .execute();
  } catch (e) {
    if (!deps.isUniqueViolation(e)) throw e;
    // Another copy committed first: answer as it was answered.
    const raced = earlierReception(await findPayment(deps.db, invoice.shop.id, invoice.transactionId), invoiceHash);
    if (!raced) throw e;
    return raced;
  }
  return ok({ response: reception, replay: false });
}

/** The invoice of a payment row, as verified at 150. */
export function storedInvoice(row: PaymentPaymentTable): Invoice {
  const jws = JSON.parse(row.invoice_jws) as GeneralJws;
  const parsed = parseDocument(INVOICE_TYP, JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))));
  if (!parsed.ok) throw new Error(`payment ${row.payment_id}: the stored invoice does not parse`);
  return parsed.value;
}

/** "JPY:1024" of a payment row. */
export function rowAmount(row: Pick<PaymentPaymentTable, 'currency' | 'amount'>): string {
  return formatAmount({ currency: row.currency, minor: row.amount });
}
