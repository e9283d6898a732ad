// What the wallet checks before it shows or pays anything (DESIGN §2): the
// merchant's hello (120) and invoice (140), the payment server's chain named
// in the invoice, its answers 160 and 180, and the merchant's completion (190).
// Every check is against the CA root the wallet trusts and the CA's current
// CRL; nothing the shopper is shown comes from an unverified field.
import { parseAmount } from '../protocol/amount.ts';
import {
  COMPLETION_TYP,
  HELLO_RESPONSE_TYP,
  INVOICE_TYP,
  MONEY_RECEPTION_RESPONSE_TYP,
  parseDocument,
  RECEIPT_TYP,
  REPAYMENT_PERMIT_TYP,
  REPAYMENT_STATE_TYP,
  type Completion,
  type HelloResponse,
  type Invoice,
  type Order,
  type Receipt,
  type RepaymentPermit,
  type RepaymentState,
} from '../protocol/documents/index.ts';
import type { SignerIdentity } from '../protocol/identity.ts';
import { verifyDocument, type VerifiedDocument, type VerifyCode } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { formatFingerprint, pemToDer, validatePath, type PathCode } from '../protocol/x509/index.ts';
import type { Role } from '../protocol/identity.ts';
import type { WalletErrorCode } from './errors.ts';
import { CRL_MAX_AGE_SECONDS } from './register.ts';

export type CertifiedIdentity = Extract<SignerIdentity, { kind: 'certified' }>;

/** The CA root this wallet trusts and the CA's CRL, fetched for this purchase. */
export type Trust = { root: Uint8Array; crls: readonly Uint8Array[] };

export type CheckCode =
  | VerifyCode
  | PathCode
  | 'PROTO_DOCUMENT_INVALID'
  | Extract<
      WalletErrorCode,
      | 'WALLET_MERCHANT_MISMATCH'
      | 'WALLET_INVOICE_MISMATCH'
      | 'WALLET_INVOICE_EXPIRED'
      | 'WALLET_PAYMENT_SERVER_MISMATCH'
      | 'WALLET_RECEPTION_INVALID'
      | 'WALLET_RECEIPT_INVALID'
      | 'WALLET_COMPLETION_INVALID'
      | 'WALLET_PERMIT_INVALID'
      | 'WALLET_REPAYMENT_STATE_INVALID'
    >;

/** A certified party as the wallet shows it: only fields of a certificate that validated. */
export type PartyView = {
  /** The display name the CA certified (not a name the party chose to send). */
  displayName: string;
  partyId: string;
  role: Role;
  /** Subject DN of the issuing CA. */
  issuer: string;
  /** SHA-256 of the certificate, "AB:CD:…" as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string;
  notBefore: string;
  notAfter: string;
};

export function partyView(id: CertifiedIdentity): PartyView {
  return {
    displayName: id.displayName,
    partyId: id.partyId,
    role: id.role,
    issuer: id.issuer,
    fingerprint: formatFingerprint(id.fingerprint),
    notBefore: id.notBefore.toISOString(),
    notAfter: id.notAfter.toISOString(),
  };
}

async function verifyAs(jws: unknown, typ: string, role: Role, trust: Trust, now: Date): Promise<Result<{ doc: VerifiedDocument; signer: CertifiedIdentity }, VerifyCode>> {
  const v = await verifyDocument(jws, {
    now,
    trustAnchors: [trust.root],
    crls: trust.crls,
    requireCrl: true,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: typ,
    signers: [{ roles: [role] }],
  });
  if (!v.ok) return v;
  const signer = v.value.signers[0]!;
  if (signer.kind !== 'certified') return err('PROTO_JWS_SIGNER_MISMATCH', 'a certified signer is required');
  return ok({ doc: v.value, signer });
}

/** 120: signed by a certified `merchant`, echoing our nonce, naming the party that signed it. */
export async function checkHello(jws: unknown, nonce: string, trust: Trust, now: Date): Promise<Result<{ hello: HelloResponse; merchant: CertifiedIdentity }, CheckCode>> {
  const v = await verifyAs(jws, HELLO_RESPONSE_TYP, 'merchant', trust, now);
  if (!v.ok) return v;
  const hello = parseDocument(HELLO_RESPONSE_TYP, v.value.doc.payload);
  if (!hello.ok) return hello;
  // A replayed hello (someone else's, or an old one) carries another nonce.
  if (hello.value.nonce !== nonce) return err('WALLET_MERCHANT_MISMATCH', 'the merchant did not sign our nonce: the hello answer is a replay');
  if (hello.value.merchant.id !== v.value.signer.partyId) {
    return err('WALLET_MERCHANT_MISMATCH', `the hello names merchant ${hello.value.merchant.id} but is signed by ${v.value.signer.partyId}`);
  }
  return ok({ hello: hello.value, merchant: v.value.signer });
}

function sameLines(a: Order['lines'], b: Invoice['lines']): boolean {
  return (
    a.length === b.length &&
    a.every((l, i) => {
      const m = b[i]!;
      const pa = parseAmount(l.unitPrice);
      const pb = parseAmount(m.unitPrice);
      return l.article === m.article && l.name === m.name && l.quantity === m.quantity && pa.ok && pb.ok && pa.value.currency === pb.value.currency && pa.value.minor === pb.value.minor;
    })
  );
}

function sameAmount(a: string, b: string): boolean {
  const x = parseAmount(a);
  const y = parseAmount(b);
  return x.ok && y.ok && x.value.currency === y.value.currency && x.value.minor === y.value.minor;
}

export type CheckedInvoice = {
  invoice: Invoice;
  invoiceHash: string;
  merchant: CertifiedIdentity;
  /** The payment server the invoice names, from its validated chain. */
  paymentServer: CertifiedIdentity;
};

/**
 * 140: signed by the same merchant party as the hello, answering exactly our
 * order, payable now, naming a payment server whose chain (sent with it)
 * validates as `payment` under our root and is that very party.
 */
export async function checkInvoice(
  p: { invoiceJws: unknown; paymentServerChain: readonly string[]; order: Order; orderHash: string; merchantId: string },
  trust: Trust,
  now: Date,
  checkDue: boolean,
): Promise<Result<CheckedInvoice, CheckCode>> {
  const v = await verifyAs(p.invoiceJws, INVOICE_TYP, 'merchant', trust, now);
  if (!v.ok) return v;
  const signer = v.value.signer;
  if (signer.partyId !== p.merchantId) {
    return err('WALLET_MERCHANT_MISMATCH', `the invoice is signed by merchant ${signer.partyId}, not by ${p.merchantId} whom we ordered from`);
  }
  const parsed = parseDocument(INVOICE_TYP, v.value.doc.payload);
  if (!parsed.ok) return parsed;
  const invoice = parsed.value;
  const o = p.order;
  const mismatch = (field: string, why: string) => err('WALLET_INVOICE_MISMATCH', `the invoice does not answer our order: ${why}`, { field });
  if (invoice.orderHash !== p.orderHash) return mismatch('orderHash', 'it names another order');
  if (invoice.purchaserId !== o.purchaserId) return mismatch('purchaserId', `it is made out to ${invoice.purchaserId}`);
  if (!sameLines(o.lines, invoice.lines)) return mismatch('lines', 'its lines differ from the ordered ones');
  if (!sameAmount(invoice.amount, o.total)) return mismatch('amount', `it asks ${invoice.amount} for an order of ${o.total}`);
  if (invoice.paymentMode !== o.paymentMode) return mismatch('paymentMode', `it asks for payment mode ${invoice.paymentMode}`);
  if (invoice.sellingConditionsHash !== o.sellingConditionsHash) return mismatch('sellingConditionsHash', 'it refers to other selling conditions');
  if (invoice.shop.id !== signer.partyId || invoice.shop.name !== signer.displayName) {
    return mismatch('shop', `it names shop ${invoice.shop.id} "${invoice.shop.name}", but the certified signer is ${signer.partyId} "${signer.displayName}"`);
  }
  if (checkDue && now.getTime() > Date.parse(invoice.paymentDueTime)) return err('WALLET_INVOICE_EXPIRED', `the invoice was due by ${invoice.paymentDueTime}`);

  const chain: Uint8Array[] = [];
  for (const pem of p.paymentServerChain) {
    const der = pemToDer(pem, 'CERTIFICATE');
    if (!der) return err('PROTO_CERT_MALFORMED', 'the payment server chain sent with the invoice is not PEM certificates');
    chain.push(der);
  }
  const path = await validatePath(chain, { trustAnchors: [trust.root], crls: trust.crls, requireCrl: true, crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS, now, expectedRoles: ['payment'] });
  if (!path.ok) return path;
  const pay = path.value.identity;
  if (pay.partyId !== invoice.paymentServer.id || pay.displayName !== invoice.paymentServer.name) {
    return err('WALLET_PAYMENT_SERVER_MISMATCH', `the invoice names payment server ${invoice.paymentServer.id} "${invoice.paymentServer.name}", but the chain sent with it certifies ${pay.partyId} "${pay.displayName}"`);
  }
  return ok({ invoice, invoiceHash: v.value.doc.documentHash, merchant: signer, paymentServer: pay });
}

/** Verifies a document signed by the payment server the invoice named: the very certificate of its chain. */
async function fromPaymentServer(jws: unknown, typ: string, paymentFingerprint: string, trust: Trust, now: Date): Promise<Result<VerifiedDocument, VerifyCode | 'WALLET_PAYMENT_SERVER_MISMATCH'>> {
  const v = await verifyAs(jws, typ, 'payment', trust, now);
  if (!v.ok) return v;
  if (v.value.signer.fingerprint !== paymentFingerprint) {
    return err('WALLET_PAYMENT_SERVER_MISMATCH', `signed by payment party ${v.value.signer.partyId}, not by the payment server certificate the invoice named`);
  }
  return ok(v.value.doc);
}

/** 160: from the invoice's payment server, accepting this transaction and invoice. */
export async function checkReception(jws: unknown, invoice: CheckedInvoice, trust: Trust, now: Date): Promise<Result<void, CheckCode>> {
  const v = await fromPaymentServer(jws, MONEY_RECEPTION_RESPONSE_TYP, invoice.paymentServer.fingerprint, trust, now);
  if (!v.ok) return err('WALLET_RECEPTION_INVALID', `the money reception response does not verify: ${v.message}`, { cause: v.code });
  const doc = parseDocument(MONEY_RECEPTION_RESPONSE_TYP, v.value.payload);
  if (!doc.ok) return err('WALLET_RECEPTION_INVALID', 'the money reception response is not the documented document', doc.details);
  const r = doc.value;
  if (!r.accepted || r.transactionId !== invoice.invoice.transactionId || r.invoiceHash !== invoice.invoiceHash || r.paymentServerId !== invoice.paymentServer.partyId) {
    return err('WALLET_RECEPTION_INVALID', 'the money reception response does not accept this transaction and invoice');
  }
  return ok(undefined);
}

/** 180: the receipt (fig. 7), signed by the invoice's payment server, for exactly this invoice. */
export async function checkReceipt(jws: unknown, invoice: CheckedInvoice, trust: Trust, now: Date): Promise<Result<{ receipt: Receipt; receiptHash: string }, CheckCode>> {
  const v = await fromPaymentServer(jws, RECEIPT_TYP, invoice.paymentServer.fingerprint, trust, now);
  if (!v.ok) return err('WALLET_RECEIPT_INVALID', `the receipt does not verify: ${v.message}`, { cause: v.code });
  const doc = parseDocument(RECEIPT_TYP, v.value.payload);
  if (!doc.ok) return err('WALLET_RECEIPT_INVALID', 'the receipt is not the documented document', doc.details);
  const r = doc.value;
  const i = invoice.invoice;
  const wrong =
    r.transactionId !== i.transactionId
      ? 'transactionId'
      : r.purchaserId !== i.purchaserId
        ? 'purchaserId'
        : !sameAmount(r.amountReceived, i.amount)
          ? 'amountReceived'
          : r.mode !== i.paymentMode
            ? 'mode'
            : r.shop.id !== i.shop.id || r.shop.name !== i.shop.name
              ? 'shop'
              : r.recipient.id !== i.paymentServer.id
                ? 'recipient'
                : r.invoiceHash !== invoice.invoiceHash
                  ? 'invoiceHash'
                  : undefined;
  if (wrong) return err('WALLET_RECEIPT_INVALID', `the receipt does not match the invoice (${wrong})`, { field: wrong });
  return ok({ receipt: r, receiptHash: v.value.documentHash });
}

/** 190: the merchant's signed completion, from the merchant we bought from, for our receipt. */
export async function checkCompletion(jws: unknown, p: { merchantId: string; transactionId: string; receiptHash: string }, trust: Trust, now: Date): Promise<Result<Completion, CheckCode>> {
  const v = await verifyAs(jws, COMPLETION_TYP, 'merchant', trust, now);
  if (!v.ok) return err('WALLET_COMPLETION_INVALID', `the completion does not verify: ${v.message}`, { cause: v.code });
  if (v.value.signer.partyId !== p.merchantId) return err('WALLET_COMPLETION_INVALID', `the completion is signed by ${v.value.signer.partyId}, not by the shop`);
  const doc = parseDocument(COMPLETION_TYP, v.value.doc.payload);
  if (!doc.ok) return err('WALLET_COMPLETION_INVALID', 'the completion is not the documented document', doc.details);
  if (doc.value.transactionId !== p.transactionId || doc.value.receiptHash !== p.receiptHash) {
    return err('WALLET_COMPLETION_INVALID', 'the completion names another transaction or receipt');
  }
  return ok(doc.value);
}

// ---------------------------------------------------------------- refunds (1140, 1160/1180, 1200)

/**
 * 1140: the permit, signed by the shop we bought from, answering exactly our
 * repayment request (its document hash), repaying us (the purchaser of the
 * invoice) the amount asked in the invoice's mode, by the invoice's payment
 * server, not yet past its due time.
 */
export async function checkPermit(
  jws: unknown,
  p: { invoice: CheckedInvoice; requestHash: string; amount: string },
  trust: Trust,
  now: Date,
): Promise<Result<{ permit: RepaymentPermit; permitHash: string }, CheckCode>> {
  const v = await verifyAs(jws, REPAYMENT_PERMIT_TYP, 'merchant', trust, now);
  if (!v.ok) return err('WALLET_PERMIT_INVALID', `the repayment permit does not verify: ${v.message}`, { cause: v.code });
  const i = p.invoice.invoice;
  if (v.value.signer.partyId !== i.shop.id) return err('WALLET_PERMIT_INVALID', `the permit is signed by ${v.value.signer.partyId}, not by the shop`);
  const doc = parseDocument(REPAYMENT_PERMIT_TYP, v.value.doc.payload);
  if (!doc.ok) return err('WALLET_PERMIT_INVALID', 'the permit is not the documented document', doc.details);
  const r = doc.value;
  const wrong =
    r.transactionId !== i.transactionId
      ? 'transactionId'
      : r.requestHash !== p.requestHash
        ? 'requestHash'
        : r.recipientId !== i.purchaserId
          ? 'recipientId'
          : !sameAmount(r.amount, p.amount)
            ? 'amount'
            : r.mode !== i.paymentMode
              ? 'mode'
              : r.shop.id !== i.shop.id
                ? 'shop'
                : r.repayer.id !== i.paymentServer.id
                  ? 'repayer'
                  : undefined;
  if (wrong) return err('WALLET_PERMIT_INVALID', `the permit does not answer our repayment request (${wrong})`, { field: wrong });
  if (now.getTime() > Date.parse(r.dueTime)) return err('WALLET_PERMIT_INVALID', `the permit was due by ${r.dueTime}`, { field: 'dueTime' });
  return ok({ permit: r, permitHash: v.value.doc.documentHash });
}

/** 1160/1180 and 1200: the invoice's payment server's signed word on our permit, in the state expected. */
export async function checkRepaymentState(
  jws: unknown,
  p: { invoice: CheckedInvoice; permit: RepaymentPermit; state: 'remitted' | 'completed' },
  trust: Trust,
  now: Date,
): Promise<Result<RepaymentState, CheckCode>> {
  const v = await fromPaymentServer(jws, REPAYMENT_STATE_TYP, p.invoice.paymentServer.fingerprint, trust, now);
  if (!v.ok) return err('WALLET_REPAYMENT_STATE_INVALID', `the repayment state does not verify: ${v.message}`, { cause: v.code });
  const doc = parseDocument(REPAYMENT_STATE_TYP, v.value.payload);
  if (!doc.ok) return err('WALLET_REPAYMENT_STATE_INVALID', 'the repayment state is not the documented document', doc.details);
  const r = doc.value;
  if (r.permitId !== p.permit.permitId || r.transactionId !== p.permit.transactionId || r.shopId !== p.permit.shop.id || !sameAmount(r.amount, p.permit.amount) || r.state !== p.state) {
    return err('WALLET_REPAYMENT_STATE_INVALID', `the repayment state does not say our permit ${p.permit.permitId} is ${p.state}`);
  }
  return ok(r);
}
