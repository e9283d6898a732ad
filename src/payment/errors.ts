// Codes of the payment server. Statuses live next to the HTTP-facing codes so
// that a code without a status is a compile error; set-up codes are reported
// by `quittance payment init` and never cross the wire.
export const PAY_HTTP_ERROR_CODES = ['PAY_DENOMINATION_UNKNOWN', 'PAY_DENOMINATION_NOT_WITHDRAWABLE', 'PAY_DENOMINATION_NOT_DEPOSITABLE'] as const;
export type PayHttpErrorCode = (typeof PAY_HTTP_ERROR_CODES)[number];

export const PAY_SETUP_ERROR_CODES = ['PAY_CERT_INVALID', 'PAY_CERT_ROLE_NOT_PAYMENT', 'PAY_KEY_CERT_MISMATCH', 'PAY_DATA_EXISTS', 'PAY_CONFIG_INVALID'] as const;
export type PaySetupErrorCode = (typeof PAY_SETUP_ERROR_CODES)[number];

export const PAY_ERROR_CODES = [...PAY_HTTP_ERROR_CODES, ...PAY_SETUP_ERROR_CODES] as const;
export type PayErrorCode = (typeof PAY_ERROR_CODES)[number];

export const PAY_STATUS: Record<PayHttpErrorCode, number> = {
  PAY_DENOMINATION_UNKNOWN: 404,
  // The key exists but its window is closed (or not yet open): the client
  // must fetch GET /v1/keys again, not retry.
  PAY_DENOMINATION_NOT_WITHDRAWABLE: 409,
  PAY_DENOMINATION_NOT_DEPOSITABLE: 409,
};
