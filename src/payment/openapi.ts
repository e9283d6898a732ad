// The payment server's HTTP API as OpenAPI 3.1 (GET /openapi.json), built from
// the schemas its routes validate with. A new route is one more `route(…)`
// entry here (how: src/http/openapi.ts); test/http/openapi.test.ts fails until it is.
import { lazyDocument, media, openApiDocument, routeBuilder } from '../http/openapi.ts';
import { JwsGeneral, SettlementQueryCall, SettlementReportsAnswer } from '../protocol/documents/index.ts';
import { PaymentStateAnswer } from '../protocol/messages/merchant.ts';
import {
  AccountPaymentRequest,
  AccountPaymentResponse,
  BlindSignaturesResponse,
  CoinStateView,
  EcashPaymentRequest,
  EcashPaymentResponse,
  MoneyReceptionCall,
  PurseRegistrationCall,
  PurseView,
  RemittanceAnswer,
  RemittanceCall,
  RepaymentReceiptCall,
  RepaymentStateAnswer,
  ReserveQuery,
  ReserveView,
  SwapRequest,
  WithdrawRequest,
} from '../protocol/messages/payment.ts';
import { AdminDenominationsAnswer, AdminNotificationsAnswer, AdminPaymentsAnswer, AdminReservesAnswer, AdminSettlementsAnswer, DenominationsQuery, NotificationsQuery, PageQuery } from './admin-views.ts';
import { PAY_STATUS, type PayHttpErrorCode } from './errors.ts';
import { AdminMerchantsAnswer, AuditAnswer, EmptyQuery } from './routes/admin.ts';
import { CoinParams } from './routes/coins.ts';
import { PaymentParams } from './routes/purchase.ts';
import { PermitParams, RepaymentParams } from './routes/repayments.ts';
import { ReserveParams } from './routes/reserves.ts';
import { RunBody } from './routes/settlements.ts';
import { WithdrawParams } from './routes/withdraw.ts';

const route = routeBuilder<PayHttpErrorCode, 'operatorToken'>();

// What issuing blind signatures against envelopes can refuse (envelopes.ts, denominations.ts).
const ENVELOPE_CODES = ['PAY_DENOMINATION_UNKNOWN', 'PAY_DENOMINATION_NOT_WITHDRAWABLE', 'PAY_CURRENCY_MISMATCH', 'PAY_ENVELOPE_INVALID', 'PAY_ENVELOPE_REUSED'] as const;
// What spending coins can refuse (coins.ts).
const COIN_CODES = ['PAY_DENOMINATION_UNKNOWN', 'PAY_DENOMINATION_NOT_DEPOSITABLE', 'PAY_CURRENCY_MISMATCH', 'PAY_COIN_FORGED', 'PAY_COIN_SIGNATURE_INVALID', 'PAY_COIN_SPENT'] as const;
// A signed document checked against this server's CA (money-reception.ts verifyUnderOurCa).
const DOCUMENT_CODES = ['PAY_DOCUMENT_SIGNATURE_INVALID', 'PAY_DOCUMENT_INVALID'] as const;
const REPLAYED = '201 the first time; the same request again: 200 with the same answer and `idempotent-replay: true`.';

export const paymentRoutes = [
  route('GET', '/v1/keys', 'The denomination keys and loading accounts, signed by the payment server (a JWS)', {
    tags: ['e-money'],
    ok: { 200: { JwsGeneral } },
  }),
  route('GET', '/v1/loading', 'Where to send money to load a reserve', {
    tags: ['e-money'],
    ok: { 200: media('application/json', '{ accounts: LoadingAccount[] }: the bank account to pay into, per currency') },
    codes: ['PAY_LOADING_UNAVAILABLE'],
  }),
  route('GET', '/v1/reserves/:reservePub', 'A reserve; long-polls up to `wait` seconds until at least `credited` has arrived', {
    tags: ['e-money'],
    params: ReserveParams,
    query: ReserveQuery,
    ok: { 200: { ReserveView } },
    rateLimited: true,
    codes: ['PAY_RESERVE_UNKNOWN'],
  }),
  route('POST', '/v1/reserves/:reservePub/withdraw', 'Withdraw coins: blind signatures on envelopes, signed by the reserve key', {
    description: REPLAYED,
    tags: ['e-money'],
    params: WithdrawParams,
    body: { WithdrawRequest },
    ok: { 201: { BlindSignaturesResponse }, 200: { BlindSignaturesResponse } },
    codes: ['PAY_RESERVE_SIGNATURE_INVALID', 'PAY_RESERVE_UNKNOWN', 'PAY_RESERVE_INSUFFICIENT', 'PAY_REQUEST_CONFLICT', ...ENVELOPE_CODES],
  }),
  route('POST', '/v1/swap', 'Spend coins for fresh coins of the same total (change)', {
    description: REPLAYED,
    tags: ['e-money'],
    body: { SwapRequest },
    ok: { 201: { BlindSignaturesResponse }, 200: { BlindSignaturesResponse } },
    codes: ['PAY_SWAP_UNBALANCED', 'PAY_REQUEST_CONFLICT', ...COIN_CODES, ...ENVELOPE_CODES],
  }),
  route('GET', '/v1/coins/:coinPub', "A coin's state: spent or, as far as this server knows, unspent", {
    tags: ['e-money'],
    params: CoinParams,
    ok: { 200: { CoinStateView } },
  }),
  route('POST', '/v1/money-reception', 'Message 150 → 160: the invoice countersigned by the purchaser; answers the signed money reception response (a JWS)', {
    description: REPLAYED,
    tags: ['purchase'],
    body: { MoneyReceptionCall },
    ok: { 201: { JwsGeneral }, 200: { JwsGeneral } },
    codes: [
      ...DOCUMENT_CODES,
      'PAY_MERCHANT_NOT_ACCEPTED',
      'PAY_INVOICE_MISMATCH',
      'PAY_PURCHASER_MISMATCH',
      'PAY_PAYMENT_MODE_UNSUPPORTED',
      'PAY_CURRENCY_MISMATCH',
      'PAY_INVOICE_EXPIRED',
      'PAY_REQUEST_CONFLICT',
    ],
  }),
  route('POST', '/v1/payments/ecash', 'Message 170 → 180: pay an accepted invoice with coins; answers the signed receipt and change', {
    description: REPLAYED,
    tags: ['purchase'],
    body: { EcashPaymentRequest },
    ok: { 201: { EcashPaymentResponse }, 200: { EcashPaymentResponse } },
    codes: [
      'PAY_PAYMENT_UNKNOWN',
      'PAY_INVOICE_MISMATCH',
      'PAY_PAYMENT_MODE_UNSUPPORTED',
      'PAY_MERCHANT_NOT_ACCEPTED',
      'PAY_INVOICE_EXPIRED',
      'PAY_PAYMENT_UNBALANCED',
      'PAY_REQUEST_CONFLICT',
      ...COIN_CODES,
      ...ENVELOPE_CODES,
    ],
  }),
  route('POST', '/v1/payments/account', 'Message 170 → 180 in mode account: pay an accepted invoice from a purse; answers the signed receipt', {
    description: REPLAYED,
    tags: ['purchase'],
    body: { AccountPaymentRequest },
    ok: { 201: { AccountPaymentResponse }, 200: { AccountPaymentResponse } },
    codes: [
      'PAY_PURSE_SIGNATURE_INVALID',
      'PAY_PAYMENT_UNKNOWN',
      'PAY_INVOICE_MISMATCH',
      'PAY_PAYMENT_MODE_UNSUPPORTED',
      'PAY_MERCHANT_NOT_ACCEPTED',
      'PAY_INVOICE_EXPIRED',
      'PAY_PURSE_UNKNOWN',
      'PAY_PURCHASER_MISMATCH',
      'PAY_PURSE_INSUFFICIENT',
      'PAY_CURRENCY_MISMATCH',
      'PAY_REQUEST_CONFLICT',
    ],
  }),
  route('POST', '/v1/purses', "Register a purse key (mode account) to the shopper's certified identity", {
    description: REPLAYED,
    tags: ['purchase'],
    body: { PurseRegistrationCall },
    ok: { 201: { PurseView }, 200: { PurseView } },
    codes: [...DOCUMENT_CODES, 'PAY_PURCHASER_MISMATCH', 'PAY_PURSE_SIGNATURE_INVALID', 'PAY_PURSE_TAKEN'],
  }),
  route('GET', '/v1/payments/:shopId/:transactionId', "A payment's state and, once paid, its signed receipt (the shop settles from it)", {
    tags: ['purchase'],
    params: PaymentParams,
    ok: { 200: { PaymentStateAnswer } },
    codes: ['PAY_PAYMENT_UNKNOWN'],
  }),
  route('POST', '/v1/repayments', 'Messages 1150 + 1170 → 1160/1180: claim a refund with the countersigned permit; answers the signed state and fresh coins', {
    description: REPLAYED,
    tags: ['refund'],
    body: { RemittanceCall },
    ok: { 201: { RemittanceAnswer }, 200: { RemittanceAnswer } },
    codes: [
      ...DOCUMENT_CODES,
      'PAY_MERCHANT_NOT_ACCEPTED',
      'PAY_PERMIT_MISMATCH',
      'PAY_PURCHASER_MISMATCH',
      'PAY_PAYMENT_MODE_UNSUPPORTED',
      'PAY_PERMIT_USED',
      'PAY_PERMIT_EXPIRED',
      'PAY_PAYMENT_UNKNOWN',
      'PAY_PAYMENT_NOT_PAID',
      'PAY_PURSE_UNKNOWN',
      'PAY_REFUND_EXCEEDS_PAYMENT',
      'PAY_MERCHANT_BALANCE_INSUFFICIENT',
      ...ENVELOPE_CODES,
    ],
  }),
  route('POST', '/v1/repayments/:permitId/receipt', "Message 1190 → 1200: the recipient's signed repayment receipt; answers the signed state `completed`", {
    description: REPLAYED,
    tags: ['refund'],
    params: PermitParams,
    body: { RepaymentReceiptCall },
    ok: { 201: { RepaymentStateAnswer }, 200: { RepaymentStateAnswer } },
    codes: [...DOCUMENT_CODES, 'PAY_PERMIT_MISMATCH', 'PAY_REPAYMENT_UNKNOWN', 'PAY_PURCHASER_MISMATCH'],
  }),
  route('GET', '/v1/repayments/:shopId/:permitId', 'Messages 1210 → 1220: the signed state of a refund', {
    tags: ['refund'],
    params: RepaymentParams,
    ok: { 200: { RepaymentStateAnswer } },
    codes: ['PAY_REPAYMENT_UNKNOWN'],
  }),
  route('POST', '/v1/settlements/query', "A shop's signed query of its settlement reports; answers the signed reports", {
    tags: ['settlement'],
    body: { SettlementQueryCall },
    ok: { 200: { SettlementReportsAnswer } },
    codes: [...DOCUMENT_CODES, 'PAY_MERCHANT_NOT_ACCEPTED', 'PAY_SETTLEMENT_QUERY_INVALID'],
  }),
  route('POST', '/v1/admin/settlements/run', "Pay every merchant's takings (or one merchant's) to its bank account now", {
    tags: ['operator'],
    security: ['operatorToken'],
    body: { RunBody },
    optionalBody: true,
    ok: { 200: media('application/json', 'What the run did: settlements sent, failed, pending and merchants skipped') },
    codes: ['PAY_SETTLEMENT_UNAVAILABLE', 'PAY_MERCHANT_NOT_ACCEPTED'],
  }),
  // The operator's read-only views (routes/admin.ts), one CLI command each.
  route('GET', '/v1/admin/payments', 'Payments (fig. 13), newest first; `next` is the cursor of the following page (`quittance payment payments`)', {
    tags: ['operator'],
    security: ['operatorToken'],
    query: PageQuery,
    ok: { 200: { AdminPaymentsAnswer } },
  }),
  route('GET', '/v1/admin/reserves', 'Reserves and purses with their balances, newest first (`quittance payment reserves`)', {
    tags: ['operator'],
    security: ['operatorToken'],
    query: PageQuery,
    ok: { 200: { AdminReservesAnswer } },
  }),
  route('GET', '/v1/admin/denominations', 'Denomination keys with their windows and state (`quittance payment keys`)', {
    tags: ['operator'],
    security: ['operatorToken'],
    query: DenominationsQuery,
    ok: { 200: { AdminDenominationsAnswer } },
  }),
  route('GET', '/v1/admin/merchants', 'The merchants under contract (`quittance payment merchants`)', {
    tags: ['operator'],
    security: ['operatorToken'],
    query: EmptyQuery,
    ok: { 200: { AdminMerchantsAnswer } },
  }),
  route('GET', '/v1/admin/settlements', 'Settlements, newest first (`quittance payment settlements`)', {
    tags: ['operator'],
    security: ['operatorToken'],
    query: PageQuery,
    ok: { 200: { AdminSettlementsAnswer } },
  }),
  route('GET', '/v1/admin/notifications', 'The outbox of notifications to merchants, newest first (`quittance payment notifications`)', {
    tags: ['operator'],
    security: ['operatorToken'],
    query: NotificationsQuery,
    ok: { 200: { AdminNotificationsAnswer } },
  }),
  route('GET', '/v1/admin/audit', "The books checked now against each other, refund signatures against this server's CA (`quittance audit --data`); a violation is `ok: false`", {
    tags: ['operator'],
    security: ['operatorToken'],
    query: EmptyQuery,
    ok: { 200: { AuditAnswer } },
  }),
];

export const paymentOpenApi = lazyDocument(() =>
  openApiDocument({
    title: 'Quittance payment server',
    description: 'The e-money issuer and collection service: issues coins, accepts them against signed invoices, signs receipts, pays refunds, pays shops out to the bank.',
    statusOf: PAY_STATUS,
    securitySchemes: {
      operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token whose SHA-256 is in payment.json (adminTokenHashes)' },
    },
    routes: paymentRoutes,
  }),
);
