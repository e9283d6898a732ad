// The shopper's and the payment server's side of a refund, for the merchant's
// refund tests (messages 1110 → 1140, 1210/1220): orders paid with a receipt
// signed by the test PKI's payment server key, repayment requests signed by
// any key, a fake payment server answering GET /v1/repayments/:shop/:permit
// with states signed by a key of the test's choosing, and a snapshot of every
// row the merchant keeps, to show that a refused request changed nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import {
  INVOICE_TYP,
  ORDER_TYP,
  parseDocument,
  RECEIPT_TYP,
  REPAYMENT_PERMIT_TYP,
  REPAYMENT_RECEIPT_TYP,
  REPAYMENT_REQUEST_TYP,
  REPAYMENT_STATE_TYP,
  type Invoice,
  type JwsGeneral,
  type Line,
  type RepaymentPermit,
  type RepaymentReceipt,
  type RepaymentRequest,
  type RepaymentState,
} from '../../src/protocol/documents/index.ts';
import { documentHash, signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { PaymentRequest, RepaymentAnswer } from '../../src/protocol/messages/merchant.ts';
import { CRL_MAX_AGE_SECONDS, PKI_NOW, type LeafHandle } from '../fixtures/pki.ts';
import { ok } from '../../src/protocol/result.ts';
import { value } from '../helpers/results.ts';
import { ADMIN_TOKEN, ALICE, CONDITIONS_HASH, newOrderId, PAY, PKI, type AnonymousKey, type TestMerchant } from './harness.ts';

/** Another certified shopper, a second certificate of alice (another key), another payment server, and pay-1's party id on another key. */
export const BOB = await PKI.leaf({ role: 'client', partyId: 'bob', displayName: 'Bob' });
export const ALICE_RENEWED = await PKI.leaf({ role: 'client', partyId: 'alice', displayName: 'Alice' });
export const OTHER_PAY = await PKI.leaf({ role: 'payment', partyId: 'pay-2', displayName: 'Other Pay' });
export const PAY_OTHER_KEY = await PKI.leaf({ role: 'payment', partyId: 'pay-1', displayName: 'Quittance Pay' });

/** CRLs issued at the merchant's clock, so a test may move the clock days ahead and still check certificates. */
export function followClock(m: TestMerchant): void {
  m.deps.crls = async () => ok({ crls: await crlsAt(m.clock.now), required: true });
}

/** Empty CRLs of the test PKI, current at `now`. */
export async function crlsAt(now: Date): Promise<Uint8Array[]> {
  const second = Math.floor(now.getTime() / 1000) * 1000;
  const thisUpdate = new Date(second - 3_600_000);
  const nextUpdate = new Date(second + 3_600_000);
  return [await PKI.crl(PKI.root, { thisUpdate, nextUpdate }), await PKI.crl(PKI.intermediate, { thisUpdate, nextUpdate })];
}

export type Purchaser = { id: string; sign: (payload: unknown, typ: string) => Promise<JwsGeneral> };

function wire(jws: { payload: string; signatures: readonly { protected: string; signature: string }[] }): JwsGeneral {
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) };
}

export function certified(leaf: LeafHandle = ALICE, partyId = 'alice'): Purchaser {
  return { id: partyId, sign: async (payload, typ) => wire(await signDocument({ payload, typ, privateKey: leaf.keys.privateKey, alg: 'EdDSA', x5c: leaf.chain })) };
}

export function anonymous(key: AnonymousKey): Purchaser {
  return { id: key.thumbprint, sign: async (payload, typ) => wire(await signDocument({ payload, typ, privateKey: key.keys.privateKey, alg: 'EdDSA', jwk: key.jwk })) };
}

/** Articles without limited stock, so a test may pay as many orders as it likes: 2 × A + 1 × B = JPY:4000. */
export const REFUND_LINES: Line[] = [
  { article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 2, unitPrice: 'JPY:1000' },
  { article: 'ARTICLE-B', name: 'ARTICLE B', quantity: 1, unitPrice: 'JPY:2000' },
];
export const REFUND_TOTAL = 'JPY:4000';

export function payloadOf<T>(jws: { payload: string }): T {
  return JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as T;
}

export function hashOf(jws: { payload: string }): Promise<string> {
  return documentHash(decodeBase64url(jws.payload)!);
}

export type Placed = { transactionId: string; invoice: Invoice; who: Purchaser };

/** 130 → 140. */
export async function placeOrder(m: TestMerchant, who: Purchaser, lines: Line[] = REFUND_LINES, total = REFUND_TOTAL): Promise<Placed> {
  const order = {
    typ: ORDER_TYP,
    orderId: newOrderId(),
    merchantId: 'shop-1',
    purchaserId: who.id,
    lines,
    total,
    paymentMode: 'ecash',
    sellingConditionsHash: CONDITIONS_HASH,
    time: m.clock.now.toISOString(),
  };
  const res = await m.app.inject({ method: 'POST', url: '/v1/orders', payload: { order: await who.sign(order, ORDER_TYP) } });
  assert.equal(res.statusCode, 201, res.body);
  const request = PaymentRequest.parse(res.json());
  return { transactionId: request.transactionId, invoice: value(parseDocument(INVOICE_TYP, payloadOf(request.invoice))), who };
}

/** 210: the receipt the invoice's payment server (PAY) signs for it. */
export async function payOrder(m: TestMerchant, placed: Placed): Promise<void> {
  const { invoice } = placed;
  const receipt = {
    typ: RECEIPT_TYP,
    transactionId: invoice.transactionId,
    purchaserId: invoice.purchaserId,
    amountReceived: invoice.amount,
    mode: invoice.paymentMode,
    shop: invoice.shop,
    recipient: invoice.paymentServer,
    time: m.clock.now.toISOString(),
    invoiceHash: await orderInvoiceHash(m, placed.transactionId),
  };
  const jws = wire(await signDocument({ payload: receipt, typ: RECEIPT_TYP, privateKey: PAY.keys.privateKey, alg: 'EdDSA', x5c: PAY.chain }));
  const res = await m.app.inject({ method: 'POST', url: `/v1/orders/${placed.transactionId}/receipt`, payload: { receipt: jws } });
  assert.equal(res.statusCode, 200, res.body);
}

async function orderInvoiceHash(m: TestMerchant, transactionId: string): Promise<string> {
  const row = await m.handle.db.selectFrom('merchant_orders').select('invoice_hash').where('transaction_id', '=', transactionId).executeTakeFirstOrThrow();
  return row.invoice_hash;
}

export async function paidOrder(m: TestMerchant, who: Purchaser = certified(), lines?: Line[], total?: string): Promise<Placed> {
  const placed = await placeOrder(m, who, lines, total);
  await payOrder(m, placed);
  return placed;
}

export function newRequestId(): string {
  return `rq-${randomBytes(8).toString('hex')}`;
}

/** A repayment request (1110) for this order; override any field (or pass a non-request to test the schema). */
export function requestFor(m: TestMerchant, transactionId: string, overrides: Partial<RepaymentRequest> & Record<string, unknown> = {}): RepaymentRequest {
  return {
    typ: REPAYMENT_REQUEST_TYP,
    requestId: newRequestId(),
    transactionId,
    shopId: 'shop-1',
    amount: 'JPY:1000',
    reason: 'Arrived broken',
    time: m.clock.now.toISOString(),
    ...overrides,
  };
}

export function postRequest(m: TestMerchant, transactionId: string, body: unknown): Promise<LightMyRequestResponse> {
  return m.app.inject({ method: 'POST', url: `/v1/orders/${transactionId}/repayments`, payload: body as object });
}

/** Signs the request as `who` and posts it. */
export async function ask(m: TestMerchant, who: Purchaser, request: RepaymentRequest | Record<string, unknown>, transactionId = String(request.transactionId)): Promise<LightMyRequestResponse> {
  return postRequest(m, transactionId, { request: await who.sign(request, REPAYMENT_REQUEST_TYP) });
}

export function getAnswer(m: TestMerchant, transactionId: string, requestId: string): Promise<LightMyRequestResponse> {
  return m.app.inject({ method: 'GET', url: `/v1/orders/${transactionId}/repayments/${requestId}` });
}

export function answer(res: LightMyRequestResponse, status: number): RepaymentAnswer {
  assert.equal(res.statusCode, status, res.body);
  return RepaymentAnswer.parse(res.json());
}

/** The permit, verified as signed by this shop (role merchant, party shop-1). */
export async function permitOf(a: RepaymentAnswer, now: Date = PKI_NOW): Promise<RepaymentPermit> {
  assert.equal(a.state, 'permitted');
  assert.ok(a.permit);
  const v = await verifyDocument(a.permit, {
    now,
    trustAnchors: [PKI.root.der],
    crls: await crlsAt(now),
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: REPAYMENT_PERMIT_TYP,
    signers: [{ roles: ['merchant'] }],
  });
  assert.ok(v.ok, JSON.stringify(v));
  const signer = v.value.signers[0]!;
  assert.ok(signer.kind === 'certified' && signer.partyId === 'shop-1');
  return value(parseDocument(REPAYMENT_PERMIT_TYP, v.value.payload));
}

export type ErrorBody = { code: string; message: string; details?: Record<string, unknown> & { code?: string; field?: string } };

/** Every row the merchant keeps. */
export async function everything(m: TestMerchant): Promise<unknown> {
  const db = m.handle.db;
  return {
    orders: await db.selectFrom('merchant_orders').selectAll().orderBy('transaction_id').execute(),
    lines: await db.selectFrom('merchant_order_lines').selectAll().orderBy('transaction_id').orderBy('line_no').execute(),
    sold: await db.selectFrom('merchant_stock_sold').selectAll().orderBy('article').execute(),
    refunds: await db.selectFrom('merchant_refunds').selectAll().orderBy('transaction_id').orderBy('request_id').execute(),
  };
}

/** Runs `act`, which must be refused with this status and code, and checks that no row changed. */
export async function refusedWith(m: TestMerchant, act: () => Promise<LightMyRequestResponse>, status: number, code: string): Promise<ErrorBody> {
  const before = await everything(m);
  const res = await act();
  assert.equal(res.statusCode, status, res.body);
  const body = res.json<ErrorBody>();
  assert.equal(body.code, code, res.body);
  assert.deepEqual(await everything(m), before, `${code}: nothing changed`);
  return body;
}

export async function orderRow(m: TestMerchant, transactionId: string) {
  return m.handle.db.selectFrom('merchant_orders').selectAll().where('transaction_id', '=', transactionId).executeTakeFirstOrThrow();
}

export async function refundRow(m: TestMerchant, transactionId: string, requestId: string) {
  return m.handle.db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).where('request_id', '=', requestId).executeTakeFirstOrThrow();
}

export function admin(m: TestMerchant, method: 'GET' | 'POST', url: string, payload?: object, token: string | null = ADMIN_TOKEN): Promise<LightMyRequestResponse> {
  return m.app.inject({
    method,
    url,
    ...(token !== null ? { headers: { authorization: `Bearer ${token}` } } : {}),
    ...(payload !== undefined ? { payload } : {}),
  });
}

// ---------------------------------------------------------------- the payment server's side (1210 → 1220)

/** What the fake payment server answers per permit id; absent: 404 PAY_REPAYMENT_UNKNOWN. */
export type FakePayment = { answers: Map<string, { status: number; body: unknown } | 'down'>; asked: string[] };

/** Makes `m` reach a fake payment server that answers GET /v1/repayments/shop-1/:permitId from `answers`. */
export function fakePaymentServer(m: TestMerchant): FakePayment {
  const fake: FakePayment = { answers: new Map(), asked: [] };
  m.deps.fetch = async (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const match = /^\/v1\/repayments\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!match) return new Response(JSON.stringify({ code: 'HTTP_NOT_FOUND', message: 'no route' }), { status: 404 });
    const permitId = decodeURIComponent(match[2]!);
    fake.asked.push(permitId);
    const a = fake.answers.get(permitId);
    if (a === 'down') throw new TypeError('fetch failed');
    if (!a) return new Response(JSON.stringify({ code: 'PAY_REPAYMENT_UNKNOWN', message: 'no such permit' }), { status: 404, headers: { 'content-type': 'application/json' } });
    return new Response(typeof a.body === 'string' ? a.body : JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json' } });
  };
  return fake;
}

/** A repayment state (1220) about this permit, signed by `signer` (default: the order's payment server). */
export async function signedState(
  permit: RepaymentPermit,
  fields: Partial<RepaymentState> & Record<string, unknown> = {},
  signer: LeafHandle = PAY,
  typ = REPAYMENT_STATE_TYP,
): Promise<JwsGeneral> {
  const state = {
    typ: REPAYMENT_STATE_TYP,
    transactionId: permit.transactionId,
    permitId: permit.permitId,
    shopId: permit.shop.id,
    amount: permit.amount,
    state: 'remitted',
    time: PKI_NOW.toISOString(),
    ...fields,
  };
  return wire(await signDocument({ payload: state, typ, privateKey: signer.keys.privateKey, alg: 'EdDSA', x5c: signer.chain }));
}

/** The shopper's repayment receipt (1190) for a permit. */
export async function repaymentReceipt(who: Purchaser, permitJws: JwsGeneral, fields: Partial<RepaymentReceipt> = {}): Promise<JwsGeneral> {
  const permit = payloadOf<RepaymentPermit>(permitJws);
  const receipt: RepaymentReceipt = {
    typ: REPAYMENT_RECEIPT_TYP,
    permitId: permit.permitId,
    permitHash: await hashOf(permitJws),
    transactionId: permit.transactionId,
    recipientId: permit.recipientId,
    amount: permit.amount,
    time: PKI_NOW.toISOString(),
    ...fields,
  };
  return who.sign(receipt, REPAYMENT_RECEIPT_TYP);
}

/** The fake payment server answers this permit with `state` (a RepaymentStateAnswer). */
export function answerWith(fake: FakePayment, permit: RepaymentPermit, state: JwsGeneral): void {
  fake.answers.set(permit.permitId, { status: 200, body: { state } });
}

export function refresh(m: TestMerchant, transactionId: string, token: string | null = ADMIN_TOKEN): Promise<LightMyRequestResponse> {
  return admin(m, 'POST', `/v1/admin/orders/${transactionId}/repayments/refresh`, undefined, token);
}

/** A payload re-encoded under the original signatures: what tampering after signing looks like. */
export function tampered(jws: JwsGeneral, payload: unknown): JwsGeneral {
  return { payload: encodeBase64url(new TextEncoder().encode(JSON.stringify(payload))), signatures: jws.signatures };
}
