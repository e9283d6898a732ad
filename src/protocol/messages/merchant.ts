// Wire messages of the merchant server (messages 110–140 and the catalogue),
// shared by the merchant server and the wallet.
import { z } from 'zod';
import { AmountString } from '../amount.ts';
import { JwsGeneral, Nonce, PaymentMode, Sha256B64u, ShortId } from '../documents/fields.ts';
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
