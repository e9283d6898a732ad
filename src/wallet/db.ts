// The wallet's tables (W/wallet.sqlite). Nothing secret lives here: the seed and
// the identity private key are in their own encrypted files, so the store can
// be read (status, balance, coins) without the passphrase. Money columns are
// bigint minor units (src/store value rule); times are RFC 3339 UTC text.
export type WalletMetaTable = {
  /** Always 1: one wallet per store. */
  id: number;
  wallet_id: string;
  created_at: string;
};

export type IdentityStatus = 'pending' | 'approved' | 'rejected';

export type WalletIdentityTable = {
  /** Always 1: a wallet has one certified identity. */
  id: number;
  ca_url: string;
  display_name: string;
  /** DER SubjectPublicKeyInfo of identity-key.pem, base64url: what the certificate must certify. */
  public_key_spki: string;
  registration_id: string;
  status: IdentityStatus;
  party_id: string | null;
  /** Leaf first, then the CA chain, PEM; only after the checks of register.ts passed. */
  certificate_chain_pem: string | null;
  /** The CA root this wallet trusts (pinned by --ca-cert, or taken at registration), PEM. */
  ca_root_pem: string | null;
  not_before: string | null;
  not_after: string | null;
  reject_reason: string | null;
  created_at: string;
  updated_at: string;
};

export type DerivationPurpose = 'coin' | 'reserve';

export type WalletDerivationTable = {
  purpose: DerivationPurpose;
  idx: number;
  created_at: string;
};

export type ReserveState = 'created' | 'transferred' | 'credited' | 'withdrawn' | 'closed';

export type WalletReserveTable = {
  /** Ed25519 public key, base64url (the bank transfer's subject). */
  reserve_pub: string;
  derivation_index: number;
  currency: string;
  amount: bigint;
  payment_url: string | null;
  bank_transfer_id: string | null;
  bank_url: string | null;
  /** The shopper's bank account that paid the reserve. */
  bank_account: string | null;
  state: ReserveState;
  created_at: string;
  updated_at: string;
};

export type CoinState = 'pending' | 'unspent' | 'spent';

export type WalletCoinTable = {
  /** Ed25519 public key, base64url. */
  coin_pub: string;
  derivation_index: number;
  denomination_id: string;
  currency: string;
  value: bigint;
  /** Unblinded RSA signature, base64url; null while the withdrawal is pending. */
  signature: string | null;
  state: CoinState;
  reserve_pub: string | null;
  /** The withdrawal (or swap) request that signs this coin; repeated as is after a crash. */
  request_id: string | null;
  /** The purchase (wallet_purchases.purchase_id) this coin was given to; set with state `spent`, once. */
  spent_in: string | null;
  created_at: string;
  updated_at: string;
};

/** A denomination key from a payment server's signed key list, verified before it was stored. */
export type WalletDenominationTable = {
  denomination_id: string;
  payment_url: string;
  payment_party_id: string;
  currency: string;
  value: bigint;
  /** SPKI DER, base64url. */
  public_key: string;
  valid_from: string;
  withdraw_until: string;
  deposit_until: string;
  seen_at: string;
};

/**
 * A purchase and every document of it (messages 120–190), stored before the
 * first payment message and completed step by step, so that a crash is
 * resumed with the identical requests.
 *   INVOICED  invoice verified and accepted by the shopper; 150 may be under way
 *   ACCEPTED  160 verified
 *   PAYING    coins given to this payment, 170 stored (and maybe sent)
 *   PAID      receipt verified, change stored
 *   COMPLETED the merchant's signed completion (190) stored
 */
export type PurchaseState = 'INVOICED' | 'ACCEPTED' | 'PAYING' | 'PAID' | 'COMPLETED';

export type WalletPurchaseTable = {
  /** `<merchant id>/<transaction id>`: transaction ids are the merchant's, unique per merchant only. */
  purchase_id: string;
  transaction_id: string;
  merchant_url: string;
  merchant_id: string;
  merchant_name: string;
  /** SHA-256 of the merchant's certificate (hex), as shown to the shopper. */
  merchant_fingerprint: string;
  payment_url: string;
  payment_party_id: string;
  /** PEM chain of the payment server, from the invoice's payment request (140). */
  payment_chain: string;
  purchaser_id: string;
  purchaser_kind: 'certified' | 'anonymous';
  /** Index of the anonymous per-order key (order-key.ts); null for a certified purchase. */
  order_key_index: number | null;
  currency: string;
  amount: bigint;
  payment_mode: string;
  hello_jws: string;
  order_jws: string;
  invoice_jws: string;
  invoice_hash: string;
  /** 150: the countersigned invoice and the money reception request, stored before they are sent. */
  countersigned_invoice_jws: string | null;
  reception_request_jws: string | null;
  reception_response_jws: string | null;
  /** 170 as sent (JSON), stored before it is sent: a resume repeats it byte for byte. */
  payment_request: string | null;
  /** Request id of the change coins (wallet_coins.request_id). */
  change_request_id: string | null;
  receipt_jws: string | null;
  completion_jws: string | null;
  state: PurchaseState;
  /** The code of the last failure of an unfinished purchase (for `history` and `--resume`). */
  last_error: string | null;
  created_at: string;
  updated_at: string;
};

export type WalletOrderKeyTable = {
  idx: number;
  created_at: string;
};

/**
 * The wallet's purse (mode `account`) as registered at one payment server
 * (POST /v1/purses): the URL stays bound to the certified payment party that
 * signed its key list when the purse was registered.
 */
export type WalletPurseTable = {
  payment_url: string;
  payment_party_id: string;
  /** Ed25519 public key, base64url (derive.ts derivePurse). */
  purse_key: string;
  /** The wallet's certified party id the purse is registered to. */
  party_id: string;
  /** As the payment server answered it. */
  registered_at: string;
};

/**
 *   created      stored before the bank transfer is sent (it may or may not have reached the bank)
 *   transferred  the bank confirmed the transfer
 *   credited     the payment server credited the purse up to target_credited
 *   closed       the bank refused the transfer in a way that proves it was never made
 */
export type PurseLoadState = 'created' | 'transferred' | 'credited' | 'closed';

export type WalletPurseLoadTable = {
  load_id: string;
  purse_key: string;
  payment_url: string;
  currency: string;
  amount: bigint;
  /** What the purse's `credited` must reach: its credited total before this load plus `amount`. */
  target_credited: bigint;
  /** `purse-load-<load id>`: a repeat after a crash is the same transfer. */
  bank_transfer_id: string;
  bank_url: string;
  /** The shopper's bank account that pays. */
  bank_account: string;
  /** The payment server's loading account, from its signed key list (a resend is byte for byte the same). */
  payment_bank_account: string;
  state: PurseLoadState;
  created_at: string;
  updated_at: string;
};

export type WalletDatabase = {
  wallet_meta: WalletMetaTable;
  wallet_identity: WalletIdentityTable;
  wallet_derivations: WalletDerivationTable;
  wallet_reserves: WalletReserveTable;
  wallet_coins: WalletCoinTable;
  wallet_denominations: WalletDenominationTable;
  wallet_purchases: WalletPurchaseTable;
  wallet_order_keys: WalletOrderKeyTable;
  wallet_purses: WalletPurseTable;
  wallet_purse_loads: WalletPurseLoadTable;
  wallet_refunds: WalletRefundTable;
};

/**
 * A refund (messages 1110–1200), stored before each message it sends.
 *   REQUESTED          the signed repayment request (1110) stored, maybe sent
 *   AWAITING_APPROVAL  the shop's operator must approve it first (--resume asks again)
 *   PERMITTED          the merchant's permit (1140) verified
 *   CLAIMING           the claim (1150+1170: countersigned permit, remittance request, envelopes) stored, maybe sent
 *   REMITTED           the payment server's signed word that it paid (coins unblinded, or the purse credited)
 *   COMPLETED          our repayment receipt (1190) delivered, its acknowledgement (1200) stored
 *   REFUSED            the shop refused it (its operator's reason in last_error)
 */
export type RefundState = 'REQUESTED' | 'AWAITING_APPROVAL' | 'PERMITTED' | 'CLAIMING' | 'REMITTED' | 'COMPLETED' | 'REFUSED';

export type WalletRefundTable = {
  request_id: string;
  purchase_id: string;
  currency: string;
  amount: bigint;
  reason: string;
  /** The signed repayment request (1110), JWS JSON. */
  request_jws: string;
  state: RefundState;
  permit_id: string | null;
  /** The merchant-signed permit (1140), JWS JSON. */
  permit_jws: string | null;
  /** The claim (POST /v1/repayments body: countersigned permit, remittance request, envelopes), JSON. */
  claim: string | null;
  /** The request id of the pending coins of an e-money refund. */
  coins_request_id: string | null;
  /** The payment server's signed repayment state `remitted` (1160/1180). */
  remitted_jws: string | null;
  /** Our signed repayment receipt (1190). */
  receipt_jws: string | null;
  /** The payment server's signed repayment state `completed` (1200). */
  completed_jws: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
};
