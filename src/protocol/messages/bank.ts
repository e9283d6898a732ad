// Wire messages of the bank's HTTP API: accounts, transfers, history and
// statements. Shared by the bank server, the CLI and, later, the payment
// server (which watches its own account) and the wallet (which loads e-money).
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { isKnownCurrency } from '../currencies.ts';
import { PartyId } from '../identity.ts';

/**
 * Account ids look like IBANs: "QB", two ISO 7064 mod 97-10 check digits, then
 * 12 characters (digits for customer accounts). A mistyped id fails the check
 * digits instead of reaching somebody else's account.
 */
export const ACCOUNT_ID_PATTERN = /^QB[0-9]{2}[0-9A-Z]{12}$/;

// ISO 7064 MOD 97-10 as ISO 13616 uses it for IBANs: move "QB" and the check
// digits to the end, letters A=10 … Z=35, check = 98 − (n mod 97). A single
// mistyped character or a swap of two neighbours never yields another valid
// id, so a typo cannot pay a stranger.
function mod97(text: string): number {
  let r = 0;
  for (const ch of text) {
    const v = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) r = (r * 10 + Number(d)) % 97;
  }
  return r;
}

/** The account id for a 12-character body of [0-9A-Z]. */
export function accountIdFromBody(body: string): string {
  if (typeof body !== 'string' || !/^[0-9A-Z]{12}$/.test(body)) throw new TypeError('body: expected 12 characters of [0-9A-Z]');
  const check = 98 - mod97(`${body}QB00`);
  return `QB${String(check).padStart(2, '0')}${body}`;
}

export function isValidAccountId(id: string): boolean {
  return ACCOUNT_ID_PATTERN.test(id) && mod97(`${id.slice(4)}${id.slice(0, 4)}`) === 1;
}

export const AccountId = z
  .string()
  .regex(ACCOUNT_ID_PATTERN, 'account id: QB, 2 check digits, 12 characters')
  .refine(isValidAccountId, 'account id: check digits do not match (mistyped?)');

/** Chosen by the client; unique per debited account. Repeating it repeats the answer. */
export const TransferId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'transfer id: 1-64 of [A-Za-z0-9._:-]');

export const Currency = z.string().refine(isKnownCurrency, 'currency: an ISO 4217 code Quittance knows');

/** Who holds an account: a party id from the CA, or a name chosen at self-service opening. */
export const Holder = PartyId;

/** Informational: the bank treats every kind alike. The bank's own issuance account is kind `bank`. */
export const ACCOUNT_KINDS = ['shopper', 'merchant', 'payment'] as const;
export const AccountKind = z.enum(ACCOUNT_KINDS);

// The payment server puts a reserve public key here (DESIGN §4 "loading").
export const Subject = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => s.isWellFormed() && !/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(s), 'subject: no control or bidi-override characters');

/**
 * Balances and limits may be negative (an overdraft; the bank's issuance
 * account): "-JPY:5000". Amounts of transfers never are, and use AmountString.
 */
export const SignedAmountString = z.string().regex(/^-?[A-Z]{3}:(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'signed amount');

export const OpenAccountRequest = z.strictObject({
  /** Required for the operator and for self-service; a holder may only name itself. */
  holder: Holder.optional(),
  currency: Currency,
  kind: AccountKind.default('shopper'),
  /** Operator only: how far below zero the balance may go, e.g. "JPY:5000". */
  overdraft: AmountString.optional(),
});
export type OpenAccountRequest = z.infer<typeof OpenAccountRequest>;

export const AccountView = z.strictObject({
  accountId: AccountId,
  holder: z.string(),
  currency: z.string(),
  kind: z.string(),
  balance: SignedAmountString,
  /** The lowest balance allowed ("JPY:0", or "-JPY:5000" with an overdraft). */
  limit: SignedAmountString,
  createdAt: z.string(),
});
export type AccountView = z.infer<typeof AccountView>;

export const OpenAccountResponse = z.strictObject({
  account: AccountView,
  /** Only when the holder is new: its bearer token, shown once (the bank keeps the SHA-256). */
  holderToken: z.string().optional(),
});
export type OpenAccountResponse = z.infer<typeof OpenAccountResponse>;

export const TransferRequest = z.strictObject({
  transferId: TransferId,
  from: AccountId,
  to: AccountId,
  amount: AmountString,
  subject: Subject,
});
export type TransferRequest = z.infer<typeof TransferRequest>;

/** Operator: pay `to` from the bank's own issuance account in the amount's currency (demos). */
export const FundRequest = z.strictObject({
  transferId: TransferId,
  to: AccountId,
  amount: AmountString,
  subject: Subject.default('funding'),
});
export type FundRequest = z.infer<typeof FundRequest>;

export const TransferView = z.strictObject({
  transferId: z.string(),
  from: z.string(),
  to: z.string(),
  amount: AmountString,
  subject: z.string(),
  createdAt: z.string(),
});
export type TransferView = z.infer<typeof TransferView>;

export const EntryView = z.strictObject({
  /** Position in this account's history: 1, 2, 3 … with no gaps; the long-poll cursor. */
  seq: z.number().int(),
  direction: z.enum(['incoming', 'outgoing']),
  /** The transfer id as the debtor chose it (unique together with the debited account). */
  transferId: z.string(),
  amount: AmountString,
  counterparty: z.string(),
  subject: z.string(),
  balanceAfter: SignedAmountString,
  createdAt: z.string(),
});
export type EntryView = z.infer<typeof EntryView>;

export const HistoryQuery = z.strictObject({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  direction: z.enum(['incoming', 'outgoing', 'both']).default('both'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** Seconds to wait for a new entry when there is none (long polling); capped by the server. */
  wait: z.coerce.number().int().min(0).max(600).default(0),
});
export type HistoryQuery = z.infer<typeof HistoryQuery>;

export const HistoryResponse = z.strictObject({
  entries: z.array(EntryView),
  /** Pass as `after` next time: the seq of the last entry returned (or the `after` given). */
  next: z.number().int(),
});
export type HistoryResponse = z.infer<typeof HistoryResponse>;

const Instant = z.iso.datetime({ offset: true });

export const StatementQuery = z.strictObject({ from: Instant, to: Instant });

export const StatementResponse = z.strictObject({
  accountId: z.string(),
  currency: z.string(),
  from: z.string(),
  to: z.string(),
  /** Balance at `from` (entries strictly before it). */
  openingBalance: SignedAmountString,
  /** Balance at `to` (entries strictly before it): opening + credits − debits. */
  closingBalance: SignedAmountString,
  totalCredits: AmountString,
  totalDebits: AmountString,
  entries: z.array(EntryView),
});
export type StatementResponse = z.infer<typeof StatementResponse>;
