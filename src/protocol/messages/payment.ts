// Wire messages of the payment server's e-money API (DESIGN §4): reserves
// (loading), withdrawal, swap (change) and coin state. Shared by the payment
// server and the wallet.
//
// Keys and signatures:
// - A reserve key and a coin key are raw Ed25519 keys (32 bytes, base64url),
//   derived from the wallet seed (src/wallet/derive.ts), never certified.
// - A reserve key signs its withdrawal and a coin key signs the swap that
//   spends it: Ed25519 over `label || 0x00 || RFC 8785(body)` (ed25519.ts),
//   with the labels below, so a signature is bound to its purpose and to every
//   field of the request including the envelopes it pays for.
// - A coin is (coinPub, denominationId, denominationSignature): the RFC 9474
//   signature of the 32 coin public key bytes under the denomination key.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { decodeBase64url, encodeBase64url } from '../base64url.ts';
import { JwsGeneral, Sha256B64u } from '../documents/fields.ts';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, signingBytes } from '../ed25519.ts';
import { MAX_MODULUS_BITS, MIN_MODULUS_BITS } from '../rfc9474.ts';

export const WITHDRAW_LABEL = 'quittance/withdraw/v1';
export const SWAP_LABEL = 'quittance/swap/v1';

/** Envelopes (and coins) per request: a withdrawal of 64 signatures takes ~60 ms of RSA work. */
export const MAX_ENVELOPES = 64;
export const MAX_COINS = 64;

const B64U = /^[A-Za-z0-9_-]+$/;

/** Canonical base64url of exactly `bytes` bytes (one spelling per value). */
function fixedB64u(name: string, bytes: number) {
  const chars = Math.ceil((bytes * 4) / 3);
  return z
    .string()
    .length(chars, `${name}: ${bytes} bytes, base64url without padding`)
    .regex(B64U, `${name}: base64url without padding`)
    .refine((s) => decodeBase64url(s)?.length === bytes, `${name}: not canonical base64url of ${bytes} bytes`);
}

/** base64url of an RSA-sized value (2048-8192-bit modulus): envelopes and blind or coin signatures. */
function rsaB64u(name: string) {
  return z
    .string()
    .min(Math.ceil(MIN_MODULUS_BITS / 6))
    .max(Math.ceil(MAX_MODULUS_BITS / 6))
    .regex(B64U, `${name}: base64url without padding`)
    .refine((s) => decodeBase64url(s) !== undefined, `${name}: not canonical base64url`);
}

export const Ed25519PublicKey = fixedB64u('public key', ED25519_PUBLIC_KEY_BYTES);
export const Ed25519Signature = fixedB64u('signature', ED25519_SIGNATURE_BYTES);
/** The RFC 9474 blinded message (the envelope), as long as the denomination key's modulus. */
export const BlindedMessage = rsaB64u('blindedMessage');
export const RsaSignature = rsaB64u('signature');

/** Chosen by the wallet, unique per reserve (withdrawal) or globally (swap); repeating it repeats the answer. */
export const RequestId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'request id: 16-64 base64url characters');

export const Envelope = z.strictObject({ denominationId: Sha256B64u, blindedMessage: BlindedMessage });
export type Envelope = z.infer<typeof Envelope>;

function distinct<T>(items: readonly T[], key: (t: T) => string): boolean {
  return new Set(items.map(key)).size === items.length;
}

const Envelopes = z
  .array(Envelope)
  .min(1)
  .max(MAX_ENVELOPES)
  .refine((es) => distinct(es, (e) => e.blindedMessage), 'envelopes: the same envelope twice');

// ---------------------------------------------------------------- reserves

/** GET /v1/reserves/:reservePub?wait=S&credited=AMOUNT: long-polls until at least `credited` has arrived. */
export const ReserveQuery = z.strictObject({
  wait: z.coerce.number().int().min(0).max(600).default(0),
  credited: AmountString.optional(),
});
export type ReserveQuery = z.infer<typeof ReserveQuery>;

export const ReserveView = z.strictObject({
  reservePub: Ed25519PublicKey,
  currency: z.string(),
  /** Everything loaded into the reserve so far. */
  credited: AmountString,
  /** Everything withdrawn from it so far. */
  withdrawn: AmountString,
  /** A purse (mode account) only: everything it paid to merchants so far. */
  paid: AmountString.optional(),
  /** A purse only, once a refund in mode account was paid into it: everything refunded into it so far. */
  refunded: AmountString.optional(),
  /** What may still be withdrawn or paid: credited − withdrawn − paid + refunded. */
  balance: AmountString,
  createdAt: z.string(),
});
export type ReserveView = z.infer<typeof ReserveView>;

// ---------------------------------------------------------------- withdrawal

export const WithdrawBody = z.strictObject({ requestId: RequestId, reservePub: Ed25519PublicKey, envelopes: Envelopes });
export type WithdrawBody = z.infer<typeof WithdrawBody>;

/** POST /v1/reserves/:reservePub/withdraw */
export const WithdrawRequest = WithdrawBody.extend({ reserveSignature: Ed25519Signature });
export type WithdrawRequest = z.infer<typeof WithdrawRequest>;

/** What the reserve key signs: every field of the request except the signature. */
export function withdrawSigningBytes(body: WithdrawBody): Uint8Array<ArrayBuffer> {
  return signingBytes(WITHDRAW_LABEL, { requestId: body.requestId, reservePub: body.reservePub, envelopes: body.envelopes.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage })) });
}

/** One blind signature per envelope, in the request's order. */
export const BlindSignaturesResponse = z.strictObject({ requestId: RequestId, blindSignatures: z.array(RsaSignature).min(1).max(MAX_ENVELOPES) });
export type BlindSignaturesResponse = z.infer<typeof BlindSignaturesResponse>;

// ---------------------------------------------------------------- coins and swap

/** A coin as the wallet holds and shows it (bearer: whoever has the coin's private key may spend it). */
export const Coin = z.strictObject({ coinPub: Ed25519PublicKey, denominationId: Sha256B64u, denominationSignature: RsaSignature });
export type Coin = z.infer<typeof Coin>;

export const SpentCoin = Coin.extend({ coinSignature: Ed25519Signature });
export type SpentCoin = z.infer<typeof SpentCoin>;

/** 1 to MAX_COINS distinct coins. */
function coinList<C extends z.ZodType<{ coinPub: string }>>(coin: C) {
  return z
    .array(coin)
    .min(1)
    .max(MAX_COINS)
    .refine((cs) => distinct(cs, (c) => c.coinPub), 'coins: the same coin twice');
}

export const SwapBody = z.strictObject({ swapId: RequestId, coins: coinList(Coin), envelopes: Envelopes });
export type SwapBody = z.infer<typeof SwapBody>;

/** POST /v1/swap: spend `coins`, receive blind signatures on `envelopes` of the same total. */
export const SwapRequest = z.strictObject({ swapId: RequestId, coins: coinList(SpentCoin), envelopes: Envelopes });
export type SwapRequest = z.infer<typeof SwapRequest>;

/**
 * What every spent coin's key signs: the swap id, all coins (without their
 * coin signatures) and all envelopes. A coin's signature therefore cannot be
 * moved to another swap or to other envelopes.
 */
export function swapSigningBytes(body: SwapBody): Uint8Array<ArrayBuffer> {
  return signingBytes(SWAP_LABEL, {
    swapId: body.swapId,
    coins: body.coins.map((c) => ({ coinPub: c.coinPub, denominationId: c.denominationId, denominationSignature: c.denominationSignature })),
    envelopes: body.envelopes.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage })),
  });
}

/** GET /v1/coins/:coinPub. The server only knows spent coins: any other key is `unspent` as far as it can tell. */
export const CoinStateView = z.strictObject({
  coinPub: Ed25519PublicKey,
  state: z.enum(['unspent', 'spent']),
  spentAt: z.string().optional(),
  /** What spent it, e.g. "swap". */
  spentBy: z.string().optional(),
  denominationId: z.string().optional(),
});
export type CoinStateView = z.infer<typeof CoinStateView>;

// ---------------------------------------------------------------- loading

/** GET /v1/loading answers `{ accounts: LoadingAccount[] }`; the signed key list carries the same under `loading`. */
export { LoadingAccount } from '../documents/denomination-keys.ts';

// ---------------------------------------------------------------- purchase (messages 150–180, issue 4)

/** A JWS in general JSON serialization, bounded; its checks are verifyDocument's (src/protocol/jws.ts). */
const Jws = JwsGeneral;

/**
 * POST /v1/money-reception (message 150): the merchant's invoice countersigned
 * by the purchaser, and a money reception request document signed by the same
 * purchaser key (it names this payment server and the time, so it cannot be
 * replayed elsewhere). Answer 160: the signed money reception response.
 */
export const MoneyReceptionCall = z.strictObject({ invoice: Jws, request: Jws });
export type MoneyReceptionCall = z.infer<typeof MoneyReceptionCall>;

export const PAY_ECASH_LABEL = 'quittance/pay-ecash/v1';

export const EcashPaymentBody = z.strictObject({
  /** Document hash of the merchant-signed invoice (the payload both signatures cover). */
  invoiceHash: Sha256B64u,
  transactionId: z.string().min(1).max(64),
  merchantId: z.string().min(1).max(64),
  /** The invoice amount: what the merchant receives. */
  amount: AmountString,
  coins: coinList(Coin),
  /** Blinded envelopes for change: coins' value − amount, in fresh coins. Empty when the coins match exactly. */
  change: z
    .array(Envelope)
    .max(MAX_ENVELOPES)
    .refine((es) => distinct(es, (e) => e.blindedMessage), 'change: the same envelope twice'),
});
export type EcashPaymentBody = z.infer<typeof EcashPaymentBody>;

/** POST /v1/payments/ecash (message 170): every coin signs the whole body (ecashPaymentSigningBytes). */
export const EcashPaymentRequest = EcashPaymentBody.extend({ coins: coinList(SpentCoin) });
export type EcashPaymentRequest = z.infer<typeof EcashPaymentRequest>;

/**
 * What every coin's key signs for a payment: invoice hash, transaction,
 * merchant, amount, all coins and all change envelopes. A coin's signature
 * can therefore not be moved to another invoice or merchant, and nobody on
 * the way can swap the change envelopes for their own.
 */
export function ecashPaymentSigningBytes(body: EcashPaymentBody): Uint8Array<ArrayBuffer> {
  return signingBytes(PAY_ECASH_LABEL, {
    invoiceHash: body.invoiceHash,
    transactionId: body.transactionId,
    merchantId: body.merchantId,
    amount: body.amount,
    coins: body.coins.map((c) => ({ coinPub: c.coinPub, denominationId: c.denominationId, denominationSignature: c.denominationSignature })),
    change: body.change.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage })),
  });
}

/** Answer 180: the signed receipt (fig. 7) and one blind signature per change envelope. */
export const EcashPaymentResponse = z.strictObject({ receipt: Jws, changeSignatures: z.array(RsaSignature).max(MAX_ENVELOPES) });
export type EcashPaymentResponse = z.infer<typeof EcashPaymentResponse>;

// ---------------------------------------------------------------- purses (mode `account`)

export const PURSE_REGISTRATION_LABEL = 'quittance/purse-registration/v1';
export const PAY_ACCOUNT_LABEL = 'quittance/pay-account/v1';

/**
 * POST /v1/purses: the purse registration document (documents/purse-registration.ts),
 * signed by the shopper's certified key, and the purse key's own signature
 * over the same binding (purseRegistrationSigningBytes).
 */
export const PurseRegistrationCall = z.strictObject({ registration: Jws, purseSignature: Ed25519Signature });
export type PurseRegistrationCall = z.infer<typeof PurseRegistrationCall>;

/** What the purse key signs to be bound to a party at one payment server. */
export function purseRegistrationSigningBytes(binding: { partyId: string; purseKey: string; paymentServerId: string }): Uint8Array<ArrayBuffer> {
  return signingBytes(PURSE_REGISTRATION_LABEL, { partyId: binding.partyId, purseKey: binding.purseKey, paymentServerId: binding.paymentServerId });
}

/** Answer of POST /v1/purses (201 the first time, 200 with the same view when repeated). */
export const PurseView = z.strictObject({
  purseKey: Ed25519PublicKey,
  partyId: z.string(),
  registeredAt: z.string(),
});
export type PurseView = z.infer<typeof PurseView>;

export const AccountPaymentBody = z.strictObject({
  invoiceHash: Sha256B64u,
  transactionId: z.string().min(1).max(64),
  merchantId: z.string().min(1).max(64),
  amount: AmountString,
  /** The purse debited: registered to the invoice's purchaser. */
  purseKey: Ed25519PublicKey,
});
export type AccountPaymentBody = z.infer<typeof AccountPaymentBody>;

/** POST /v1/payments/account (message 170, mode account): the purse key signs the whole body. */
export const AccountPaymentRequest = AccountPaymentBody.extend({ purseSignature: Ed25519Signature });
export type AccountPaymentRequest = z.infer<typeof AccountPaymentRequest>;

export function accountPaymentSigningBytes(body: AccountPaymentBody): Uint8Array<ArrayBuffer> {
  return signingBytes(PAY_ACCOUNT_LABEL, { invoiceHash: body.invoiceHash, transactionId: body.transactionId, merchantId: body.merchantId, amount: body.amount, purseKey: body.purseKey });
}

/** Answer 180 in mode account: the signed receipt (fig. 7). */
export const AccountPaymentResponse = z.strictObject({ receipt: Jws });
export type AccountPaymentResponse = z.infer<typeof AccountPaymentResponse>;

// ---------------------------------------------------------------- refunds (messages 1150 → 1220, issue 5)

/**
 * POST /v1/repayments (messages 1150 + 1170 in one request): the permit (1140)
 * countersigned by the recipient, the remittance request signed by the same
 * key, and (mode ecash) the blinded envelopes whose remittanceEnvelopesHash
 * the request names, summing to the permit's amount. Answer 1160/1180
 * (201 the first time, 200 with the same content when repeated):
 * `RemittanceAnswer`.
 */
export const RemittanceCall = z.strictObject({
  permit: Jws,
  request: Jws,
  envelopes: z
    .array(Envelope)
    .max(MAX_ENVELOPES)
    .refine((es) => distinct(es, (e) => e.blindedMessage), 'envelopes: the same envelope twice'),
});
export type RemittanceCall = z.infer<typeof RemittanceCall>;

/** The signed repayment state (`remitted`) and, mode ecash, one blind signature per envelope in order. */
export const RemittanceAnswer = z.strictObject({ state: Jws, blindSignatures: z.array(RsaSignature).max(MAX_ENVELOPES) });
export type RemittanceAnswer = z.infer<typeof RemittanceAnswer>;

export const REMITTANCE_ENVELOPES_LABEL = 'quittance/remittance-envelopes/v1';

/** What the remittance request's `envelopesHash` commits to: base64url SHA-256 of `quittance/remittance-envelopes/v1 ‖ 0x00 ‖ RFC 8785([{denominationId, blindedMessage}, …])`. */
export async function remittanceEnvelopesHash(envelopes: readonly Envelope[]): Promise<string> {
  const bytes = signingBytes(REMITTANCE_ENVELOPES_LABEL, envelopes.map((e) => ({ denominationId: e.denominationId, blindedMessage: e.blindedMessage })));
  return encodeBase64url(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/** POST /v1/repayments/:permitId/receipt (1190): the recipient's signed repayment receipt. Answer 1200: `RepaymentStateAnswer` (`completed`). */
export const RepaymentReceiptCall = z.strictObject({ receipt: Jws });
export type RepaymentReceiptCall = z.infer<typeof RepaymentReceiptCall>;

/** GET /v1/repayments/:shopId/:permitId (1210 → 1220), and the answer to 1190: the signed repayment state. */
export const RepaymentStateAnswer = z.strictObject({ state: Jws });
export type RepaymentStateAnswer = z.infer<typeof RepaymentStateAnswer>;
