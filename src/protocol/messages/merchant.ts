// Wire messages of the merchant server (messages 110–140, 210 → 190/220 and
// the catalogue), shared by the merchant server and the wallet.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { JwsGeneral, Nonce, PaymentMode, Rfc3339Utc, Sha256B64u, ShortId } from '../documents/fields.ts';
import { DisplayName, PartyId } from '../identity.ts';

/** POST /v1/hello (message 110). The answer is the signed hello response (120) itself. */
export const HelloRequest = z.strictObject({ nonce: Nonce });
export type HelloRequest = z.infer<typeof HelloRequest>;

/** POST /v1/orders (message 130): the order signed by the shopper. */
export const OrderRequest = z.strictObject({ order: JwsGeneral });
export type OrderRequest = z.infer<typeof OrderRequest>;

/**
 * Answer 140, the payment request: the merchant-signed invoice and the chain
 * (PEM, leaf first) of the payment server it names, so the wallet can check
 * the answers 160 and 180 with that server's certified key.
 */
export const PaymentRequest = z.strictObject({
  transactionId: ShortId,
  invoice: JwsGeneral,
  paymentServerChain: z.array(z.string().max(16 * 1024)).min(1).max(5),
});
export type PaymentRequest = z.infer<typeof PaymentRequest>;

/** GET /v1/catalogue. Unsigned: what binds the shop is the invoice it signs. */
export const CatalogueView = z.strictObject({
  merchant: z.strictObject({ id: PartyId, name: DisplayName }),
  articles: z.array(
    z.strictObject({ id: ShortId, name: z.string(), unitPrice: AmountString, stock: z.number().int().min(0).optional() }),
  ),
  paymentModes: z.array(PaymentMode),
  sellingConditions: z.strictObject({ text: z.string(), hash: Sha256B64u }),
});
export type CatalogueView = z.infer<typeof CatalogueView>;

/** POST /v1/orders/:transactionId/receipt (message 210): the shopper's copy of the payment server's receipt (180). */
export const ReceiptCopy = z.strictObject({ receipt: JwsGeneral });
export type ReceiptCopy = z.infer<typeof ReceiptCopy>;

/** Answer 190: the completion signed by the shop. A repeated receipt is answered with the same completion. */
export const CompletionResponse = z.strictObject({ transactionId: ShortId, completion: JwsGeneral });
export type CompletionResponse = z.infer<typeof CompletionResponse>;

/**
 * Answer 220: a refused receipt. The usual error body, plus the same refusal
 * as a document signed by the shop (SignedError), so the refusal is evidence.
 */
export const ReceiptRefusal = z.strictObject({
  code: z.string(),
  message: z.string(),
  details: z.unknown().optional(),
  signedError: JwsGeneral,
});
export type ReceiptRefusal = z.infer<typeof ReceiptRefusal>;

/**
 * What the merchant reads from its payment server to settle an order without
 * the shopper (GET /v1/payments/:shopId/:transactionId). `state` is open-ended
 * on purpose: only PAID with a receipt settles anything, and the receipt is
 * checked exactly like the shopper's copy.
 */
export const PaymentStateAnswer = z.strictObject({
  shopId: PartyId,
  transactionId: ShortId,
  state: z.string().regex(/^[A-Z][A-Z_]{0,31}$/),
  amount: AmountString,
  invoiceHash: Sha256B64u,
  paidAt: Rfc3339Utc.optional(),
  receipt: JwsGeneral.optional(),
  /** Once paid: the part refunded (1150 → 1180); refunded in full, the state is REPAYMENT_COMPLETION. */
  refunded: AmountString.optional(),
});
export type PaymentStateAnswer = z.infer<typeof PaymentStateAnswer>;

// ---------------------------------------------------------------- refunds (messages 1110 → 1140, issue 5)

/**
 * POST /v1/orders/:transactionId/repayments (message 1110): the repayment
 * request signed by the key that signed the order. The same request again
 * (same requestId and body) gets the same answer; the same requestId with
 * another body is MERCHANT_REQUEST_CONFLICT.
 */
export const RepaymentRequestCall = z.strictObject({ request: JwsGeneral });
export type RepaymentRequestCall = z.infer<typeof RepaymentRequestCall>;

/**
 * Answer 1140 (201 first time, 200 after), and GET
 * /v1/orders/:transactionId/repayments/:requestId: `permitted` carries the
 * merchant-signed permit; `awaiting-approval` (202) when the shop's operator
 * must approve refunds first (poll this GET); `refused` with the operator's reason.
 */
export const RepaymentAnswer = z.strictObject({
  requestId: ShortId,
  transactionId: ShortId,
  state: z.enum(['awaiting-approval', 'permitted', 'refused']),
  permit: JwsGeneral.optional(),
  reason: z.string().max(500).optional(),
});
export type RepaymentAnswer = z.infer<typeof RepaymentAnswer>;
