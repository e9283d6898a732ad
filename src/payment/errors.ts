// Codes of the payment server. Statuses live next to the HTTP-facing codes so
// that a code without a status is a compile error; set-up codes are reported
// by `quittance payment init` and never cross the wire.
export const PAY_HTTP_ERROR_CODES = [
  'PAY_DENOMINATION_UNKNOWN',
  'PAY_DENOMINATION_NOT_WITHDRAWABLE',
  'PAY_DENOMINATION_NOT_DEPOSITABLE',
  'PAY_RESERVE_UNKNOWN',
  'PAY_RESERVE_SIGNATURE_INVALID',
  'PAY_RESERVE_INSUFFICIENT',
  'PAY_CURRENCY_MISMATCH',
  'PAY_ENVELOPE_INVALID',
  'PAY_ENVELOPE_REUSED',
  'PAY_REQUEST_CONFLICT',
  'PAY_COIN_FORGED',
  'PAY_COIN_SIGNATURE_INVALID',
  'PAY_COIN_SPENT',
  'PAY_SWAP_UNBALANCED',
  'PAY_LOADING_UNAVAILABLE',
  'PAY_DOCUMENT_SIGNATURE_INVALID',
  'PAY_DOCUMENT_INVALID',
  'PAY_MERCHANT_NOT_ACCEPTED',
  'PAY_PURCHASER_MISMATCH',
  'PAY_INVOICE_MISMATCH',
  'PAY_INVOICE_EXPIRED',
  'PAY_PAYMENT_MODE_UNSUPPORTED',
  'PAY_PAYMENT_UNKNOWN',
  'PAY_PAYMENT_UNBALANCED',
  'PAY_PURSE_UNKNOWN',
  'PAY_PURSE_SIGNATURE_INVALID',
  'PAY_PURSE_TAKEN',
  'PAY_PURSE_INSUFFICIENT',
  'PAY_PERMIT_MISMATCH',
  'PAY_PERMIT_EXPIRED',
  'PAY_PERMIT_USED',
  'PAY_PAYMENT_NOT_PAID',
  'PAY_REFUND_EXCEEDS_PAYMENT',
  'PAY_MERCHANT_BALANCE_INSUFFICIENT',
  'PAY_REPAYMENT_UNKNOWN',
  'PAY_SETTLEMENT_QUERY_INVALID',
  'PAY_SETTLEMENT_UNAVAILABLE',
] as const;
export type PayHttpErrorCode = (typeof PAY_HTTP_ERROR_CODES)[number];

export const PAY_SETUP_ERROR_CODES = ['PAY_CERT_INVALID', 'PAY_CERT_ROLE_NOT_PAYMENT', 'PAY_KEY_CERT_MISMATCH', 'PAY_DATA_EXISTS', 'PAY_CONFIG_INVALID', 'PAY_BANK_LINK_INVALID', 'PAY_AUDIT_FAILED', 'PAY_MERCHANT_CERT_INVALID', 'PAY_MERCHANT_EXISTS', 'PAY_MERCHANT_UNKNOWN'] as const;
export type PaySetupErrorCode = (typeof PAY_SETUP_ERROR_CODES)[number];

export const PAY_ERROR_CODES = [...PAY_HTTP_ERROR_CODES, ...PAY_SETUP_ERROR_CODES] as const;
export type PayErrorCode = (typeof PAY_ERROR_CODES)[number];

export const PAY_STATUS: Record<PayHttpErrorCode, number> = {
  PAY_DENOMINATION_UNKNOWN: 404,
  // The key exists but its window is closed (or not yet open): the client
  // must fetch GET /v1/keys again, not retry.
  PAY_DENOMINATION_NOT_WITHDRAWABLE: 409,
  PAY_DENOMINATION_NOT_DEPOSITABLE: 409,
  PAY_RESERVE_UNKNOWN: 404,
  PAY_RESERVE_SIGNATURE_INVALID: 403,
  PAY_RESERVE_INSUFFICIENT: 409,
  PAY_CURRENCY_MISMATCH: 422,
  PAY_ENVELOPE_INVALID: 422,
  PAY_ENVELOPE_REUSED: 409,
  PAY_REQUEST_CONFLICT: 422,
  PAY_COIN_FORGED: 403,
  PAY_COIN_SIGNATURE_INVALID: 403,
  PAY_COIN_SPENT: 409,
  PAY_SWAP_UNBALANCED: 422,
  PAY_LOADING_UNAVAILABLE: 503,
  PAY_DOCUMENT_SIGNATURE_INVALID: 403,
  PAY_DOCUMENT_INVALID: 422,
  PAY_MERCHANT_NOT_ACCEPTED: 403,
  PAY_PURCHASER_MISMATCH: 403,
  PAY_INVOICE_MISMATCH: 422,
  // Too late for this invoice: the shopper must order again, not retry.
  PAY_INVOICE_EXPIRED: 422,
  PAY_PAYMENT_MODE_UNSUPPORTED: 422,
  // No accepted money reception (150) for this shop and transaction.
  PAY_PAYMENT_UNKNOWN: 404,
  PAY_PAYMENT_UNBALANCED: 422,
  PAY_PURSE_UNKNOWN: 404,
  PAY_PURSE_SIGNATURE_INVALID: 403,
  // The key is another party's purse: registering it again is no use.
  PAY_PURSE_TAKEN: 409,
  PAY_PURSE_INSUFFICIENT: 409,
  // Refunds (1150 → 1220): the permit, the remittance request, the envelopes
  // or the receipt do not fit together or do not fit this server.
  PAY_PERMIT_MISMATCH: 422,
  // Too late for this permit: the shopper asks the shop for a new one.
  PAY_PERMIT_EXPIRED: 422,
  // Paid once, to another remittance request.
  PAY_PERMIT_USED: 409,
  PAY_PAYMENT_NOT_PAID: 409,
  PAY_REFUND_EXCEEDS_PAYMENT: 409,
  // The shop's collected takings do not cover the refund (paid out already):
  // it is paid once later takings do.
  PAY_MERCHANT_BALANCE_INSUFFICIENT: 409,
  PAY_REPAYMENT_UNKNOWN: 404,
  // Settlement: a shop's query of its reports names another server or is
  // not fresh; a settlement run asked of a server without a bank link.
  PAY_SETTLEMENT_QUERY_INVALID: 422,
  PAY_SETTLEMENT_UNAVAILABLE: 503,
};
