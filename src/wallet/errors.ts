// Stable codes for the wallet's expected failures (STYLE "Errors are codes").
// A failure reported by the CA itself keeps the CA's code (CA_…, HTTP_…), and
// a certificate path that does not validate keeps its PROTO_CERT_… code.
export const WALLET_ERROR_CODES = [
  // `wallet init`: the directory already holds a wallet (nothing is overwritten).
  'WALLET_EXISTS',
  // The directory holds no wallet (no seed.json / wallet.sqlite).
  'WALLET_NOT_FOUND',
  // The passphrase does not decrypt seed.json (or the file was altered).
  'WALLET_PASSPHRASE_WRONG',
  // `wallet init`: the new passphrase is shorter than 8 characters.
  'WALLET_PASSPHRASE_TOO_SHORT',
  // seed.json is not the documented format, or its KDF is weaker than the minimum.
  'WALLET_SEED_MALFORMED',
  // `wallet register --resume` with no registration to resume.
  'WALLET_NOT_REGISTERED',
  // `wallet register` for another CA or name while this wallet already has an identity.
  'WALLET_IDENTITY_EXISTS',
  // The CA rejected the registration.
  'WALLET_REGISTRATION_REJECTED',
  // `--wait` ran out of time; the registration is still pending and can be resumed.
  'WALLET_REGISTRATION_TIMEOUT',
  // The CA could not be reached (connection refused, DNS, TLS).
  'WALLET_CA_UNREACHABLE',
  // The CA answered something that is not the documented message.
  'WALLET_CA_RESPONSE_INVALID',
  // The certificate the CA returned is not for this wallet's key, or names
  // another display name or role: nothing is stored.
  'WALLET_CERTIFICATE_MISMATCH',
  // The bank could not be reached, or answered something that is not the documented message.
  'WALLET_BANK_UNREACHABLE',
  'WALLET_BANK_RESPONSE_INVALID',
  // The key list at a payment URL is signed by another payment party than before (trust on first use per URL).
  'WALLET_PAYMENT_PARTY_CHANGED',
  // The payment server could not be reached, or answered something that is not the documented message.
  'WALLET_PAYMENT_UNREACHABLE',
  'WALLET_PAYMENT_RESPONSE_INVALID',
  // A blind signature from the payment server does not verify once unblinded: the coins stay pending, nothing is lost.
  'WALLET_BLIND_SIGNATURE_INVALID',
  // The payment server offers no denominations that add up to the amount now.
  'WALLET_NO_DENOMINATION',
  // The payment server names no bank account for this currency (it takes no loads).
  'WALLET_LOADING_UNAVAILABLE',
  // The credit did not arrive within the wait; the load is kept and `wallet load --resume` finishes it.
  'WALLET_LOAD_TIMEOUT',
  // The merchant server could not be reached, or answered something that is not the documented message.
  'WALLET_MERCHANT_UNREACHABLE',
  'WALLET_MERCHANT_RESPONSE_INVALID',
  // The merchant's signed hello, catalogue or invoice names another party (or nonce) than the one whose signature was verified.
  'WALLET_MERCHANT_MISMATCH',
  // `wallet buy --item`: no article of that name or id in the catalogue, or a bad NAME:QTY.
  'WALLET_ARTICLE_UNKNOWN',
  // The payment mode is unknown, not offered by the shop, or `account` for an anonymous purchase.
  'WALLET_PAYMENT_MODE_UNAVAILABLE',
  // The shopper answered No to the merchant's identity or to the invoice: nothing was signed or paid.
  'WALLET_CANCELLED',
  // The signed invoice does not answer our order (hash, lines, amount, purchaser, shop, mode, conditions).
  'WALLET_INVOICE_MISMATCH',
  // The invoice is past its payment due time.
  'WALLET_INVOICE_EXPIRED',
  // The payment server chain in the invoice names another party than invoice.paymentServer, or another signer answered.
  'WALLET_PAYMENT_SERVER_MISMATCH',
  // The wallet holds too little unspent e-money of this payment server and currency; nothing was sent.
  'WALLET_INSUFFICIENT_FUNDS',
  // The amount needs more coins than one payment may carry, even after consolidation (consolidate.ts).
  'WALLET_TOO_MANY_COINS',
  // The money reception response (160) does not answer our request.
  'WALLET_RECEPTION_INVALID',
  // The receipt (180) is not signed by the invoice's payment server or does not match the invoice; the purchase stays open for --resume.
  'WALLET_RECEIPT_INVALID',
  // The merchant's completion (190) does not verify or names another receipt; the purchase stays PAID.
  'WALLET_COMPLETION_INVALID',
  // `wallet show` / `buy --resume` with no such purchase.
  'WALLET_PURCHASE_NOT_FOUND',
  // `wallet export TX` of a purchase that is not PAID or COMPLETED: there is no receipt yet.
  'WALLET_PURCHASE_NOT_PAID',
  // The payment server refused a swap of small coins for good (a coin already spent elsewhere, a key no longer
  // signing…): the swap was undone — coins the server reports spent stay spent, the others are unspent again.
  'WALLET_SWAP_REFUSED',
  // `wallet load --into purse`: the purse at this payment server already holds another currency (a load in this one would be sent back).
  'WALLET_PURSE_CURRENCY_MISMATCH',
  // `wallet load --into purse`: an earlier load into this purse is not finished; `wallet load --resume` first.
  'WALLET_PURSE_LOAD_OPEN',
  // `wallet refund`: the merchant's permit (1140) does not verify or does not answer our repayment request.
  'WALLET_PERMIT_INVALID',
  // `wallet refund`: the payment server's signed repayment state (1160/1180, 1200) does not verify or names another permit, amount or state.
  'WALLET_REPAYMENT_STATE_INVALID',
  // `wallet refund`: the shop's operator refused the refund (the reason is in the message).
  'WALLET_REFUND_REFUSED',
  // `wallet refund`: more than was paid minus what was already refunded (or asked for), or a purchase not paid.
  'WALLET_REFUND_TOO_MUCH',
  // `wallet refund --resume REQUEST`: no unfinished refund with that request id.
  'WALLET_REFUND_NOT_FOUND',
  // `wallet refund`: the permit passed its due time unclaimed (and unpaid); the refund is dropped and may be asked for again.
  'WALLET_REFUND_EXPIRED',
] as const;

export type WalletErrorCode = (typeof WALLET_ERROR_CODES)[number];
