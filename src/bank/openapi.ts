// The bank's HTTP API as OpenAPI 3.1 (GET /openapi.json), built from the
// schemas its routes validate with. A new route is one more `route(…)` entry
// here (how: src/http/openapi.ts); test/http/openapi.test.ts fails until it is.
import { z } from 'zod';
import { lazyDocument, openApiDocument, routeBuilder } from '../http/openapi.ts';
import {
  AccountView,
  FundRequest,
  HistoryQuery,
  HistoryResponse,
  OpenAccountRequest,
  OpenAccountResponse,
  StatementQuery,
  StatementResponse,
  TransferRequest,
  TransferView,
} from '../protocol/messages/bank.ts';
import { BANK_STATUS, type BankErrorCode } from './errors.ts';
import { IdParam, ListQuery } from './routes/accounts.ts';

type Security = 'holderToken' | 'operatorToken';
const route = routeBuilder<BankErrorCode, Security>();
const holderOrOperator = ['holderToken', 'operatorToken'] as const;

// Documentation only: the handler wraps a list typed by the item schema.
const AccountList = z.strictObject({ accounts: z.array(AccountView) });

export const bankRoutes = [
  route('POST', '/v1/accounts', 'Open an account (self-service without a token when the bank allows it)', {
    description: 'A new holder gets its bearer token in the answer, once. A holder opens accounts only in its own name; only the operator grants an overdraft.',
    tags: ['accounts'],
    security: [...holderOrOperator, 'none'],
    body: { OpenAccountRequest },
    ok: { 201: { OpenAccountResponse } },
    rateLimited: true,
    codes: ['BANK_HOLDER_MISMATCH', 'BANK_OVERDRAFT_NOT_ALLOWED', 'BANK_CURRENCY_MISMATCH', 'BANK_HOLDER_EXISTS'],
  }),
  route('GET', '/v1/accounts', "The caller's accounts (the operator: all, or one holder's)", {
    tags: ['accounts'],
    security: holderOrOperator,
    query: ListQuery,
    ok: { 200: { AccountList } },
  }),
  route('GET', '/v1/accounts/:id', 'One account and its balance', {
    tags: ['accounts'],
    security: holderOrOperator,
    params: IdParam,
    ok: { 200: { AccountView } },
    codes: ['BANK_ACCOUNT_NOT_FOUND'],
  }),
  route('GET', '/v1/accounts/:id/history', "An account's entries after a cursor; long-polls up to `wait` seconds for a new one", {
    tags: ['accounts'],
    security: holderOrOperator,
    params: IdParam,
    query: HistoryQuery,
    ok: { 200: { HistoryResponse } },
    codes: ['BANK_ACCOUNT_NOT_FOUND'],
  }),
  route('GET', '/v1/accounts/:id/statement', 'A statement of an account for a period: opening and closing balance, entries', {
    tags: ['accounts'],
    security: holderOrOperator,
    params: IdParam,
    query: StatementQuery,
    ok: { 200: { StatementResponse } },
    codes: ['BANK_ACCOUNT_NOT_FOUND', 'BANK_STATEMENT_RANGE_INVALID', 'BANK_STATEMENT_TOO_LARGE'],
  }),
  route('POST', '/v1/transfers', "Move money from one of the caller's accounts (201; the same request again: 200, `idempotent-replay: true`)", {
    tags: ['transfers'],
    security: holderOrOperator,
    body: { TransferRequest },
    ok: { 201: { TransferView }, 200: { TransferView } },
    codes: [
      'BANK_ACCOUNT_NOT_FOUND',
      'BANK_CREDITOR_NOT_FOUND',
      'BANK_CURRENCY_MISMATCH',
      'BANK_AMOUNT_NOT_POSITIVE',
      'BANK_SAME_ACCOUNT',
      'BANK_INSUFFICIENT_FUNDS',
      'BANK_BALANCE_OVERFLOW',
      'BANK_TRANSFER_ID_REUSED',
    ],
  }),
  route('POST', '/v1/admin/fund', "Pay an account from the bank's issuance account (operator, demos)", {
    tags: ['operator'],
    security: ['operatorToken'],
    body: { FundRequest },
    ok: { 201: { TransferView }, 200: { TransferView } },
    codes: ['HTTP_FORBIDDEN', 'BANK_CREDITOR_NOT_FOUND', 'BANK_CURRENCY_MISMATCH', 'BANK_AMOUNT_NOT_POSITIVE', 'BANK_SAME_ACCOUNT', 'BANK_INSUFFICIENT_FUNDS', 'BANK_BALANCE_OVERFLOW', 'BANK_TRANSFER_ID_REUSED'],
  }),
];

export const bankOpenApi = lazyDocument(() =>
  openApiDocument({
    title: 'Quittance bank',
    description: 'Ordinary accounts and transfers: shoppers load e-money from here, and shops are paid out here.',
    statusOf: BANK_STATUS,
    securitySchemes: {
      holderToken: { type: 'http', scheme: 'bearer', description: "An account holder's token, issued once when its first account was opened" },
      operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token whose SHA-256 is in bank.json (adminTokenHashes)' },
    },
    routes: bankRoutes,
  }),
);
