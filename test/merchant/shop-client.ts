// The shop's backend and the shopper's wallet against an in-process merchant,
// for the shop integration API tests: an API key, POST /v1/shop/… with it,
// orders (130) that name an offer, and a snapshot of every row the merchant
// keeps, to show that a refused request changed nothing.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { createApiKey } from '../../src/merchant/api-keys.ts';
import { INVOICE_TYP, ORDER_TYP, parseDocument, type Line } from '../../src/protocol/documents/index.ts';
import { PaymentRequest } from '../../src/protocol/messages/merchant.ts';
import { CreatedShopOrder, OfferView } from '../../src/protocol/messages/shop.ts';
import { value } from '../helpers/results.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { CONDITIONS_HASH, newOrderId, startTestMerchant, type TestMerchantOptions, type TestMerchant } from './harness.ts';
import { everything, payloadOf, type Placed, type Purchaser } from './refund-client.ts';

export type Shop = TestMerchant & { key: string; keyId: string };

export async function startShop(t: TestDatabase, ctx: { after: (fn: () => Promise<void>) => void }, opts: TestMerchantOptions = {}): Promise<Shop> {
  const m = await startTestMerchant(t, opts);
  ctx.after(() => m.close());
  const k = await createApiKey(m.handle.db, { name: 'test backend', now: m.clock.now });
  return Object.assign(m, { key: k.key, keyId: k.keyId });
}

/** Lines the catalogue does not list, priced by the shop: 2 × 1200 + 1 × 350 = JPY:2750. */
export const SHOP_LINES: Line[] = [
  { article: 'SKU-100', name: 'Custom engraving', quantity: 2, unitPrice: 'JPY:1200' },
  { article: 'SKU-200', name: 'Gift wrap', quantity: 1, unitPrice: 'JPY:350' },
];
export const SHOP_TOTAL = 'JPY:2750';

export function shopPost(m: Shop, url: string, body: unknown, headers: Record<string, string> = {}, key: string | null = m.key): Promise<LightMyRequestResponse> {
  const h: Record<string, string> = { ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...headers };
  // A string is sent as it is (malformed JSON, another content type); anything else as JSON.
  if (typeof body === 'string') return m.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...h }, payload: body });
  return m.app.inject({ method: 'POST', url, headers: h, payload: body as object });
}

export function shopGet(m: Shop, url: string, key: string | null = m.key): Promise<LightMyRequestResponse> {
  return m.app.inject({ method: 'GET', url, headers: key !== null ? { authorization: `Bearer ${key}` } : {} });
}

/** POST /v1/shop/orders, expecting 201. */
export async function createOffer(m: Shop, body: Record<string, unknown> = { lines: SHOP_LINES }, headers: Record<string, string> = {}): Promise<CreatedShopOrder> {
  const res = await shopPost(m, '/v1/shop/orders', body, headers);
  assert.equal(res.statusCode, 201, res.body);
  return CreatedShopOrder.parse(res.json());
}

export async function publicOffer(m: TestMerchant, offerId: string): Promise<OfferView> {
  const res = await m.app.inject({ method: 'GET', url: `/v1/offers/${offerId}` });
  assert.equal(res.statusCode, 200, res.body);
  return OfferView.parse(res.json());
}

/** A signed order (130) for an offer, as the wallet makes it; override lines/total to attack. */
export async function orderOffer(m: TestMerchant, who: Purchaser, offerId: string, overrides: { lines?: Line[]; total?: string; orderId?: string } = {}): Promise<LightMyRequestResponse> {
  const order = {
    typ: ORDER_TYP,
    orderId: overrides.orderId ?? newOrderId(),
    merchantId: 'shop-1',
    purchaserId: who.id,
    lines: overrides.lines ?? SHOP_LINES,
    total: overrides.total ?? SHOP_TOTAL,
    paymentMode: 'ecash',
    sellingConditionsHash: CONDITIONS_HASH,
    time: m.clock.now.toISOString(),
    offerId,
  };
  return m.app.inject({ method: 'POST', url: '/v1/orders', payload: { order: await who.sign(order, ORDER_TYP) } });
}

export function placed(res: LightMyRequestResponse, who: Purchaser): Placed {
  assert.equal(res.statusCode, 201, res.body);
  const request = PaymentRequest.parse(res.json());
  return { transactionId: request.transactionId, invoice: value(parseDocument(INVOICE_TYP, payloadOf(request.invoice))), who };
}

export type ErrorBody = { code: string; message: string; details?: unknown };

export function refusedWith(res: LightMyRequestResponse, status: number, code: string): ErrorBody {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json<ErrorBody>();
  assert.equal(body.code, code, res.body);
  return body;
}

/** Every row the merchant keeps, the shop API's included. */
export async function allRows(m: TestMerchant): Promise<unknown> {
  const db = m.handle.db;
  return {
    ...((await everything(m)) as object),
    offers: await db.selectFrom('merchant_offers').selectAll().orderBy('offer_id').execute(),
    idempotency: await db.selectFrom('merchant_idempotency_keys').selectAll().orderBy('api_key_id').orderBy('idempotency_key').execute(),
    keys: await db.selectFrom('merchant_api_keys').selectAll().orderBy('key_id').execute(),
  };
}

export async function count(m: TestMerchant, table: 'merchant_offers' | 'merchant_orders' | 'merchant_idempotency_keys'): Promise<number> {
  const r = await m.handle.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}
