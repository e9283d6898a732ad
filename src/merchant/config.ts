// The merchant server's configuration file (`DIR/merchant.json`), parsed once at
// start-up with a schema: a bad value stops the process with the path of the bad field.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AmountString, parseAmount } from '../protocol/amount.ts';
import { HttpUrl, ShortId, Text } from '../protocol/documents/fields.ts';

export const MAX_ARTICLES = 1000;

export const Article = z.strictObject({
  /** The article number the order lines carry, e.g. "ARTICLE A" is shown; the id is what is signed. */
  id: ShortId,
  /** The name every order line must repeat exactly (what the shopper was shown). */
  name: Text(200),
  unitPrice: AmountString.refine((s) => {
    const a = parseAmount(s);
    return a.ok && a.value.minor > 0n;
  }, 'unitPrice: more than zero'),
  /**
   * Units to sell; absent means unlimited. Units in paid orders are counted in
   * the database (merchant_stock_sold) and taken off this; orders above what
   * is left are refused.
   */
  stock: z.number().int().min(0).max(1_000_000_000).optional(),
});
export type Article = z.infer<typeof Article>;

export const MerchantConfig = z
  .strictObject({
    /** The shop's name for operators (documents carry the certificate's display name). */
    name: z.string().min(1).max(128),
    /** SHA-256 (hex) of each accepted operator token. Tokens themselves are never stored. */
    adminTokenHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(16),
    /** Database URL; a relative sqlite path is relative to the data directory. */
    db: z.string().min(1).default('sqlite:merchant.sqlite'),
    /**
     * The shop's public address for the hello response (120). Absent: the
     * address the request came to (scheme and Host header).
     */
    url: HttpUrl.optional(),
    /**
     * The shopper's wallet page the storefront (/shop/) hands its payment URI to,
     * as WALLET_URL#pay=<URI> (the wallet daemon, `quittance wallet serve`, on the shopper's machine).
     */
    walletUrl: HttpUrl.default('http://127.0.0.1:7005/'),
    /** The payment server named in every invoice; its chain is DIR/payment-server-chain.pem. */
    paymentServer: z.strictObject({ url: HttpUrl }).optional(),
    /** The CA's base URL: its CRL (GET /v1/ca/crl) is checked for every certified order. Absent: no revocation check. */
    caUrl: HttpUrl.optional(),
    /** Invoice windows: paymentDueTime = billTime + this; refundDeadline = billTime + refundDays. */
    paymentDueMinutes: z.number().int().min(1).max(7 * 24 * 60).default(30),
    refundDays: z.number().int().min(0).max(3650).default(30),
    /**
     * Refunds (1110 → 1140): a repayment permit can be collected at the
     * payment server until permissionTime + this many days (its dueTime).
     */
    refundPermitDays: z.number().int().min(1).max(365).default(7),
    /**
     * true: a repayment request is answered 202 awaiting-approval and its
     * permit is signed only when an operator approves it (`merchant
     * approve-refund`, POST /v1/admin/orders/:tx/repayments/:requestId/approve).
     */
    refundsNeedApproval: z.boolean().default(false),
    /**
     * `merchant serve` asks the payment server about unpaid orders every this
     * many seconds, so an order is settled when the shopper's client dies
     * after paying (DESIGN §2). 0: no sweep (POST /v1/admin/orders/:tx/refresh still works).
     */
    settleSweepSeconds: z.number().int().min(0).max(3600).default(10),
    /** How long after its paymentDueTime an unpaid order is still asked about. */
    settleMarginMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
    /** `merchant serve` sends due webhook deliveries every this many seconds (webhook-delivery.ts). 0: none are sent. */
    webhookSweepSeconds: z.number().int().min(0).max(3600).default(5),
    /**
     * `merchant serve` fetches the payment server's settlement reports every
     * this many seconds, so settlement.paid fires without an operator
     * (settlement-watch.ts). 0: only `merchant settlements` fetches them.
     */
    settlementWatchSeconds: z.number().int().min(0).max(24 * 3600).default(60),
    /** Shop API (POST /v1/shop/orders): an offer can be taken by an order until createdAt + this. */
    offerTtlMinutes: z.number().int().min(1).max(30 * 24 * 60).default(60),
    catalogue: z.strictObject({
      articles: z.array(Article).min(1).max(MAX_ARTICLES),
      /** Selling conditions as shown to shoppers; the SHA-256 of their UTF-8 bytes goes into every invoice. */
      sellingConditions: z.string().min(1).max(64 * 1024),
    }),
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    let currency: string | undefined;
    for (const [i, a] of c.catalogue.articles.entries()) {
      if (ids.has(a.id)) ctx.addIssue({ code: 'custom', path: ['catalogue', 'articles', i, 'id'], message: `article ${a.id} listed twice` });
      ids.add(a.id);
      const p = parseAmount(a.unitPrice);
      if (!p.ok) continue;
      // An order's lines are in one currency (fields.ts checkLinesTotal), so is the shop.
      currency ??= p.value.currency;
      if (p.value.currency !== currency) ctx.addIssue({ code: 'custom', path: ['catalogue', 'articles', i, 'unitPrice'], message: `every article is priced in one currency (${currency})` });
    }
  });
export type MerchantConfig = z.infer<typeof MerchantConfig>;

/** The catalogue the demo sells (DESIGN's "Tokyo On-line Mail Order Dealer"). */
export const DEFAULT_CATALOGUE: MerchantConfig['catalogue'] = {
  articles: [
    { id: 'ARTICLE-A', name: 'ARTICLE A', unitPrice: 'JPY:1000' },
    { id: 'ARTICLE-B', name: 'ARTICLE B', unitPrice: 'JPY:2000' },
    { id: 'ARTICLE-C', name: 'ARTICLE C', unitPrice: 'JPY:1500' },
    { id: 'ARTICLE-D', name: 'ARTICLE D', unitPrice: 'JPY:500' },
  ],
  sellingConditions:
    'Prices include consumption tax. Goods are shipped within 3 business days of payment. ' +
    'A refund may be asked for until the refund deadline on the invoice; it is paid to the purchaser who signed the order.',
};

/** SHA-256 of the selling conditions' UTF-8 bytes, base64url: the invoice's sellingConditionsHash. */
export function sellingConditionsHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}
