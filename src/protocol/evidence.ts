// Purchase evidence (issue 4, DESIGN §2 "both end up holding signed evidence"):
// one JSON bundle of the signed documents of a purchase — and of its refunds
// that were paid (issue 5, DESIGN §3) — checkable offline by anyone who trusts
// the CA. docs/EVIDENCE.md documents the format and every check.
//
// Time: each document's signatures and chains are validated as of the
// document's own time field (the order's `time`, the invoice's `billTime`, …),
// so a certificate that expired after the purchase still proves the purchase.
// The price: that time is the signer's own claim. A signer whose certificate
// has expired (or whose key leaked) could backdate a new document, which is why
// a certificate listed on any CRL given fails the bundle, whatever the
// revocation date (until documents are time-stamped by a notary).
import { z } from 'zod';
import { formatAmount, parseAmount } from './amount.ts';
import { decodeBase64, decodeBase64url } from './base64url.ts';
import {
  COMPLETION_TYP,
  HELLO_RESPONSE_TYP,
  INVOICE_TYP,
  JwsGeneral,
  MONEY_RECEPTION_REQUEST_TYP,
  MONEY_RECEPTION_RESPONSE_TYP,
  ORDER_TYP,
  parseDocument,
  RECEIPT_TYP,
  REMITTANCE_REQUEST_TYP,
  REPAYMENT_PERMIT_TYP,
  REPAYMENT_RECEIPT_TYP,
  REPAYMENT_REQUEST_TYP,
  REPAYMENT_STATE_TYP,
  rfc3339UtcToMillis,
  ShortId,
  type DocumentOf,
  type DocumentTyp,
  type Line,
} from './documents/index.ts';
import type { SignerIdentity } from './identity.ts';
import { verifyDocument, type SignerExpectation, type VerifyCode } from './jws.ts';
import { err, ok, type Result } from './result.ts';
import { createVerificationCache } from './x509/verification-cache.ts';

export const EVIDENCE_FORMAT = 'quittance.evidence.v1';

/** CRLs a bundle may carry: one per CA of a few generations is plenty. */
export const MAX_BUNDLE_CRLS = 16;
const Base64Der = z
  .string()
  .min(4)
  .max(1_400_000)
  .refine((s) => decodeBase64(s) !== undefined, 'crl: DER, canonical standard base64');

export const EvidenceDocuments = z.strictObject({
  /** 120: the merchant's signed hello answer (optional: it adds the shop's self-description only). */
  hello: JwsGeneral.optional(),
  /** 130: the order, signed by the purchaser (certified key or anonymous per-order key). */
  order: JwsGeneral,
  /** 140/150: the invoice, signed by the merchant and countersigned by the purchaser. */
  invoice: JwsGeneral,
  /** 150: the money reception request, signed by the purchaser. */
  receptionRequest: JwsGeneral,
  /** 160: the money reception response, signed by the payment server. */
  receptionResponse: JwsGeneral,
  /** 180: the receipt, signed by the payment server. */
  receipt: JwsGeneral,
  /** 190: the merchant's completion, when the shop confirmed it. */
  completion: JwsGeneral.optional(),
});
export type EvidenceDocuments = z.infer<typeof EvidenceDocuments>;
export type EvidenceDocumentName = keyof EvidenceDocuments;

/** Refunds a bundle may carry: far more partial refunds than any purchase sees, few enough to bound the work. */
export const MAX_BUNDLE_REFUNDS = 256;

/**
 * One refund that was paid (DESIGN §3): the documents of messages 1110–1200.
 * Only a refund the payment server says it remitted is evidence of money
 * going back; a request or a permit alone proves nothing was paid.
 */
export const EvidenceRefund = z.strictObject({
  /** 1110: the repayment request, signed with the key that signed the order. */
  request: JwsGeneral,
  /** 1140/1150: the permit, signed by the shop and countersigned by the purchaser (the claim's copy). */
  permit: JwsGeneral,
  /** 1150: the remittance request, signed by the purchaser, naming the permit and where the money goes. */
  remittanceRequest: JwsGeneral,
  /** 1160/1180: the payment server's repayment state `remitted`. */
  remitted: JwsGeneral,
  /** 1190: the purchaser's repayment receipt. */
  receipt: JwsGeneral.optional(),
  /** 1200: the payment server's repayment state `completed`, carrying the receipt. */
  completed: JwsGeneral.optional(),
});
export type EvidenceRefund = z.infer<typeof EvidenceRefund>;
export type EvidenceRefundDocumentName = keyof EvidenceRefund;

export const EvidenceBundle = z.strictObject({
  format: z.literal(EVIDENCE_FORMAT),
  transactionId: ShortId,
  documents: EvidenceDocuments,
  /** Refunds of this purchase that were paid (remitted or completed); optional, added with issue 5. */
  refunds: z.array(EvidenceRefund).max(MAX_BUNDLE_REFUNDS).optional(),
  /** CRLs the wallet kept (DER, standard base64); optional, signed by the CA, so untrusted carriage is fine. */
  crls: z.array(Base64Der).max(MAX_BUNDLE_CRLS).optional(),
});
export type EvidenceBundle = z.infer<typeof EvidenceBundle>;

const REQUIRED: readonly EvidenceDocumentName[] = ['order', 'invoice', 'receptionRequest', 'receptionResponse', 'receipt'];
const REFUND_REQUIRED: readonly EvidenceRefundDocumentName[] = ['request', 'permit', 'remittanceRequest', 'remitted'];

export type EvidenceCode =
  | 'PROTO_EVIDENCE_MALFORMED'
  | 'PROTO_EVIDENCE_DOCUMENT_MISSING'
  | 'PROTO_EVIDENCE_SIGNER_MISMATCH'
  | 'PROTO_EVIDENCE_MISMATCH'
  | 'PROTO_EVIDENCE_TIME_INVALID'
  | 'PROTO_EVIDENCE_REFUND_DUPLICATE'
  | 'PROTO_EVIDENCE_REFUND_EXCEEDS_PAYMENT'
  | 'PROTO_DOCUMENT_INVALID'
  | VerifyCode;

export type EvidenceParty = {
  id: string;
  name: string;
  /** SHA-256 of the signing certificate, lower-case hex. */
  fingerprint: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
};
export type EvidencePurchaser = ({ kind: 'certified' } & EvidenceParty) | { kind: 'anonymous'; id: string };

/** A refund the bundle proves was paid back. */
export type EvidenceRefundResult = {
  permitId: string;
  amount: string;
  /** `completed` when the payment server's acknowledgement of the purchaser's receipt is in the bundle. */
  state: 'remitted' | 'completed';
  /** true when the purchaser's signed repayment receipt is in the bundle (itself or inside `completed`). */
  acknowledged: boolean;
  /** Mode ecash: fresh coins (the remittance request's envelopes hash); mode account: the purse credited. */
  into: { kind: 'coins'; envelopesHash: string } | { kind: 'purse'; purseKey: string };
  hashes: Partial<Record<EvidenceRefundDocumentName, string>>;
  times: Partial<Record<EvidenceRefundDocumentName, string>>;
};

export type Evidence = {
  proven: true;
  transactionId: string;
  amount: string;
  mode: string;
  /** What the bundle proves, in words, one fact per line. */
  statements: string[];
  parties: { shop: EvidenceParty; purchaser: EvidencePurchaser; paymentServer: EvidenceParty };
  /** Document hashes (base64url SHA-256 of the canonical payload), the ids that link the documents. */
  hashes: Partial<Record<EvidenceDocumentName, string>>;
  /** The moment each document's chains were validated at: its own time field. */
  times: Partial<Record<EvidenceDocumentName, string>>;
  /** true when CRLs were available; then every certificate of every path was checked against them. */
  revocationChecked: boolean;
  /** Present when the bundle carries refunds: each one proven paid, in the bundle's order. */
  refunds?: EvidenceRefundResult[];
  /** Present with `refunds`: their sum, never more than `amount`. */
  refunded?: string;
};

export type VerifyBundleOptions = {
  readonly trustAnchors: readonly Uint8Array[];
  /** CRLs of the verifier (added to the bundle's own). With any CRL, every CA in every path must have one. */
  readonly crls?: readonly Uint8Array[];
  /** When given, documents dated later than now (plus the tolerance) are refused. */
  readonly now?: Date;
  /** Clock skew allowed between the signers' clocks and `now`; default 300. */
  readonly clockToleranceSeconds?: number;
};

/** Which field of each document is its time, and who may sign it (DESIGN §2). */
const KINDS = {
  hello: { typ: HELLO_RESPONSE_TYP, timeField: 'time', signers: [{ roles: ['merchant'] }] },
  order: { typ: ORDER_TYP, timeField: 'time', signers: [{ roles: ['client'], orAnonymous: true }] },
  invoice: { typ: INVOICE_TYP, timeField: 'billTime', signers: [{ roles: ['merchant'] }, { roles: ['client'], orAnonymous: true }] },
  receptionRequest: { typ: MONEY_RECEPTION_REQUEST_TYP, timeField: 'time', signers: [{ roles: ['client'], orAnonymous: true }] },
  receptionResponse: { typ: MONEY_RECEPTION_RESPONSE_TYP, timeField: 'time', signers: [{ roles: ['payment'] }] },
  receipt: { typ: RECEIPT_TYP, timeField: 'time', signers: [{ roles: ['payment'] }] },
  completion: { typ: COMPLETION_TYP, timeField: 'time', signers: [{ roles: ['merchant'] }] },
} as const satisfies Record<EvidenceDocumentName, Kind>;

/** The refund's documents (DESIGN §3). The permit's two signatures are both validated as of its permissionTime, like the invoice's as of its billTime. */
const REFUND_KINDS = {
  request: { typ: REPAYMENT_REQUEST_TYP, timeField: 'time', signers: [{ roles: ['client'], orAnonymous: true }] },
  permit: { typ: REPAYMENT_PERMIT_TYP, timeField: 'permissionTime', signers: [{ roles: ['merchant'] }, { roles: ['client'], orAnonymous: true }] },
  remittanceRequest: { typ: REMITTANCE_REQUEST_TYP, timeField: 'time', signers: [{ roles: ['client'], orAnonymous: true }] },
  remitted: { typ: REPAYMENT_STATE_TYP, timeField: 'time', signers: [{ roles: ['payment'] }] },
  receipt: { typ: REPAYMENT_RECEIPT_TYP, timeField: 'time', signers: [{ roles: ['client'], orAnonymous: true }] },
  completed: { typ: REPAYMENT_STATE_TYP, timeField: 'time', signers: [{ roles: ['payment'] }] },
} as const satisfies Record<EvidenceRefundDocumentName, Kind>;

type Kind = { typ: DocumentTyp; timeField: string; signers: readonly SignerExpectation[] };
type Kinds = typeof KINDS;
type CheckedAs<T extends DocumentTyp> = { doc: DocumentOf<T>; hash: string; time: string; signers: SignerIdentity[] };
type Checked<N extends EvidenceDocumentName> = CheckedAs<Kinds[N]['typ']>;
type Certified = Extract<SignerIdentity, { kind: 'certified' }>;
/** Where a failure is: a purchase document, or `refunds[2].permit` and the like. */
type Where = EvidenceDocumentName | 'bundle' | `refunds[${number}]${string}`;

/** CRL max age for evidence: only nextUpdate bounds a CRL (see docs/EVIDENCE.md "Revocation"). */
const EVIDENCE_CRL_MAX_AGE_SECONDS = 100 * 365 * 86_400;
const DEFAULT_TOLERANCE_SECONDS = 300;

function checkOptions(o: VerifyBundleOptions): void {
  if (!o || typeof o !== 'object') throw new TypeError('options must be an object');
  if (!Array.isArray(o.trustAnchors) || o.trustAnchors.length === 0 || !o.trustAnchors.every((a) => a instanceof Uint8Array)) {
    throw new TypeError('options.trustAnchors must be a non-empty array of DER Uint8Arrays');
  }
  if (o.crls !== undefined && (!Array.isArray(o.crls) || !o.crls.every((c) => c instanceof Uint8Array))) throw new TypeError('options.crls must be an array of DER Uint8Arrays');
  if (o.now !== undefined && (!(o.now instanceof Date) || Number.isNaN(o.now.getTime()))) throw new TypeError('options.now must be a valid Date');
  const tol = o.clockToleranceSeconds;
  if (tol !== undefined && (typeof tol !== 'number' || !(tol >= 0))) throw new TypeError('options.clockToleranceSeconds must be a non-negative number');
}

function describe(name: Where, r: { code: string; message: string; details?: unknown }) {
  const details = r.details !== undefined && typeof r.details === 'object' && !Array.isArray(r.details) ? { document: name, ...(r.details as object) } : { document: name, ...(r.details !== undefined ? { issues: r.details } : {}) };
  return err(r.code as EvidenceCode, `${name}: ${r.message}`, details);
}

function mismatch(name: Where, field: string, why: string) {
  return err('PROTO_EVIDENCE_MISMATCH', `${name}: ${why}`, { document: name, field });
}

function signerMismatch(name: Where, why: string) {
  return err('PROTO_EVIDENCE_SIGNER_MISMATCH', `${name}: ${why}`, { document: name });
}

function sameAmount(a: string, b: string): boolean {
  const x = parseAmount(a);
  const y = parseAmount(b);
  return x.ok && y.ok && x.value.currency === y.value.currency && x.value.minor === y.value.minor;
}

function sameLines(a: readonly Line[], b: readonly Line[]): boolean {
  return a.length === b.length && a.every((l, i) => l.article === b[i]!.article && l.name === b[i]!.name && l.quantity === b[i]!.quantity && sameAmount(l.unitPrice, b[i]!.unitPrice));
}

function party(s: Certified): EvidenceParty {
  return { id: s.partyId, name: s.displayName, fingerprint: s.fingerprint, issuer: s.issuer, notBefore: s.notBefore.toISOString(), notAfter: s.notAfter.toISOString() };
}

/** The purchaser's id as the documents name it: the certified party id, or the per-order key's thumbprint. */
function purchaserIdOf(s: SignerIdentity): string {
  return s.kind === 'certified' ? s.partyId : s.thumbprint;
}

/** A purchaser key for messages: which certificate, or which anonymous key. */
function keyText(s: SignerIdentity): string {
  return s.kind === 'certified' ? `${s.partyId} (certificate ${s.fingerprint})` : `anonymous key ${s.thumbprint}`;
}

function purchaserText(p: EvidencePurchaser): string {
  return p.kind === 'certified' ? `"${p.name}" (${p.id})` : `anonymous key ${p.id}`;
}

/**
 * The document's own time, read from the not yet authenticated payload: only
 * to pick the moment of path validation; the signature check that follows
 * covers these very bytes, and the time is read again from the verified document.
 */
function claimedTime(name: Where, field: string, jws: { payload: string }): Result<Date, EvidenceCode> {
  const bytes = decodeBase64url(jws.payload);
  let value: unknown;
  try {
    value = bytes ? JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) : undefined;
  } catch {
    value = undefined;
  }
  const raw = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>)[field] : undefined;
  const ms = typeof raw === 'string' ? rfc3339UtcToMillis(raw) : undefined;
  if (ms === undefined) return err('PROTO_DOCUMENT_INVALID', `${name}: the payload has no RFC 3339 ${field}`, { document: name, field });
  return ok(new Date(ms));
}

/**
 * verifyBundle(bundle, { trustAnchors, crls?, now? }): every signature and chain
 * (as of each document's time), every signer's role, and every link between
 * the documents. The first failure is returned with the document it is in.
 */
export async function verifyBundle(input: unknown, options: VerifyBundleOptions): Promise<Result<Evidence, EvidenceCode>> {
  checkOptions(options);
  // Snapshot before the first await.
  const anchors = options.trustAnchors.map((a) => a.slice());
  const extraCrls = (options.crls ?? []).map((c) => c.slice());
  const now = options.now === undefined ? undefined : new Date(options.now.getTime());
  const tolerance = (options.clockToleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS) * 1000;

  const docs = (input as { documents?: unknown } | null)?.documents;
  if (docs !== null && typeof docs === 'object' && !Array.isArray(docs)) {
    const missing = REQUIRED.find((k) => !Object.hasOwn(docs, k));
    if (missing) return err('PROTO_EVIDENCE_DOCUMENT_MISSING', `the bundle has no ${missing} document`, { document: missing });
  }
  const refundEntries = (input as { refunds?: unknown } | null)?.refunds;
  if (Array.isArray(refundEntries) && refundEntries.length <= MAX_BUNDLE_REFUNDS) {
    for (const [k, e] of refundEntries.entries()) {
      if (e === null || typeof e !== 'object' || Array.isArray(e)) continue;
      const missing = REFUND_REQUIRED.find((d) => !Object.hasOwn(e, d));
      if (missing) return err('PROTO_EVIDENCE_DOCUMENT_MISSING', `refund ${k} has no ${missing} document`, { document: `refunds[${k}].${missing}` });
    }
  }
  const parsed = EvidenceBundle.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
    return err('PROTO_EVIDENCE_MALFORMED', `not a ${EVIDENCE_FORMAT} bundle`, issues);
  }
  const bundle = structuredClone(parsed.data);
  const crls = [...extraCrls, ...(bundle.crls ?? []).map((c) => decodeBase64(c)!)];
  const cache = createVerificationCache({ maxEntries: 64 });

  async function checkAs<T extends DocumentTyp>(name: Where, jws: JwsGeneral, kind: { typ: T; timeField: string; signers: readonly SignerExpectation[] }): Promise<Result<CheckedAs<T>, EvidenceCode>> {
    const at = claimedTime(name, kind.timeField, jws);
    if (!at.ok) return at;
    if (now !== undefined && at.value.getTime() > now.getTime() + tolerance) {
      return err('PROTO_EVIDENCE_TIME_INVALID', `${name}: dated ${at.value.toISOString()}, after the verification time`, { document: name });
    }
    const v = await verifyDocument(jws, {
      now: at.value,
      trustAnchors: anchors,
      crls,
      requireCrl: crls.length > 0,
      crlMaxAgeSeconds: EVIDENCE_CRL_MAX_AGE_SECONDS,
      expectedTyp: kind.typ,
      signers: kind.signers,
      cache,
    });
    if (!v.ok) return describe(name, v);
    const doc = parseDocument(kind.typ, v.value.payload);
    if (!doc.ok) return describe(name, doc);
    const time = (doc.value as Record<string, unknown>)[kind.timeField] as string;
    return ok({ doc: doc.value as DocumentOf<T>, hash: v.value.documentHash, time, signers: v.value.signers });
  }
  const check = <N extends EvidenceDocumentName>(name: N): Promise<Result<Checked<N>, EvidenceCode>> => checkAs<Kinds[N]['typ']>(name, bundle.documents[name]!, KINDS[name]);

  // 130: the order and its signer, the purchaser.
  const order = await check('order');
  if (!order.ok) return order;
  const purchaserSigner = order.value.signers[0]!;
  const o = order.value.doc;
  if (o.purchaserId !== purchaserIdOf(purchaserSigner)) return signerMismatch('order', `names purchaser ${o.purchaserId} but is signed by ${purchaserIdOf(purchaserSigner)}`);
  const purchaser: EvidencePurchaser = purchaserSigner.kind === 'certified' ? { kind: 'certified', ...party(purchaserSigner) } : { kind: 'anonymous', id: purchaserSigner.thumbprint };
  const isPurchaser = (s: SignerIdentity) => s.kind === purchaserSigner.kind && purchaserIdOf(s) === purchaserIdOf(purchaserSigner);
  // Refund documents must come from the very key that signed the order (fig. 20): the
  // merchant and the payment server compare certificate fingerprints, not party ids.
  const isOrderKey = (s: SignerIdentity) =>
    purchaserSigner.kind === 'certified' ? s.kind === 'certified' && s.fingerprint === purchaserSigner.fingerprint : s.kind === 'anonymous' && s.thumbprint === purchaserSigner.thumbprint;

  // 140/150: the invoice, by the shop, accepted (countersigned) by the same purchaser.
  const invoice = await check('invoice');
  if (!invoice.ok) return invoice;
  const i = invoice.value.doc;
  const shopSigner = invoice.value.signers[0] as Certified;
  if (!isPurchaser(invoice.value.signers[1]!)) return signerMismatch('invoice', `countersigned by ${purchaserIdOf(invoice.value.signers[1]!)}, not by the order's signer`);
  if (i.shop.id !== shopSigner.partyId || i.shop.name !== shopSigner.displayName) {
    return signerMismatch('invoice', `names shop ${i.shop.id} "${i.shop.name}" but is signed by ${shopSigner.partyId} "${shopSigner.displayName}"`);
  }
  if (i.transactionId !== bundle.transactionId) return mismatch('bundle', 'transactionId', `the bundle is for transaction ${bundle.transactionId}, the invoice for ${i.transactionId}`);
  if (i.orderHash !== order.value.hash) return mismatch('invoice', 'orderHash', 'it answers another order');
  if (i.purchaserId !== o.purchaserId) return mismatch('invoice', 'purchaserId', `it is made out to ${i.purchaserId}, the order to ${o.purchaserId}`);
  if (o.merchantId !== shopSigner.partyId) return mismatch('invoice', 'shop', `the order was placed with ${o.merchantId}`);
  if (!sameAmount(i.amount, o.total)) return mismatch('invoice', 'amount', `it asks ${i.amount} for an order of ${o.total}`);
  if (!sameLines(i.lines, o.lines)) return mismatch('invoice', 'lines', 'its lines differ from the ordered ones');
  if (i.paymentMode !== o.paymentMode) return mismatch('invoice', 'paymentMode', `it asks for ${i.paymentMode}, the order for ${o.paymentMode}`);
  if (i.sellingConditionsHash !== o.sellingConditionsHash) return mismatch('invoice', 'sellingConditionsHash', 'it refers to other selling conditions');
  const invoiceHash = invoice.value.hash;

  // 120 (optional): the hello is the same shop's.
  let hello: Checked<'hello'> | undefined;
  if (bundle.documents.hello) {
    const h = await check('hello');
    if (!h.ok) return h;
    const signer = h.value.signers[0] as Certified;
    if (signer.partyId !== shopSigner.partyId || h.value.doc.merchant.id !== signer.partyId) return signerMismatch('hello', `is from ${signer.partyId}, not from the invoicing shop ${shopSigner.partyId}`);
    hello = h.value;
  }

  // 150: the purchaser asked the invoice's payment server to take this invoice.
  const request = await check('receptionRequest');
  if (!request.ok) return request;
  const q = request.value.doc;
  if (!isPurchaser(request.value.signers[0]!)) return signerMismatch('receptionRequest', "is not signed by the order's signer");
  if (q.transactionId !== i.transactionId) return mismatch('receptionRequest', 'transactionId', `names transaction ${q.transactionId}`);
  if (q.invoiceHash !== invoiceHash) return mismatch('receptionRequest', 'invoiceHash', 'names another invoice');
  if (q.purchaserId !== i.purchaserId) return mismatch('receptionRequest', 'purchaserId', `names purchaser ${q.purchaserId}`);
  if (q.paymentServerId !== i.paymentServer.id) return mismatch('receptionRequest', 'paymentServerId', `names payment server ${q.paymentServerId}`);

  // 160 and 180: signed by the payment server the invoice named, and by no other.
  const fromInvoicedServer = (name: Where, s: SignerIdentity) => {
    const c = s as Certified;
    return c.partyId === i.paymentServer.id && c.displayName === i.paymentServer.name
      ? undefined
      : signerMismatch(name, `signed by payment server ${c.partyId} "${c.displayName}", the invoice named ${i.paymentServer.id} "${i.paymentServer.name}"`);
  };
  const response = await check('receptionResponse');
  if (!response.ok) return response;
  const wrongResponder = fromInvoicedServer('receptionResponse', response.value.signers[0]!);
  if (wrongResponder) return wrongResponder;
  const a = response.value.doc;
  if (a.transactionId !== i.transactionId) return mismatch('receptionResponse', 'transactionId', `names transaction ${a.transactionId}`);
  if (a.invoiceHash !== invoiceHash) return mismatch('receptionResponse', 'invoiceHash', 'names another invoice');
  if (a.paymentServerId !== i.paymentServer.id) return mismatch('receptionResponse', 'paymentServerId', `names payment server ${a.paymentServerId}`);
  if (!a.accepted) return mismatch('receptionResponse', 'accepted', 'the payment server refused the invoice');

  const receipt = await check('receipt');
  if (!receipt.ok) return receipt;
  const wrongRecipient = fromInvoicedServer('receipt', receipt.value.signers[0]!);
  if (wrongRecipient) return wrongRecipient;
  const r = receipt.value.doc;
  if (r.transactionId !== i.transactionId) return mismatch('receipt', 'transactionId', `is for transaction ${r.transactionId}`);
  if (r.invoiceHash !== invoiceHash) return mismatch('receipt', 'invoiceHash', 'answers another invoice');
  if (r.purchaserId !== i.purchaserId) return mismatch('receipt', 'purchaserId', `names purchaser ${r.purchaserId}`);
  if (!sameAmount(r.amountReceived, i.amount)) return mismatch('receipt', 'amountReceived', `received ${r.amountReceived}, the invoice asked ${i.amount}`);
  if (r.mode !== i.paymentMode) return mismatch('receipt', 'mode', `paid by ${r.mode}, the invoice asked ${i.paymentMode}`);
  if (r.shop.id !== i.shop.id || r.shop.name !== i.shop.name) return mismatch('receipt', 'shop', `names shop ${r.shop.id}`);
  if (r.recipient.id !== i.paymentServer.id || r.recipient.name !== i.paymentServer.name) return mismatch('receipt', 'recipient', `names recipient ${r.recipient.id}`);
  const paymentServer = party(receipt.value.signers[0] as Certified);

  // 190 (optional): the shop confirmed this receipt.
  let completion: Checked<'completion'> | undefined;
  if (bundle.documents.completion) {
    const c = await check('completion');
    if (!c.ok) return c;
    const signer = c.value.signers[0] as Certified;
    if (signer.partyId !== shopSigner.partyId) return signerMismatch('completion', `signed by ${signer.partyId}, not by the invoicing shop ${shopSigner.partyId}`);
    if (c.value.doc.transactionId !== i.transactionId) return mismatch('completion', 'transactionId', `names transaction ${c.value.doc.transactionId}`);
    if (c.value.doc.receiptHash !== receipt.value.hash) return mismatch('completion', 'receiptHash', 'confirms another receipt');
    completion = c.value;
  }

  const shop = party(shopSigner);
  const statements = [
    `purchaser ${purchaserText(purchaser)} ordered from shop "${shop.name}" (${shop.id}) at ${o.time}: ${o.lines.map((l) => `${l.quantity} × ${l.name} at ${l.unitPrice}`).join(', ')}`,
    `shop "${shop.name}" (${shop.id}) invoiced purchaser ${purchaserText(purchaser)} for ${i.amount} (${i.paymentMode}) at ${i.billTime}, transaction ${i.transactionId}, payable to "${i.paymentServer.name}" (${i.paymentServer.id})`,
    `purchaser ${purchaserText(purchaser)} accepted (countersigned) the invoice and asked for payment at ${q.time}`,
    `payment server "${paymentServer.name}" (${paymentServer.id}) received ${r.amountReceived} (${r.mode}) for transaction ${r.transactionId} at ${r.time}`,
  ];
  if (completion) statements.push(`shop "${shop.name}" (${shop.id}) confirmed transaction ${i.transactionId} as ${completion.doc.state} at ${completion.time}`);

  // 1110–1200: each refund paid back, then what they add up to.
  const parsedPaid = parseAmount(i.amount);
  if (!parsedPaid.ok) throw new Error('a schema-checked invoice amount does not parse');
  const paid = parsedPaid.value;

  /**
   * One refund: who signed each document (the order's key, the invoicing shop,
   * the invoice's payment server) and that each names the one before it.
   */
  async function checkRefund(k: number, e: EvidenceRefund): Promise<Result<{ result: EvidenceRefundResult; minor: bigint; statements: string[] }, EvidenceCode>> {
    const at = (d: string) => `refunds[${k}].${d}` as const;

    // 1110: asked by the purchaser, with the key that signed the order, of this shop for this transaction.
    const rq = await checkAs(at('request'), e.request, REFUND_KINDS.request);
    if (!rq.ok) return rq;
    if (!isOrderKey(rq.value.signers[0]!)) return signerMismatch(at('request'), `signed by ${keyText(rq.value.signers[0]!)}, not with the key that signed the order`);
    const q = rq.value.doc;
    if (q.transactionId !== i.transactionId) return mismatch(at('request'), 'transactionId', `asks about transaction ${q.transactionId}`);
    if (q.shopId !== i.shop.id) return mismatch(at('request'), 'shopId', `is addressed to shop ${q.shopId}`);

    // 1140/1150: the invoicing shop's permit answering that request, countersigned by the same key.
    const pm = await checkAs(at('permit'), e.permit, REFUND_KINDS.permit);
    if (!pm.ok) return pm;
    const permitter = pm.value.signers[0] as Certified;
    if (permitter.partyId !== i.shop.id || permitter.displayName !== i.shop.name) {
      return signerMismatch(at('permit'), `signed by shop ${permitter.partyId} "${permitter.displayName}", the invoice is from ${i.shop.id} "${i.shop.name}"`);
    }
    if (!isOrderKey(pm.value.signers[1]!)) return signerMismatch(at('permit'), `countersigned by ${keyText(pm.value.signers[1]!)}, not with the key that signed the order`);
    const p = pm.value.doc;
    const permitAmount = parseAmount(p.amount);
    if (p.requestHash !== rq.value.hash) return mismatch(at('permit'), 'requestHash', 'answers another repayment request');
    if (p.transactionId !== i.transactionId) return mismatch(at('permit'), 'transactionId', `permits a refund of transaction ${p.transactionId}`);
    if (p.recipientId !== i.purchaserId) return mismatch(at('permit'), 'recipientId', `repays ${p.recipientId}, the invoice's purchaser is ${i.purchaserId}`);
    if (p.mode !== i.paymentMode) return mismatch(at('permit'), 'mode', `repays by ${p.mode}, the purchase was paid by ${i.paymentMode}`);
    if (p.shop.id !== i.shop.id || p.shop.name !== i.shop.name) return mismatch(at('permit'), 'shop', `names shop ${p.shop.id}`);
    if (p.repayer.id !== i.paymentServer.id || p.repayer.name !== i.paymentServer.name) return mismatch(at('permit'), 'repayer', `names repayer ${p.repayer.id}, the invoice's payment server is ${i.paymentServer.id}`);
    if (!permitAmount.ok || permitAmount.value.currency !== paid.currency || permitAmount.value.minor <= 0n) {
      return mismatch(at('permit'), 'amount', `permits ${p.amount} of a purchase paid in ${i.amount}`);
    }

    // 1150: the purchaser's claim of that permit at the invoice's payment server.
    const rr = await checkAs(at('remittanceRequest'), e.remittanceRequest, REFUND_KINDS.remittanceRequest);
    if (!rr.ok) return rr;
    if (!isOrderKey(rr.value.signers[0]!)) return signerMismatch(at('remittanceRequest'), `signed by ${keyText(rr.value.signers[0]!)}, not with the key that signed the order`);
    const c = rr.value.doc;
    if (c.permitId !== p.permitId) return mismatch(at('remittanceRequest'), 'permitId', `claims permit ${c.permitId}`);
    if (c.permitHash !== pm.value.hash) return mismatch(at('remittanceRequest'), 'permitHash', 'claims another permit');
    if (c.transactionId !== p.transactionId) return mismatch(at('remittanceRequest'), 'transactionId', `names transaction ${c.transactionId}`);
    if (c.recipientId !== p.recipientId) return mismatch(at('remittanceRequest'), 'recipientId', `names recipient ${c.recipientId}`);
    if (c.paymentServerId !== i.paymentServer.id) return mismatch(at('remittanceRequest'), 'paymentServerId', `is addressed to payment server ${c.paymentServerId}`);
    if (!sameAmount(c.amount, p.amount)) return mismatch(at('remittanceRequest'), 'amount', `claims ${c.amount} of a permit for ${p.amount}`);
    if (c.mode !== p.mode) return mismatch(at('remittanceRequest'), 'mode', `claims by ${c.mode}, the permit says ${p.mode}`);

    // 1160/1180 and 1200: the invoice's payment server says it paid this permit.
    const stateOf = async (d: 'remitted' | 'completed', jws: JwsGeneral) => {
      const s = await checkAs(at(d), jws, REFUND_KINDS[d]);
      if (!s.ok) return s;
      const wrong = fromInvoicedServer(at(d), s.value.signers[0]!);
      if (wrong) return wrong;
      const r = s.value.doc;
      if (r.state !== d) return mismatch(at(d), 'state', `says ${r.state}`);
      if (r.permitId !== p.permitId) return mismatch(at(d), 'permitId', `is about permit ${r.permitId}`);
      if (r.transactionId !== p.transactionId) return mismatch(at(d), 'transactionId', `names transaction ${r.transactionId}`);
      if (r.shopId !== p.shop.id) return mismatch(at(d), 'shopId', `names shop ${r.shopId}`);
      if (!sameAmount(r.amount, p.amount)) return mismatch(at(d), 'amount', `repaid ${r.amount} of a permit for ${p.amount}`);
      return s;
    };
    const remitted = await stateOf('remitted', e.remitted);
    if (!remitted.ok) return remitted;
    const completed = e.completed === undefined ? undefined : await stateOf('completed', e.completed);
    if (completed && !completed.ok) return completed;

    // 1190: the purchaser's receipt of this permit — given, or carried inside `completed`.
    const carried = completed?.value.doc.repaymentReceipt;
    if (e.receipt && carried && carried.payload !== e.receipt.payload) return mismatch(at('completed'), 'repaymentReceipt', 'carries another repayment receipt than the bundle');
    const receiptJws = e.receipt ?? carried;
    let receipt: CheckedAs<typeof REPAYMENT_RECEIPT_TYP> | undefined;
    if (receiptJws) {
      const where = e.receipt ? at('receipt') : at('completed.repaymentReceipt');
      const rc = await checkAs(where, receiptJws, REFUND_KINDS.receipt);
      if (!rc.ok) return rc;
      if (!isOrderKey(rc.value.signers[0]!)) return signerMismatch(where, `signed by ${keyText(rc.value.signers[0]!)}, not with the key that signed the order`);
      const r = rc.value.doc;
      if (r.permitId !== p.permitId) return mismatch(where, 'permitId', `acknowledges permit ${r.permitId}`);
      if (r.permitHash !== pm.value.hash) return mismatch(where, 'permitHash', 'acknowledges another permit');
      if (r.transactionId !== p.transactionId) return mismatch(where, 'transactionId', `names transaction ${r.transactionId}`);
      if (r.recipientId !== p.recipientId) return mismatch(where, 'recipientId', `names recipient ${r.recipientId}`);
      if (!sameAmount(r.amount, p.amount)) return mismatch(where, 'amount', `acknowledges ${r.amount} of a permit for ${p.amount}`);
      receipt = rc.value;
    }

    const docs = { request: rq.value, permit: pm.value, remittanceRequest: rr.value, remitted: remitted.value, receipt, completed: completed?.value };
    const hashes: EvidenceRefundResult['hashes'] = {};
    const times: EvidenceRefundResult['times'] = {};
    for (const [d, v] of Object.entries(docs) as [EvidenceRefundDocumentName, { hash: string; time: string } | undefined][]) {
      if (!v) continue;
      hashes[d] = v.hash;
      times[d] = v.time;
    }
    const into: EvidenceRefundResult['into'] = c.purseKey !== undefined ? { kind: 'purse', purseKey: c.purseKey } : { kind: 'coins', envelopesHash: c.envelopesHash! };
    const server = remitted.value.signers[0] as Certified;
    const said = [
      `shop "${permitter.displayName}" (${permitter.partyId}) permitted refund ${p.amount} of transaction ${p.transactionId} to purchaser ${purchaserText(purchaser)} at ${p.permissionTime} (permit ${p.permitId}, answering the purchaser's request of ${q.time})`,
      `payment server "${server.displayName}" (${server.partyId}) paid ${p.amount} back to purchaser ${purchaserText(purchaser)} at ${remitted.value.time} (permit ${p.permitId}, ${into.kind === 'purse' ? `into purse ${into.purseKey}` : 'as fresh e-money'})`,
    ];
    if (receipt) said.push(`purchaser ${purchaserText(purchaser)} acknowledged receiving refund ${p.amount} at ${receipt.time} (permit ${p.permitId})`);
    return ok({
      result: { permitId: p.permitId, amount: p.amount, state: completed ? 'completed' : 'remitted', acknowledged: receipt !== undefined, into, hashes, times },
      minor: permitAmount.value.minor,
      statements: said,
    });
  }
  let refunded = 0n;
  const permitIds = new Map<string, number>();
  const refunds: EvidenceRefundResult[] = [];
  for (const [k, entry] of (bundle.refunds ?? []).entries()) {
    const where = `refunds[${k}]` as const;
    const checked = await checkRefund(k, entry);
    if (!checked.ok) return checked;
    const { result, statements: said } = checked.value;
    const earlier = permitIds.get(result.permitId);
    if (earlier !== undefined) return err('PROTO_EVIDENCE_REFUND_DUPLICATE', `${where}: permit ${result.permitId} is already refunds[${earlier}]: a permit pays once`, { document: `${where}.permit`, field: 'permitId' });
    permitIds.set(result.permitId, k);
    refunded += checked.value.minor;
    if (refunded > paid.minor) {
      const total = formatAmount({ currency: paid.currency, minor: refunded });
      return err('PROTO_EVIDENCE_REFUND_EXCEEDS_PAYMENT', `${where}: the refunds up to here add up to ${total}, more than the ${i.amount} paid`, { document: where, field: 'amount', refunded: total, paid: i.amount });
    }
    refunds.push(result);
    statements.push(...said);
  }

  const entries = { hello, order: order.value, invoice: invoice.value, receptionRequest: request.value, receptionResponse: response.value, receipt: receipt.value, completion };
  const hashes: Evidence['hashes'] = {};
  const times: Evidence['times'] = {};
  for (const [k, e] of Object.entries(entries) as [EvidenceDocumentName, Checked<EvidenceDocumentName> | undefined][]) {
    if (!e) continue;
    hashes[k] = e.hash;
    times[k] = e.time;
  }
  return ok({
    proven: true,
    transactionId: i.transactionId,
    amount: i.amount,
    mode: i.paymentMode,
    statements,
    parties: { shop, purchaser, paymentServer },
    hashes,
    times,
    revocationChecked: crls.length > 0,
    ...(bundle.refunds && bundle.refunds.length > 0 ? { refunds, refunded: formatAmount({ currency: paid.currency, minor: refunded }) } : {}),
  });
}
