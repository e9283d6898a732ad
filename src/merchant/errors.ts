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
  'MERCHANT_REPAYMENT_SIGNATURE_INVALID',
  'MERCHANT_REPAYMENT_INVALID',
  'MERCHANT_REPAYMENT_MISMATCH',
  'MERCHANT_REQUEST_CONFLICT',
  'MERCHANT_REPAYMENT_NOT_ALLOWED',
  'MERCHANT_REFUND_DEADLINE_PASSED',
  'MERCHANT_REFUND_EXCEEDS_PAYMENT',
  'MERCHANT_REPAYMENT_NOT_FOUND',
  'MERCHANT_REPAYMENT_ALREADY_DECIDED',
  'MERCHANT_REPAYMENT_STATE_INVALID',
  'MERCHANT_REPAYMENT_STATE_MISMATCH',
  // Shop integration API (api-keys.ts, idempotency.ts, offers.ts, routes/shop.ts).
  'MERCHANT_API_KEY_INVALID',
  'MERCHANT_API_KEY_REVOKED',
  'MERCHANT_IDEMPOTENCY_KEY_INVALID',
  'MERCHANT_IDEMPOTENCY_MISMATCH',
  'MERCHANT_IDEMPOTENCY_IN_FLIGHT',
  'MERCHANT_OFFER_NOT_FOUND',
  'MERCHANT_OFFER_TAKEN',
  'MERCHANT_OFFER_EXPIRED',
  'MERCHANT_OFFER_MISMATCH',
  'MERCHANT_OFFER_CURRENCY_UNSUPPORTED',
  'MERCHANT_REFUND_NONE_AWAITING',
  'MERCHANT_REFUND_AMOUNT_MISMATCH',
  'MERCHANT_NOTIFICATION_REFUSED',
] as const;
export type MerchantHttpErrorCode = (typeof MERCHANT_HTTP_ERROR_CODES)[number];

export const MERCHANT_SETUP_ERROR_CODES = [
  'MERCHANT_CERT_INVALID',
  'MERCHANT_CERT_ROLE_NOT_MERCHANT',
  'MERCHANT_KEY_CERT_MISMATCH',
  'MERCHANT_PAYMENT_CERT_INVALID',
  'MERCHANT_DATA_EXISTS',
  'MERCHANT_CONFIG_INVALID',
  // `merchant settlements` (settlement-reports.ts): never cross the wire.
  'MERCHANT_SETTLEMENT_QUERY_REFUSED',
  'MERCHANT_SETTLEMENT_REPORT_INVALID',
  // Webhooks: `merchant webhook …` (webhook-endpoints.ts), and the result of
  // verifyWebhookSignature (webhook-signature.ts) in a shop's backend. Never cross the wire.
  'MERCHANT_WEBHOOK_URL_INVALID',
  'MERCHANT_WEBHOOK_DESCRIPTION_INVALID',
  'MERCHANT_WEBHOOK_ENDPOINT_NOT_FOUND',
  'MERCHANT_WEBHOOK_EVENT_NOT_FOUND',
  'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED',
  'MERCHANT_WEBHOOK_SIGNATURE_INVALID',
  'MERCHANT_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE',
  // `merchant api-key revoke ID`: no key with this id.
  'MERCHANT_API_KEY_NOT_FOUND',
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
  // Refunds, 1110 → 1140. The repayment request's JWS: not a valid signature of
  // a certified client or an anonymous key (details.code is the PROTO_ code),
  // or the signed payload is not a repayment request (details lists the paths).
  MERCHANT_REPAYMENT_SIGNATURE_INVALID: 403,
  MERCHANT_REPAYMENT_INVALID: 400,
  // A request for another transaction than the path's, in another currency, or returning lines the order lacks; details.field names it.
  MERCHANT_REPAYMENT_MISMATCH: 422,
  MERCHANT_REQUEST_CONFLICT: 422,
  // The order is not paid (yet): there is nothing to refund.
  MERCHANT_REPAYMENT_NOT_ALLOWED: 409,
  MERCHANT_REFUND_DEADLINE_PASSED: 422,
  MERCHANT_REFUND_EXCEEDS_PAYMENT: 422,
  MERCHANT_REPAYMENT_NOT_FOUND: 404,
  // Approving a refused request, or refusing a permitted one.
  MERCHANT_REPAYMENT_ALREADY_DECIDED: 409,
  // 1210/1220: the payment server's repayment state is not its signed word
  // about this permit. Only the shop asks for it, so these are gateway errors.
  MERCHANT_REPAYMENT_STATE_INVALID: 502,
  MERCHANT_REPAYMENT_STATE_MISMATCH: 502,
  // Shop API: Authorization: Bearer qk_… unknown or malformed, or revoked (a missing header is HTTP_AUTH_REQUIRED).
  MERCHANT_API_KEY_INVALID: 401,
  MERCHANT_API_KEY_REVOKED: 401,
  // Idempotency-Key: not 1-255 printable ASCII; reused with another request; its first request still running.
  MERCHANT_IDEMPOTENCY_KEY_INVALID: 400,
  MERCHANT_IDEMPOTENCY_MISMATCH: 422,
  MERCHANT_IDEMPOTENCY_IN_FLIGHT: 409,
  // Offers: unknown id; taken by another order; past expiresAt; an order whose lines or total are not the offer's.
  MERCHANT_OFFER_NOT_FOUND: 404,
  MERCHANT_OFFER_TAKEN: 409,
  MERCHANT_OFFER_EXPIRED: 409,
  MERCHANT_OFFER_MISMATCH: 422,
  // POST /v1/shop/orders priced in a currency the shop does not sell in.
  MERCHANT_OFFER_CURRENCY_UNSUPPORTED: 422,
  // POST /v1/shop/orders/:offerId/refunds: nothing awaits approval; the requests do not add up to `amount`.
  MERCHANT_REFUND_NONE_AWAITING: 409,
  MERCHANT_REFUND_AMOUNT_MISMATCH: 409,
  // POST /v1/notifications/repayment-state: the posted state failed the checks of an asked-for one; details.cause names which.
  MERCHANT_NOTIFICATION_REFUSED: 422,
};
