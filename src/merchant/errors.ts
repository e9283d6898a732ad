// Codes of the merchant server. Statuses live next to the HTTP-facing codes so
// that a code without a status is a compile error; set-up codes are reported
// by `quittance merchant init` and never cross the wire.
export const MERCHANT_HTTP_ERROR_CODES = [
  'MERCHANT_ORDER_SIGNATURE_INVALID',
  'MERCHANT_ORDER_INVALID',
  'MERCHANT_PURCHASER_MISMATCH',
  'MERCHANT_NOT_THIS_SHOP',
  'MERCHANT_PAYMENT_MODE_UNSUPPORTED',
  'MERCHANT_SELLING_CONDITIONS_MISMATCH',
  'MERCHANT_ARTICLE_UNKNOWN',
  'MERCHANT_ARTICLE_NAME_MISMATCH',
  'MERCHANT_PRICE_MISMATCH',
  'MERCHANT_OUT_OF_STOCK',
  'MERCHANT_ORDER_CONFLICT',
  'MERCHANT_ORDER_NOT_FOUND',
  'MERCHANT_PAYMENT_SERVER_UNSET',
  'MERCHANT_CRL_UNAVAILABLE',
  'MERCHANT_RECEIPT_SIGNATURE_INVALID',
  'MERCHANT_RECEIPT_WRONG_PAYMENT_SERVER',
  'MERCHANT_RECEIPT_INVALID',
  'MERCHANT_RECEIPT_MISMATCH',
  'MERCHANT_PAYMENT_SERVER_UNREACHABLE',
] as const;
export type MerchantHttpErrorCode = (typeof MERCHANT_HTTP_ERROR_CODES)[number];

export const MERCHANT_SETUP_ERROR_CODES = [
  'MERCHANT_CERT_INVALID',
  'MERCHANT_CERT_ROLE_NOT_MERCHANT',
  'MERCHANT_KEY_CERT_MISMATCH',
  'MERCHANT_PAYMENT_CERT_INVALID',
  'MERCHANT_DATA_EXISTS',
  'MERCHANT_CONFIG_INVALID',
] as const;
export type MerchantSetupErrorCode = (typeof MERCHANT_SETUP_ERROR_CODES)[number];

export const MERCHANT_ERROR_CODES = [...MERCHANT_HTTP_ERROR_CODES, ...MERCHANT_SETUP_ERROR_CODES] as const;
export type MerchantErrorCode = (typeof MERCHANT_ERROR_CODES)[number];

export const MERCHANT_STATUS: Record<MerchantHttpErrorCode, number> = {
  // The signature, certificate path or role check failed; details.code is the PROTO_ code.
  MERCHANT_ORDER_SIGNATURE_INVALID: 403,
  // Authenticated, but not an order (schema, or total ≠ Σ lines); details lists the paths.
  MERCHANT_ORDER_INVALID: 400,
  MERCHANT_PURCHASER_MISMATCH: 403,
  MERCHANT_NOT_THIS_SHOP: 422,
  MERCHANT_PAYMENT_MODE_UNSUPPORTED: 422,
  MERCHANT_SELLING_CONDITIONS_MISMATCH: 422,
  MERCHANT_ARTICLE_UNKNOWN: 422,
  MERCHANT_ARTICLE_NAME_MISMATCH: 422,
  MERCHANT_PRICE_MISMATCH: 422,
  MERCHANT_OUT_OF_STOCK: 409,
  MERCHANT_ORDER_CONFLICT: 409,
  MERCHANT_ORDER_NOT_FOUND: 404,
  MERCHANT_PAYMENT_SERVER_UNSET: 503,
  MERCHANT_CRL_UNAVAILABLE: 503,
  // The receipt (210): not a valid payment-server signature, or one by another
  // payment server than the order's invoice names; details.code is the PROTO_ code.
  MERCHANT_RECEIPT_SIGNATURE_INVALID: 403,
  MERCHANT_RECEIPT_WRONG_PAYMENT_SERVER: 403,
  // Authenticated, but not a receipt (schema); details lists the paths.
  MERCHANT_RECEIPT_INVALID: 400,
  // A receipt, but for another transaction, invoice, purchaser, amount, shop or mode; details.field names it.
  MERCHANT_RECEIPT_MISMATCH: 422,
  // Settling from the payment server: it could not be reached, or answered something unusable.
  MERCHANT_PAYMENT_SERVER_UNREACHABLE: 502,
};
