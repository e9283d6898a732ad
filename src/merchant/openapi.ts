// The merchant server's HTTP API as OpenAPI 3.1 (GET /openapi.json), built
// from the schemas its routes validate with. A new route is one more
// `route(…)` entry here (how: src/http/openapi.ts); test/http/openapi.test.ts
// fails until it is.
import { lazyDocument, media, openApiDocument, routeBuilder } from '../http/openapi.ts';
import { JwsGeneral } from '../protocol/documents/index.ts';
import {
  CatalogueView,
  CompletionResponse,
  HelloRequest,
  OrderRequest,
  PaymentRequest,
  PaymentStateAnswer,
  ReceiptCopy,
  ReceiptRefusal,
  RepaymentAnswer,
  RepaymentRequestCall,
} from '../protocol/messages/merchant.ts';
import { RepaymentStateAnswer } from '../protocol/messages/payment.ts';
import { MERCHANT_STATUS, type MerchantHttpErrorCode } from './errors.ts';
import { shopApiRoutes, SHOP_API_KEY_SCHEME } from './openapi-shop.ts';
import { ListQuery, OrderParams as AdminOrderParams, RefundQuery, RefuseBody, RequestParams as AdminRequestParams } from './routes/admin.ts';
import { ReceiptParams } from './routes/receipts.ts';
import { OrderParams, RequestParams } from './routes/repayments.ts';

const route = routeBuilder<MerchantHttpErrorCode, 'operatorToken' | 'apiKey'>();
const operator = ['operatorToken'] as const;

// What checking the payment server's signed receipt can refuse (receipts.ts).
const RECEIPT_CODES = [
  'MERCHANT_CRL_UNAVAILABLE',
  'MERCHANT_RECEIPT_SIGNATURE_INVALID',
  'MERCHANT_RECEIPT_WRONG_PAYMENT_SERVER',
  'MERCHANT_RECEIPT_INVALID',
  'MERCHANT_RECEIPT_MISMATCH',
] as const;
// What asking the payment server about a refund can refuse (repayment-state.ts).
const REPAYMENT_STATE_CODES = ['MERCHANT_CRL_UNAVAILABLE', 'MERCHANT_PAYMENT_SERVER_UNREACHABLE', 'MERCHANT_REPAYMENT_STATE_INVALID', 'MERCHANT_REPAYMENT_STATE_MISMATCH'] as const;

export const merchantRoutes = [
  route('GET', '/v1/catalogue', 'The articles, prices, stock left, payment modes and selling conditions (with their hash)', {
    tags: ['purchase'],
    ok: { 200: { CatalogueView } },
  }),
  route('POST', '/v1/hello', "Messages 110 → 120: the wallet's nonce, answered signed with the shop's certificate (a JWS)", {
    tags: ['purchase'],
    body: { HelloRequest },
    ok: { 200: { JwsGeneral } },
  }),
  route('POST', '/v1/orders', "Messages 130 → 140: the shopper's signed order; answers the signed invoice and the payment server's chain", {
    description: '201 the first time; the same signed order again: 200 with the same invoice and `idempotent-replay: true`.',
    tags: ['purchase'],
    body: { OrderRequest },
    ok: { 201: { PaymentRequest }, 200: { PaymentRequest } },
    codes: [
      'MERCHANT_PAYMENT_SERVER_UNSET',
      'MERCHANT_CRL_UNAVAILABLE',
      'MERCHANT_ORDER_SIGNATURE_INVALID',
      'MERCHANT_ORDER_INVALID',
      'MERCHANT_PURCHASER_MISMATCH',
      'MERCHANT_NOT_THIS_SHOP',
      'MERCHANT_PAYMENT_MODE_UNSUPPORTED',
      'MERCHANT_SELLING_CONDITIONS_MISMATCH',
      'MERCHANT_ARTICLE_UNKNOWN',
      'MERCHANT_ARTICLE_NAME_MISMATCH',
      'MERCHANT_PRICE_MISMATCH',
      'MERCHANT_OUT_OF_STOCK',
      'MERCHANT_ORDER_CONFLICT',
    ],
  }),
  route('POST', '/v1/orders/:transactionId/receipt', "Messages 210 → 190/220: the shopper's copy of the receipt; answers the shop's signed completion", {
    description: 'Every refusal once the transaction id is known (a body that is not a receipt copy included) carries the refusal signed by the shop (`signedError`, message 220).',
    tags: ['purchase'],
    params: ReceiptParams,
    body: { ReceiptCopy },
    ok: { 200: { CompletionResponse } },
    errorBody: { ReceiptRefusal },
    codes: ['HTTP_SCHEMA_INVALID', 'MERCHANT_ORDER_NOT_FOUND', ...RECEIPT_CODES],
  }),
  route('POST', '/v1/orders/:transactionId/repayments', 'Messages 1110 → 1140: a refund request signed by the key that signed the order; answers the signed permit', {
    description: '201 with the permit; 202 while the operator must approve it (poll the GET); the same request again: 200 with the same answer and `idempotent-replay: true`.',
    tags: ['refund'],
    params: OrderParams,
    body: { RepaymentRequestCall },
    ok: { 201: { RepaymentAnswer }, 202: { RepaymentAnswer }, 200: { RepaymentAnswer } },
    codes: [
      'MERCHANT_ORDER_NOT_FOUND',
      'MERCHANT_CRL_UNAVAILABLE',
      'MERCHANT_REPAYMENT_SIGNATURE_INVALID',
      'MERCHANT_PURCHASER_MISMATCH',
      'MERCHANT_REPAYMENT_INVALID',
      'MERCHANT_REPAYMENT_MISMATCH',
      'MERCHANT_NOT_THIS_SHOP',
      'MERCHANT_REQUEST_CONFLICT',
      'MERCHANT_REPAYMENT_NOT_ALLOWED',
      'MERCHANT_REFUND_DEADLINE_PASSED',
      'MERCHANT_REFUND_EXCEEDS_PAYMENT',
    ],
  }),
  route('GET', '/v1/orders/:transactionId/repayments/:requestId', 'A refund request as it stands (the wallet polls it while it awaits approval)', {
    tags: ['refund'],
    params: RequestParams,
    ok: { 200: { RepaymentAnswer } },
    codes: ['MERCHANT_REPAYMENT_NOT_FOUND'],
  }),
  route('GET', '/v1/admin/orders', 'Orders (fig. 11), newest first', {
    tags: ['operator'],
    security: operator,
    query: ListQuery,
    ok: { 200: media('application/json', '{ orders: […] }: each order with its payment and refund state') },
  }),
  route('GET', '/v1/admin/orders/:transactionId', 'One order with its lines (fig. 12), documents and refunds', {
    tags: ['operator'],
    security: operator,
    params: AdminOrderParams,
    ok: { 200: media('application/json', 'The order, its lines, signed documents and refunds') },
    codes: ['MERCHANT_ORDER_NOT_FOUND'],
  }),
  route('POST', '/v1/admin/orders/:transactionId/refresh', 'Ask the payment server now and settle the order if it was paid', {
    tags: ['operator'],
    security: operator,
    params: AdminOrderParams,
    ok: { 200: media('application/json', '{ transactionId, paymentState, paymentServerState?, completion? }') },
    codes: ['MERCHANT_ORDER_NOT_FOUND', 'MERCHANT_PAYMENT_SERVER_UNREACHABLE', ...RECEIPT_CODES],
  }),
  route('GET', '/v1/admin/settlements', "The payment server's settlement reports stored by this shop (payouts to its bank account), oldest first", {
    tags: ['operator'],
    security: operator,
    ok: { 200: media('application/json', '{ settlements: [{ settlementId, amount, payoutAccount, time, items }] }') },
  }),
  route('GET', '/v1/admin/repayments', 'Refund requests, optionally by state or order', {
    tags: ['operator'],
    security: operator,
    query: RefundQuery,
    ok: { 200: media('application/json', '{ repayments: […] }: each refund request with its state and amount') },
  }),
  route('POST', '/v1/admin/orders/:transactionId/repayments/refresh', "Ask the payment server about the order's permits and record what it signed", {
    tags: ['operator'],
    security: operator,
    params: AdminOrderParams,
    ok: { 200: media('application/json', "{ transactionId, state, refunded, refunds: […] }: the order's refunds after the refresh") },
    codes: ['MERCHANT_ORDER_NOT_FOUND', ...REPAYMENT_STATE_CODES],
  }),
  route('POST', '/v1/admin/orders/:transactionId/repayments/:requestId/approve', 'Approve a refund request: the permit is signed', {
    tags: ['operator'],
    security: operator,
    params: AdminRequestParams,
    ok: { 200: { RepaymentAnswer } },
    codes: ['MERCHANT_REPAYMENT_NOT_FOUND', 'MERCHANT_REPAYMENT_ALREADY_DECIDED'],
  }),
  route('POST', '/v1/admin/orders/:transactionId/repayments/:requestId/refuse', 'Refuse a refund request, with a reason the shopper sees', {
    tags: ['operator'],
    security: operator,
    params: AdminRequestParams,
    body: { RefuseBody },
    ok: { 200: { RepaymentAnswer } },
    codes: ['MERCHANT_REPAYMENT_NOT_FOUND', 'MERCHANT_REPAYMENT_ALREADY_DECIDED'],
  }),
  route('POST', '/v1/notifications/payment-state', "The payment server's unasked payment state; its signed receipt settles the order as the shopper's copy would (210)", {
    description: 'Anyone may post: only the receipt signed by the payment server the invoice named is believed. 200 when recorded or already known; a 4xx tells the payment server not to retry.',
    tags: ['notifications'],
    body: { PaymentStateAnswer },
    ok: { 200: media('application/json', '{transactionId, paymentState: UNPAID | PAID}') },
    codes: ['MERCHANT_NOT_THIS_SHOP', 'MERCHANT_ORDER_NOT_FOUND', ...RECEIPT_CODES],
  }),
  route('POST', '/v1/notifications/repayment-state', "Message 1220 unasked: the payment server's signed repayment state, checked exactly as an asked-for one", {
    description: 'Anyone may post: a forged or altered state is refused (422 MERCHANT_NOTIFICATION_REFUSED) and records nothing; the same state twice records once.',
    tags: ['notifications'],
    body: { RepaymentStateAnswer },
    ok: { 200: media('application/json', '{refund}: the refund as recorded') },
    codes: ['MERCHANT_CRL_UNAVAILABLE', 'MERCHANT_REPAYMENT_NOT_FOUND', 'MERCHANT_REPAYMENT_STATE_INVALID', 'MERCHANT_NOTIFICATION_REFUSED'],
  }),
  ...shopApiRoutes,
];

export const merchantOpenApi = lazyDocument(() =>
  openApiDocument({
    title: 'Quittance merchant server',
    description: "The shop's ordering management server: catalogue, selling conditions, orders, signed invoices, receipt checks, refund permits.",
    statusOf: MERCHANT_STATUS,
    securitySchemes: {
      operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token whose SHA-256 is in merchant.json (adminTokenHashes)' },
      apiKey: SHOP_API_KEY_SCHEME,
    },
    routes: merchantRoutes,
  }),
);
