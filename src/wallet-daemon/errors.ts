// Stable codes of the wallet daemon's own refusals (STYLE "Errors are codes").
// What the wallet library refuses keeps its own code (WALLET_…, and the codes
// of the party or check that failed: PROTO_…, PAY_…, MERCHANT_…); statusOf()
// maps those to HTTP statuses for the daemon's answers.
import { WALLET_ERROR_CODES, type WalletErrorCode } from '../wallet/errors.ts';

export const WALLETD_ERROR_CODES = [
  // No `Authorization: Bearer <token>` on an /api request.
  'WALLETD_TOKEN_REQUIRED',
  // The bearer token is not this daemon's session token.
  'WALLETD_TOKEN_INVALID',
  // The Host header names neither the daemon's own address nor localhost at its port (DNS rebinding).
  'WALLETD_HOST_FORBIDDEN',
  // The request carries an Origin other than the daemon's own (another web page the user visits).
  'WALLETD_ORIGIN_FORBIDDEN',
  // No purchase session with this id (never made, forgotten after it finished, or the daemon restarted).
  'WALLETD_SESSION_NOT_FOUND',
  // An answer to a session that is not waiting for one (or is waiting at another step).
  'WALLETD_SESSION_NOT_WAITING',
  // Too many purchase sessions are running at once.
  'WALLETD_TOO_MANY_SESSIONS',
  // POST /api/loads: the amount is zero (a load moves money).
  'WALLETD_AMOUNT_NOT_POSITIVE',
  // POST /api/loads: the daemon was started without the bank account, token or payment server to load from.
  'WALLETD_LOADING_NOT_CONFIGURED',
] as const;

export type WalletdErrorCode = (typeof WALLETD_ERROR_CODES)[number];

export const WALLETD_STATUS: Record<WalletdErrorCode, number> = {
  WALLETD_TOKEN_REQUIRED: 401,
  WALLETD_TOKEN_INVALID: 401,
  WALLETD_HOST_FORBIDDEN: 403,
  WALLETD_ORIGIN_FORBIDDEN: 403,
  WALLETD_SESSION_NOT_FOUND: 404,
  WALLETD_SESSION_NOT_WAITING: 409,
  WALLETD_TOO_MANY_SESSIONS: 429,
  WALLETD_AMOUNT_NOT_POSITIVE: 400,
  WALLETD_LOADING_NOT_CONFIGURED: 409,
};

// 502: another party answered something that failed the wallet's checks or
// could not be reached; 422: the request cannot be done as asked; 409: not in
// this wallet's current state.
const WALLET_STATUS: Record<WalletErrorCode, number> = {
  WALLET_EXISTS: 409,
  WALLET_NOT_FOUND: 409,
  WALLET_PASSPHRASE_WRONG: 409,
  WALLET_PASSPHRASE_TOO_SHORT: 422,
  WALLET_SEED_MALFORMED: 409,
  WALLET_NOT_REGISTERED: 409,
  WALLET_IDENTITY_EXISTS: 409,
  WALLET_REGISTRATION_REJECTED: 422,
  WALLET_REGISTRATION_TIMEOUT: 504,
  WALLET_CA_UNREACHABLE: 502,
  WALLET_CA_RESPONSE_INVALID: 502,
  WALLET_CERTIFICATE_MISMATCH: 502,
  WALLET_BANK_UNREACHABLE: 502,
  WALLET_BANK_RESPONSE_INVALID: 502,
  WALLET_PAYMENT_PARTY_CHANGED: 502,
  WALLET_PAYMENT_UNREACHABLE: 502,
  WALLET_PAYMENT_RESPONSE_INVALID: 502,
  WALLET_BLIND_SIGNATURE_INVALID: 502,
  WALLET_NO_DENOMINATION: 422,
  WALLET_LOADING_UNAVAILABLE: 422,
  WALLET_LOAD_TIMEOUT: 504,
  WALLET_MERCHANT_UNREACHABLE: 502,
  WALLET_MERCHANT_RESPONSE_INVALID: 502,
  WALLET_MERCHANT_MISMATCH: 502,
  WALLET_ARTICLE_UNKNOWN: 422,
  WALLET_PAYMENT_MODE_UNAVAILABLE: 422,
  WALLET_CANCELLED: 409,
  WALLET_INVOICE_MISMATCH: 502,
  WALLET_INVOICE_EXPIRED: 422,
  WALLET_PAYMENT_SERVER_MISMATCH: 502,
  WALLET_INSUFFICIENT_FUNDS: 422,
  WALLET_TOO_MANY_COINS: 422,
  WALLET_RECEPTION_INVALID: 502,
  WALLET_RECEIPT_INVALID: 502,
  WALLET_COMPLETION_INVALID: 502,
  WALLET_PURCHASE_NOT_FOUND: 404,
  WALLET_PURCHASE_NOT_PAID: 409,
  WALLET_SWAP_REFUSED: 502,
  WALLET_PURSE_CURRENCY_MISMATCH: 422,
  WALLET_PURSE_LOAD_OPEN: 409,
  WALLET_PERMIT_INVALID: 502,
  WALLET_REPAYMENT_STATE_INVALID: 502,
  WALLET_REFUND_REFUSED: 422,
  WALLET_REFUND_TOO_MUCH: 422,
  WALLET_REFUND_NOT_FOUND: 404,
  WALLET_REFUND_EXPIRED: 422,
};

const WALLET_CODES: ReadonlySet<string> = new Set(WALLET_ERROR_CODES);
const WALLETD_CODES: ReadonlySet<string> = new Set(WALLETD_ERROR_CODES);

/**
 * The HTTP status of a refusal the daemon passes on. Codes of other parties
 * (PAY_, MERCHANT_, BANK_, CA_, HTTP_ from their pipelines) and of failed
 * checks on their documents (PROTO_) are theirs, not the page's: 502.
 */
export function statusOf(code: string): number {
  if (WALLETD_CODES.has(code)) return WALLETD_STATUS[code as WalletdErrorCode];
  if (WALLET_CODES.has(code)) return WALLET_STATUS[code as WalletErrorCode];
  // Keys at rest: the identity key did not open with the passphrase the daemon was started with.
  if (code.startsWith('CRYPTO_')) return 409;
  return 502;
}
