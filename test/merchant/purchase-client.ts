// A whole purchase in-process for the merchant's receipt tests: a test
// payment server (test/payment/harness.ts) and a merchant whose certificates
// come from the payment server's PKI, joined by a fetch that injects into the
// payment app. A shopper orders (130 → 140), countersigns the invoice (150 →
// 160) and pays with real coins (170 → 180), so the receipt the merchant gets
// is the one a payment server really signs for a real invoice.
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { addMerchant } from '../../src/payment/merchants.ts';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import { INVOICE_TYP, MONEY_RECEPTION_REQUEST_TYP, ORDER_TYP, RECEIPT_TYP, type Invoice, type JwsGeneral, type Line, type Receipt } from '../../src/protocol/documents/index.ts';
import { signEd25519 } from '../../src/protocol/ed25519.ts';
import { countersign, documentHash, signDocument, type GeneralJws, type SignerOptions } from '../../src/protocol/jws.ts';
import { PaymentRequest } from '../../src/protocol/messages/merchant.ts';
import { ecashPaymentSigningBytes, EcashPaymentResponse } from '../../src/protocol/messages/payment.ts';
import { certificateToPem } from '../../src/protocol/x509/index.ts';
import { sellingConditionsHash, type MerchantConfig } from '../../src/merchant/config.ts';
import { value } from '../helpers/results.ts';
import type { TestDatabase } from '../helpers/db.ts';
import type { LeafHandle } from '../fixtures/pki.ts';
import { EMONEY_CONFIG, openWallet, withdrawCoins, type TestWallet } from '../payment/emoney-client.ts';
import { startTestPayment, type TestPayment } from '../payment/harness.ts';
import { anonymousKey, newOrderId, startTestMerchant, type TestMerchant } from './harness.ts';

/** Priced for the test payment server's coins (at most JPY:8 each). */
export const CHEAP_CATALOGUE: MerchantConfig['catalogue'] = {
  articles: [
    { id: 'ARTICLE-A', name: 'ARTICLE A', unitPrice: 'JPY:3' },
    { id: 'ARTICLE-C', name: 'ARTICLE C', unitPrice: 'JPY:1', stock: 3 },
  ],
  sellingConditions: 'Test conditions for cheap things.',
};
export const CHEAP_LINES: Line[] = [
  { article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:3' },
  { article: 'ARTICLE-C', name: 'ARTICLE C', quantity: 2, unitPrice: 'JPY:1' },
];
export const CHEAP_TOTAL = 'JPY:5';

/** A fetch that answers from a Fastify app in-process; `down` makes it fail like an unreachable host. */
export function injectFetch(app: FastifyInstance, state: { down: boolean } = { down: false }): typeof fetch {
  return async (input, init) => {
    if (state.down) throw new TypeError('fetch failed');
    const url = new URL(input instanceof Request ? input.url : String(input));
    const res = await app.inject({ method: (init?.method ?? 'GET') as 'GET', url: url.pathname + url.search });
    return new Response(res.body, { status: res.statusCode, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') } });
  };
}

export type Shopper = { id: string; signer: (typ: string) => SignerOptions };

export type World = {
  p: TestPayment;
  m: TestMerchant;
  w: TestWallet;
  shop: LeafHandle;
  alice: Shopper;
  /** Flip to make the payment server unreachable from the merchant. */
  network: { down: boolean };
};

export async function startWorld(t: TestDatabase, ctx: { after: (fn: () => Promise<void>) => void }, config: Partial<MerchantConfig> = {}): Promise<World> {
  const p = await startTestPayment(t, EMONEY_CONFIG);
  ctx.after(() => p.close());
  const shop = await p.pki.leaf({ role: 'merchant', partyId: 'shop-1', displayName: 'Tokyo On-line Mail Order Dealer' });
  value(await addMerchant(p.deps.db, { chainPem: shop.chain.map((c) => certificateToPem(c)).join(''), payoutAccount: null, trustAnchor: p.pki.root.der, now: p.clock.now }));
  const w = await openWallet(p);
  const network = { down: false };
  const m = await startTestMerchant(t, {
    config: { catalogue: CHEAP_CATALOGUE, ...config },
    parties: { shop, paymentChain: p.deps.signer.x5c, root: p.pki.root.der, crls: () => p.pki.crls() },
    fetch: injectFetch(p.app, network),
  });
  ctx.after(() => m.close());
  const aliceLeaf = await p.pki.leaf({ role: 'client', partyId: 'alice', displayName: 'Alice' });
  const alice: Shopper = { id: 'alice', signer: (typ) => ({ typ, privateKey: aliceLeaf.keys.privateKey, alg: 'EdDSA', x5c: aliceLeaf.chain }) };
  return { p, m, w, shop, alice, network };
}

export async function anonymousShopper(): Promise<Shopper> {
  const key = await anonymousKey();
  return { id: key.thumbprint, signer: (typ) => ({ typ, privateKey: key.keys.privateKey, alg: 'EdDSA', jwk: key.jwk }) };
}

export function payloadOf<T>(jws: { payload: string }): T {
  return JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as T;
}

export async function hashOf(jws: { payload: string }): Promise<string> {
  return documentHash(decodeBase64url(jws.payload)!);
}

/** A payload re-encoded under the original signatures: what tampering after signing looks like. */
export function tampered(jws: JwsGeneral, payload: unknown): JwsGeneral {
  return { payload: encodeBase64url(new TextEncoder().encode(JSON.stringify(payload))), signatures: jws.signatures };
}

export type Purchase = { transactionId: string; invoice: JwsGeneral; invoiceHash: string; receipt: JwsGeneral };

/** 130 → 140 at the merchant. */
export async function order(world: World, shopper: Shopper, lines: Line[] = CHEAP_LINES, total = CHEAP_TOTAL): Promise<PaymentRequest> {
  const payload = {
    typ: ORDER_TYP,
    orderId: newOrderId(),
    merchantId: 'shop-1',
    purchaserId: shopper.id,
    lines,
    total,
    paymentMode: 'ecash',
    sellingConditionsHash: sellingConditionsHash(world.m.deps.config.catalogue.sellingConditions),
    time: world.m.clock.now.toISOString(),
  };
  const res = await world.m.app.inject({ method: 'POST', url: '/v1/orders', payload: { order: await signDocument({ payload, ...shopper.signer(ORDER_TYP) }) } });
  assert.equal(res.statusCode, 201, res.body);
  return PaymentRequest.parse(res.json());
}

/** 150 → 160 at the payment server: the shopper accepts the invoice. */
export async function acceptInvoice(world: World, shopper: Shopper, request: PaymentRequest): Promise<LightMyRequestResponse> {
  const invoice = payloadOf<Invoice>(request.invoice);
  const countersigned = await countersign(request.invoice as GeneralJws, shopper.signer(INVOICE_TYP));
  const reception = await signDocument({
    payload: {
      typ: MONEY_RECEPTION_REQUEST_TYP,
      transactionId: invoice.transactionId,
      invoiceHash: await hashOf(request.invoice),
      purchaserId: shopper.id,
      paymentServerId: invoice.paymentServer.id,
      time: world.p.clock.now.toISOString(),
    },
    ...shopper.signer(MONEY_RECEPTION_REQUEST_TYP),
  });
  const res = await world.p.app.inject({ method: 'POST', url: '/v1/money-reception', payload: { invoice: countersigned, request: reception } });
  assert.equal(res.statusCode, 201, res.body);
  return res;
}

/** 170 → 180 at the payment server: exact coins, no change. Returns the receipt. */
export async function payWithCoins(world: World, request: PaymentRequest, amounts: readonly string[] = ['JPY:4', 'JPY:1']): Promise<JwsGeneral> {
  const invoice = payloadOf<Invoice>(request.invoice);
  const coins = await withdrawCoins(world.w, amounts);
  const wire = coins.map((c) => ({ coinPub: c.coinPub, denominationId: c.denominationId, denominationSignature: c.denominationSignature }));
  const body = { invoiceHash: await hashOf(request.invoice), transactionId: invoice.transactionId, merchantId: invoice.shop.id, amount: invoice.amount, coins: wire, change: [] };
  const bytes = ecashPaymentSigningBytes(body);
  const signed = [];
  for (const [i, c] of coins.entries()) signed.push({ ...wire[i]!, coinSignature: encodeBase64url(await signEd25519(c.privateKey, bytes)) });
  const res = await world.p.app.inject({ method: 'POST', url: '/v1/payments/ecash', payload: { ...body, coins: signed } });
  assert.equal(res.statusCode, 201, res.body);
  return EcashPaymentResponse.parse(res.json()).receipt;
}

/** 130 to 180: everything up to the moment the shopper holds the receipt. */
export async function buy(world: World, shopper: Shopper = world.alice): Promise<Purchase> {
  const request = await order(world, shopper);
  await acceptInvoice(world, shopper, request);
  const receipt = await payWithCoins(world, request);
  return { transactionId: request.transactionId, invoice: request.invoice, invoiceHash: await hashOf(request.invoice), receipt };
}

/** A receipt signed by the payment server's own key: a receipt it might sign in error, or for another order. */
export async function signAsPaymentServer(world: World, receipt: Receipt | Record<string, unknown>, signer?: LeafHandle): Promise<JwsGeneral> {
  const privateKey = signer?.keys.privateKey ?? world.p.deps.signer.privateKey;
  const x5c = signer?.chain ?? world.p.deps.signer.x5c;
  const jws = await signDocument({ payload: receipt, typ: RECEIPT_TYP, privateKey, alg: 'EdDSA', x5c });
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ ...s })) };
}

export function postReceipt(world: World, transactionId: string, body: unknown): Promise<LightMyRequestResponse> {
  return world.m.app.inject({ method: 'POST', url: `/v1/orders/${transactionId}/receipt`, payload: body as object });
}
