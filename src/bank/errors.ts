// Business-rule codes of the bank. Statuses live next to the codes so that a
// code without a status is a compile error.
export const BANK_ERROR_CODES = [
  'BANK_ACCOUNT_NOT_FOUND',
  'BANK_CREDITOR_NOT_FOUND',
  'BANK_CURRENCY_MISMATCH',
  'BANK_AMOUNT_NOT_POSITIVE',
  'BANK_SAME_ACCOUNT',
  'BANK_INSUFFICIENT_FUNDS',
  'BANK_BALANCE_OVERFLOW',
  'BANK_TRANSFER_ID_REUSED',
  'BANK_HOLDER_EXISTS',
  'BANK_HOLDER_MISMATCH',
  'BANK_OVERDRAFT_NOT_ALLOWED',
  'BANK_STATEMENT_RANGE_INVALID',
  'BANK_STATEMENT_TOO_LARGE',
] as const;
export type BankErrorCode = (typeof BANK_ERROR_CODES)[number];

export const BANK_STATUS: Record<BankErrorCode, number> = {
  // Another holder's account answers exactly like a missing one: a holder
  // cannot probe which account ids exist by reading them.
  BANK_ACCOUNT_NOT_FOUND: 404,
  BANK_CREDITOR_NOT_FOUND: 404,
  BANK_CURRENCY_MISMATCH: 422,
  BANK_AMOUNT_NOT_POSITIVE: 422,
  BANK_SAME_ACCOUNT: 422,
  BANK_INSUFFICIENT_FUNDS: 409,
  BANK_BALANCE_OVERFLOW: 422,
  BANK_TRANSFER_ID_REUSED: 422,
  BANK_HOLDER_EXISTS: 409,
  BANK_HOLDER_MISMATCH: 403,
  BANK_OVERDRAFT_NOT_ALLOWED: 403,
  BANK_STATEMENT_RANGE_INVALID: 422,
  BANK_STATEMENT_TOO_LARGE: 422,
};
