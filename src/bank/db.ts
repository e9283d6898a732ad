// The bank's tables, prefixed `bank_` so the bank can share a database with
// other services. Money is bigint minor units (src/store/index.ts value rule).
export type AccountKind = 'shopper' | 'merchant' | 'payment' | 'bank';

export interface BankHolderTable {
  holder: string;
  /** SHA-256 (hex) of the holder's bearer token; the token is shown once at opening. */
  token_hash: string;
  created_at: string;
}

export interface BankAccountTable {
  id: string;
  holder: string;
  currency: string;
  kind: AccountKind;
  /** The lowest balance allowed: 0, or negative for an overdraft / the issuance account. */
  min_balance: bigint;
  balance: bigint;
  /** Number of ledger entries of this account: the next entry gets entry_count + 1. */
  entry_count: number;
  created_at: string;
}

export interface BankTransferTable {
  debit_account: string;
  /** Chosen by the client; unique per debited account. */
  transfer_id: string;
  credit_account: string;
  amount: bigint;
  currency: string;
  subject: string;
  /** SHA-256 (hex) of the canonical request: same id + other body is refused. */
  request_hash: string;
  created_at: string;
}

/** Double entry: each transfer writes one negative and one positive entry. */
export interface BankEntryTable {
  account_id: string;
  seq: number;
  debit_account: string;
  transfer_id: string;
  /** Signed: negative on the debited account, positive on the credited one. */
  amount: bigint;
  balance_after: bigint;
  counterparty: string;
  subject: string;
  created_at: string;
}

export interface BankDatabase {
  bank_holders: BankHolderTable;
  bank_accounts: BankAccountTable;
  bank_transfers: BankTransferTable;
  bank_entries: BankEntryTable;
}
