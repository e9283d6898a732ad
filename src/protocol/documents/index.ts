// The signed documents of the purchase and the refund (DESIGN §2, §3;
// docs/PROTOCOL.md is the catalogue). Each kind has one `typ`, of the form
// "quittance.<kind>.v1+json": it is the JWS protected header `typ` (RFC 7515
// §4.1.9, a media type with the "application/" prefix omitted) AND the payload's
// own `typ` member. The header binds the signature to the kind (a receipt
// signature never passes as a permit); the payload member makes the document
// hash — SHA-256 of the payload alone — commit to the kind as well.
import type { z } from 'zod';
import { err, ok } from '../result.ts';
import type { Result } from '../result.ts';
import { Completion, COMPLETION_TYP } from './completion.ts';
import { DENOMINATION_KEYS_TYP, DenominationKeys } from './denomination-keys.ts';
import { HELLO_RESPONSE_TYP, HelloResponse } from './hello-response.ts';
import { Invoice, INVOICE_TYP } from './invoice.ts';
import { MONEY_RECEPTION_REQUEST_TYP, MoneyReceptionRequest } from './money-reception-request.ts';
import { MONEY_RECEPTION_RESPONSE_TYP, MoneyReceptionResponse } from './money-reception-response.ts';
import { Order, ORDER_TYP } from './order.ts';
import { PURSE_REGISTRATION_TYP, PurseRegistration } from './purse-registration.ts';
import { Receipt, RECEIPT_TYP } from './receipt.ts';
import { REMITTANCE_REQUEST_TYP, RemittanceRequest } from './remittance-request.ts';
import { REPAYMENT_PERMIT_TYP, RepaymentPermit } from './repayment-permit.ts';
import { REPAYMENT_RECEIPT_TYP, RepaymentReceipt } from './repayment-receipt.ts';
import { REPAYMENT_REQUEST_TYP, RepaymentRequest } from './repayment-request.ts';
import { REPAYMENT_STATE_TYP, RepaymentState } from './repayment-state.ts';
import { SETTLEMENT_QUERY_TYP, SettlementQuery } from './settlement-query.ts';
import { SETTLEMENT_REPORT_TYP, SettlementReport } from './settlement-report.ts';
import { SIGNED_ERROR_TYP, SignedError } from './signed-error.ts';

export * from './completion.ts';
export * from './denomination-keys.ts';
export * from './fields.ts';
export * from './hello-response.ts';
export * from './invoice.ts';
export * from './money-reception-request.ts';
export * from './money-reception-response.ts';
export * from './order.ts';
export * from './purse-registration.ts';
export * from './receipt.ts';
export * from './remittance-request.ts';
export * from './repayment-permit.ts';
export * from './repayment-receipt.ts';
export * from './repayment-request.ts';
export * from './repayment-state.ts';
export * from './settlement-query.ts';
export * from './settlement-report.ts';
export * from './signed-error.ts';

export const DOCUMENT_TYPES = Object.freeze({
  [HELLO_RESPONSE_TYP]: HelloResponse,
  [ORDER_TYP]: Order,
  [INVOICE_TYP]: Invoice,
  [MONEY_RECEPTION_REQUEST_TYP]: MoneyReceptionRequest,
  [MONEY_RECEPTION_RESPONSE_TYP]: MoneyReceptionResponse,
  [RECEIPT_TYP]: Receipt,
  [COMPLETION_TYP]: Completion,
  [SIGNED_ERROR_TYP]: SignedError,
  [REPAYMENT_REQUEST_TYP]: RepaymentRequest,
  [REPAYMENT_PERMIT_TYP]: RepaymentPermit,
  [REPAYMENT_RECEIPT_TYP]: RepaymentReceipt,
  [REPAYMENT_STATE_TYP]: RepaymentState,
  [DENOMINATION_KEYS_TYP]: DenominationKeys,
  [PURSE_REGISTRATION_TYP]: PurseRegistration,
  [REMITTANCE_REQUEST_TYP]: RemittanceRequest,
  [SETTLEMENT_REPORT_TYP]: SettlementReport,
  [SETTLEMENT_QUERY_TYP]: SettlementQuery,
});

export type DocumentTyp = keyof typeof DOCUMENT_TYPES;
export type DocumentOf<T extends DocumentTyp> = z.infer<(typeof DOCUMENT_TYPES)[T]>;
export type AnyDocument = { [T in DocumentTyp]: DocumentOf<T> }[DocumentTyp];

/**
 * Who signs each kind: 'purchaser' is the certified or per-order key that signed the order.
 * `message` is the patent's message number; kinds the patent has no message for
 * (the denomination key list, the purse registration, the settlement report
 * and query) have none.
 */
export type DocumentSigner = 'merchant' | 'payment' | 'purchaser';
export const DOCUMENT_INFO: Readonly<Record<DocumentTyp, { message?: number; signer: DocumentSigner; countersigner?: DocumentSigner }>> = Object.freeze({
  [HELLO_RESPONSE_TYP]: { message: 120, signer: 'merchant' },
  [ORDER_TYP]: { message: 130, signer: 'purchaser' },
  [INVOICE_TYP]: { message: 140, signer: 'merchant', countersigner: 'purchaser' },
  [MONEY_RECEPTION_REQUEST_TYP]: { message: 150, signer: 'purchaser' },
  [MONEY_RECEPTION_RESPONSE_TYP]: { message: 160, signer: 'payment' },
  [RECEIPT_TYP]: { message: 180, signer: 'payment' },
  [COMPLETION_TYP]: { message: 190, signer: 'merchant' },
  [SIGNED_ERROR_TYP]: { message: 220, signer: 'merchant' },
  [REPAYMENT_REQUEST_TYP]: { message: 1110, signer: 'purchaser' },
  [REPAYMENT_PERMIT_TYP]: { message: 1140, signer: 'merchant', countersigner: 'purchaser' },
  [REPAYMENT_RECEIPT_TYP]: { message: 1190, signer: 'purchaser' },
  [REPAYMENT_STATE_TYP]: { message: 1220, signer: 'payment' },
  [DENOMINATION_KEYS_TYP]: { signer: 'payment' },
  [PURSE_REGISTRATION_TYP]: { signer: 'purchaser' },
  [REMITTANCE_REQUEST_TYP]: { message: 1150, signer: 'purchaser' },
  [SETTLEMENT_REPORT_TYP]: { signer: 'payment' },
  [SETTLEMENT_QUERY_TYP]: { signer: 'merchant' },
});

// A Map, so that a hostile typ such as "constructor" finds nothing.
const REGISTRY: ReadonlyMap<string, z.ZodType> = new Map(Object.entries(DOCUMENT_TYPES));

export function isDocumentTyp(typ: unknown): typ is DocumentTyp {
  return typeof typ === 'string' && REGISTRY.has(typ);
}

export type DocumentIssue = { path: string; message: string };

/**
 * Validates a decoded payload against the schema of `typ` (normally the JWS
 * protected header's typ). Fails with PROTO_DOCUMENT_INVALID and, in details,
 * up to 20 `{ path: "lines.0.quantity", message }` issues.
 */
export function parseDocument<T extends DocumentTyp>(typ: T, value: unknown): Result<DocumentOf<T>, 'PROTO_DOCUMENT_INVALID'>;
export function parseDocument(typ: string, value: unknown): Result<AnyDocument, 'PROTO_DOCUMENT_INVALID'>;
export function parseDocument(typ: string, value: unknown): Result<AnyDocument, 'PROTO_DOCUMENT_INVALID'> {
  if (typeof typ !== 'string') throw new TypeError('typ must be a string');
  const schema = REGISTRY.get(typ);
  if (!schema) {
    return err('PROTO_DOCUMENT_INVALID', 'unknown document type', [{ path: '(typ)', message: `unknown typ ${JSON.stringify(typ.slice(0, 80))}` }]);
  }
  const r = schema.safeParse(value);
  if (r.success) return ok(r.data as AnyDocument);
  const issues: DocumentIssue[] = r.error.issues.slice(0, 20).map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
  return err('PROTO_DOCUMENT_INVALID', `document does not match the ${typ} schema`, issues);
}
