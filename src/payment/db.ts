// The payment server's tables, prefixed `payment_` so it can share a database
// with other services. Times are RFC 3339 UTC strings; money is bigint minor units.

/** One RSA denomination key (RFC 9474). The private key is stored wrapped (key-wrap.ts). */
export interface PaymentDenominationKeyTable {
  /** base64url SHA-256 of the SPKI DER, as published. */
  denomination_id: string;
  currency: string;
  /** Minor units, a power of two. */
  value: bigint;
  /**
   * 1, 2, 3 … per (currency, value): unique, so two processes rotating at once
   * collide and only one new key per denomination survives.
   */
  generation: number;
  /** SPKI DER, base64url (the published form). */
  public_key: string;
  /** AES-256-GCM wrapped PKCS#8 (key-wrap.ts), never the clear key. */
  private_key_wrapped: string;
  valid_from: string;
  withdraw_until: string;
  deposit_until: string;
  created_at: string;
}

export type LedgerAccountKind = 'bank' | 'float' | 'reserve' | 'suspense' | 'merchant' | 'fees';

/**
 * A ledger account (ledger.ts). Balance = credits_posted − debits_posted;
 * money on hold is in the *_pending columns until its transfer is posted or voided.
 */
export interface PaymentLedgerAccountTable {
  /** "bank:JPY", "float:JPY", "suspense:JPY", "reserve:<pub>" (ledger.ts accountIds). */
  id: string;
  currency: string;
  kind: LedgerAccountKind;
  debits_posted: bigint;
  credits_posted: bigint;
  debits_pending: bigint;
  credits_pending: bigint;
  created_at: string;
}

export type LedgerFlow = 'posted' | 'pending' | 'post_pending' | 'void_pending';

/** Immutable: a row is inserted once and never changed. */
export interface PaymentLedgerTransferTable {
  id: string;
  flow: LedgerFlow;
  debit_account: string;
  credit_account: string;
  currency: string;
  amount: bigint;
  /** For post_pending / void_pending: the pending transfer resolved (unique). */
  pending_id: string | null;
  /** What moved the money: "load", "withdraw", "bounce", … */
  reason: string;
  created_at: string;
}

/** How far the loader has read a watched bank account's history. */
export interface PaymentBankCursorTable {
  bank_account: string;
  currency: string;
  last_seq: number;
  updated_at: string;
}

/** Every incoming bank entry seen, once, with what was done about it. */
export interface PaymentBankIncomingTable {
  bank_account: string;
  seq: number;
  bank_transfer_id: string;
  counterparty: string;
  currency: string;
  amount: bigint;
  subject: string;
  outcome: 'credited' | 'bounced';
  reserve_pub: string | null;
  created_at: string;
}

/** Money sent back to its sender because its subject named no reserve. */
export interface PaymentBounceTable {
  /** Also the pending ledger transfer's id and the bank transfer id. */
  id: string;
  bank_account: string;
  seq: number;
  to_account: string;
  currency: string;
  amount: bigint;
  reason: string;
  state: 'pending' | 'sent' | 'failed';
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface PaymentReserveTable {
  /** Ed25519 public key, base64url: the loading transfer's subject. */
  reserve_pub: string;
  /** Fixed by the first load; a load in another currency is bounced. */
  currency: string;
  created_at: string;
}

export interface PaymentWithdrawalTable {
  reserve_pub: string;
  request_id: string;
  /** SHA-256 (hex) of the signed body: the same id with another body is refused. */
  request_hash: string;
  currency: string;
  amount: bigint;
  created_at: string;
}

export interface PaymentSwapTable {
  swap_id: string;
  request_hash: string;
  currency: string;
  amount: bigint;
  created_at: string;
}

/** Every blinded envelope the server signed: the float is their value minus the spent coins'. */
export interface PaymentIssuedEnvelopeTable {
  /** SHA-256 of the blinded message, base64url. */
  envelope_hash: string;
  /** "withdraw" | "swap" | "change" | "refund". */
  source: string;
  /** "<reservePub>/<requestId>" for a withdrawal, the swap id for a swap, the payment id for change, "<shopId>/<permitId>" for a refund. */
  source_id: string;
  position: number;
  denomination_id: string;
  currency: string;
  value: bigint;
  /** base64url; returned again when the request is repeated. */
  blind_signature: string;
  created_at: string;
}

export interface PaymentSpentCoinTable {
  /** Primary key: a coin is spent once. */
  coin_pub: string;
  denomination_id: string;
  currency: string;
  value: bigint;
  /** "swap" (later: "payment"). */
  spent_by: string;
  spent_ref: string;
  created_at: string;
}

export type MerchantStatus = 'active' | 'suspended';

/** A merchant accepted by contract (`quittance payment add-merchant`): only these are paid. */
export interface PaymentMerchantTable {
  /** The party id of its `merchant` certificate: the invoice's shop.id. */
  merchant_id: string;
  display_name: string;
  /** PEM, leaf first, as added. */
  certificate_chain: string;
  /** SHA-256 of the leaf's DER, lower-case hex. */
  fingerprint: string;
  /** Bank account the takings are paid out to (QB…); null until known. */
  payout_account: string | null;
  /** The merchant server's base URL, where payments and repayments are notified (notifications.ts); null: the shop only asks. */
  notify_url: string | null;
  status: MerchantStatus;
  created_at: string;
  updated_at: string;
}

export type PaymentState = 'RECEPTION_ACCEPTED' | 'PAID';

/** One purchase at the payment server (patent fig. 13), unique per (shop_id, transaction_id). */
export interface PaymentPaymentTable {
  payment_id: string;
  shop_id: string;
  transaction_id: string;
  purchaser_id: string;
  currency: string;
  /** The invoice amount, minor units. */
  amount: bigint;
  payment_mode: string;
  state: PaymentState;
  /** Document hash of the invoice. */
  invoice_hash: string;
  payment_due_time: string;
  /** The countersigned invoice JWS (message 150), JSON. */
  invoice_jws: string;
  /** The signed money reception response (160), JSON: answered again to a repeated 150. */
  reception_jws: string;
  /** SHA-256 (hex) of the paying request's signing bytes: the same request again is a replay. */
  payment_request_hash: string | null;
  /** The signed receipt (180), JSON. */
  receipt_jws: string | null;
  paid_at: string | null;
  /** Mode account: the purse (reserve key) debited; null for e-money. */
  purse_key: string | null;
  /** Mode account: the purse key's Ed25519 signature of the payment (accountPaymentSigningBytes), base64url. */
  purse_signature: string | null;
  /**
   * Minor units repaid so far (refunds, remittance.ts): the sum of this
   * payment's repayments, never above `amount` (a CHECK, and the conditional
   * update that books each refund). `amount` refunded shows as
   * REPAYMENT_COMPLETION (fig. 13); the row's state stays PAID.
   */
  refunded: bigint;
  /** The settlement that paid this payment out (settlement.ts); null while unsettled. */
  settlement_id: string | null;
  created_at: string;
}

/** A reserve bound to a certified shopper (mode account, purses.ts). */
export interface PaymentPurseTable {
  /** The reserve key: loads arrive at ledger account reserve:<purse_key>. */
  purse_key: string;
  party_id: string;
  /** SHA-256 (hex) of the DER of the certificate that signed the registration. */
  fingerprint: string;
  /** The registration JWS (general JSON) as verified. */
  registration_jws: string;
  /** The purse key's Ed25519 signature of the binding (base64url). */
  purse_signature: string;
  created_at: string;
}

export type RepaymentState = 'remitted' | 'completed';

/**
 * One refund paid against a merchant's permit (messages 1150 → 1200), keyed
 * by (shop_id, permit_id): a permit pays at most once.
 */
export interface PaymentRepaymentTable {
  /** The permit's shop: the merchant that signed it, debited. */
  shop_id: string;
  permit_id: string;
  payment_id: string;
  transaction_id: string;
  /** The permit's recipientId: the payment's purchaser. */
  recipient_id: string;
  /** Who countersigned the permit and signed the remittance request; the receipt (1190) must come from the same key. */
  signer_kind: 'certified' | 'anonymous';
  /** certified: SHA-256 (hex) of the leaf certificate's DER; anonymous: the jwk's RFC 7638 thumbprint. */
  signer_key: string;
  currency: string;
  amount: bigint;
  mode: 'ecash' | 'account';
  /** Mode account: the purse (reserve key) credited; null for e-money. */
  purse_key: string | null;
  /** Document hash of the merchant-signed permit. */
  permit_hash: string;
  /** Document hash of the remittance request: the same request again is a replay. */
  request_hash: string;
  /** The countersigned permit and the remittance request (JWS JSON), as verified: evidence. */
  permit_jws: string;
  request_jws: string;
  state: RepaymentState;
  /** The signed RepaymentState `remitted` answered to 1150 (JWS JSON), answered again to a replay. */
  state_jws: string;
  /** The recipient's repayment receipt (1190) and the signed `completed` state answered to it. */
  receipt_jws: string | null;
  completed_state_jws: string | null;
  completed_at: string | null;
  /** The settlement this refund was deducted in (settlement.ts); null while unsettled. */
  settlement_id: string | null;
  created_at: string;
}

export type SettlementState = 'pending' | 'sent' | 'failed';

/**
 * One payout of a shop's takings in one currency to its bank account
 * (settlement.ts). pending: the money is held (ledger transfer
 * settlement:<id>, merchant → bank) and the bank transfer (id = settlement
 * id) is asked for until the bank answers; sent: paid, hold posted; failed:
 * refused for good, hold voided, its items free again.
 */
export interface PaymentSettlementTable {
  settlement_id: string;
  merchant_id: string;
  currency: string;
  amount: bigint;
  payout_account: string;
  state: SettlementState;
  /** The signed settlement report (JWS JSON). */
  report_jws: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export type NotificationKind = 'payment' | 'repayment';
export type NotificationEvent = 'paid' | 'remitted' | 'completed';

/**
 * The outbox of notifications to merchants (notifications.ts): inserted with
 * the state change, delivered afterwards with retries. pending: to deliver at
 * next_attempt_at; delivered: the merchant answered 2xx; failed: it refused
 * for good (4xx) or could not be reached for notifyGiveUpHours — the shop
 * still learns the state when it asks (1210, GET /v1/payments/…).
 */
export interface PaymentNotificationTable {
  merchant_id: string;
  kind: NotificationKind;
  /** Transaction id (payment) or permit id (repayment). */
  ref: string;
  event: NotificationEvent;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface PaymentDatabase {
  payment_denomination_keys: PaymentDenominationKeyTable;
  payment_ledger_accounts: PaymentLedgerAccountTable;
  payment_ledger_transfers: PaymentLedgerTransferTable;
  payment_bank_cursors: PaymentBankCursorTable;
  payment_bank_incoming: PaymentBankIncomingTable;
  payment_bounces: PaymentBounceTable;
  payment_reserves: PaymentReserveTable;
  payment_withdrawals: PaymentWithdrawalTable;
  payment_swaps: PaymentSwapTable;
  payment_issued_envelopes: PaymentIssuedEnvelopeTable;
  payment_spent_coins: PaymentSpentCoinTable;
  payment_merchants: PaymentMerchantTable;
  payment_payments: PaymentPaymentTable;
  payment_purses: PaymentPurseTable;
  payment_repayments: PaymentRepaymentTable;
  payment_settlements: PaymentSettlementTable;
  payment_notifications: PaymentNotificationTable;
}
