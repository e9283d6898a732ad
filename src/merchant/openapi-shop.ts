// The shop integration API (routes/shop.ts, routes/offers.ts) as OpenAPI
// route descriptions, for src/merchant/openapi.ts to list with the others
// (its `route` builder must then allow the 'apiKey' security scheme).
import { media, routeBuilder, type SecurityScheme } from '../http/openapi.ts';
import { CreatedShopOrder, CreateShopOrder, OfferView, ShopOrderListQuery, ShopRefundCall } from '../protocol/messages/shop.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import { OfferParams as PublicOfferParams } from './routes/offers.ts';
import { OfferParams } from './routes/shop.ts';

const route = routeBuilder<MerchantHttpErrorCode, 'operatorToken' | 'apiKey'>();
const apiKey = ['apiKey'] as const;

export const SHOP_API_KEY_SCHEME: SecurityScheme = {
  type: 'http',
  scheme: 'bearer',
  description: 'An API key of the shop backend, qk_<id>_<secret> (`quittance merchant api-key create`); only its SHA-256 is stored',
};

const KEY_CODES = ['MERCHANT_API_KEY_INVALID', 'MERCHANT_API_KEY_REVOKED'] as const;
const IDEMPOTENCY_CODES = ['MERCHANT_IDEMPOTENCY_KEY_INVALID', 'MERCHANT_IDEMPOTENCY_MISMATCH', 'MERCHANT_IDEMPOTENCY_IN_FLIGHT'] as const;
const IDEMPOTENCY =
  'Optional header `Idempotency-Key` (1-255 printable ASCII): the same key and request within 24 hours answer the first answer again with `idempotent-replay: true`.';

export const shopApiRoutes = [
  route('GET', '/v1/offers/:offerId', 'A shop API offer, for the wallet to order exactly its lines (public: offer ids are 128 random bits)', {
    tags: ['shop API'],
    params: PublicOfferParams,
    ok: { 200: { OfferView } },
    codes: ['MERCHANT_OFFER_NOT_FOUND'],
  }),
  route('POST', '/v1/shop/orders', "An offer of lines priced by the shop's backend; answers its payment URI", {
    description: IDEMPOTENCY,
    tags: ['shop API'],
    security: apiKey,
    body: { CreateShopOrder },
    ok: { 201: { CreatedShopOrder } },
    codes: [...KEY_CODES, ...IDEMPOTENCY_CODES, 'MERCHANT_OFFER_CURRENCY_UNSUPPORTED'],
  }),
  route('GET', '/v1/shop/orders', 'Offers, newest first, with the payment state of the order that took each; paged by cursor', {
    tags: ['shop API'],
    security: apiKey,
    query: ShopOrderListQuery,
    ok: { 200: media('application/json', '{ orders: […], nextCursor? }: each offer with its state, lines, payment URI and order') },
    codes: [...KEY_CODES],
  }),
  route('GET', '/v1/shop/orders/:offerId', "One offer, the payment state of the order that took it, and that order's refunds", {
    tags: ['shop API'],
    security: apiKey,
    params: OfferParams,
    ok: { 200: media('application/json', '{ offerId, state, lines, amount, paymentUri, …, order?, refunds }') },
    codes: [...KEY_CODES, 'MERCHANT_OFFER_NOT_FOUND'],
  }),
  route('POST', '/v1/shop/orders/:offerId/refunds', "Approve the refund requests of the offer's order that await approval", {
    description: IDEMPOTENCY,
    tags: ['shop API'],
    security: apiKey,
    params: OfferParams,
    body: { ShopRefundCall },
    ok: { 200: media('application/json', '{ offerId, transactionId, approved: [RepaymentAnswer…], failed: […], refunds: […] }') },
    codes: [
      ...KEY_CODES,
      ...IDEMPOTENCY_CODES,
      'MERCHANT_OFFER_NOT_FOUND',
      'MERCHANT_REPAYMENT_NOT_ALLOWED',
      'MERCHANT_REPAYMENT_NOT_FOUND',
      'MERCHANT_REPAYMENT_ALREADY_DECIDED',
      'MERCHANT_REFUND_NONE_AWAITING',
      'MERCHANT_REFUND_AMOUNT_MISMATCH',
    ],
  }),
];
