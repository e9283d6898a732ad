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
] as const;

export type WalletErrorCode = (typeof WALLET_ERROR_CODES)[number];
