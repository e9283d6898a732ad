// The payment server's purchase endpoints on a test database, and what the
// purchase tests (e-money and purse) share: a certified merchant under
// contract, purchasers, invoices signed and countersigned as the wallet does.
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { calculateJwkThumbprint } from 'jose';
import { createBaseApp } from '../../src/http/app.ts';
import { addMerchant, merchantAccount } from '../../src/payment/merchants.ts';
import type { PurchaseOptions } from '../../src/payment/money-reception.ts';
import { purchaseRoutes } from '../../src/payment/routes/purchase.ts';
import { repaymentRoutes } from '../../src/payment/routes/repayments.ts';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import { INVOICE_TYP, MONEY_RECEPTION_REQUEST_TYP, parseDocument, type Invoice } from '../../src/protocol/documents/index.ts';
import { signEd25519 } from '../../src/protocol/ed25519.ts';
import { countersign, documentHash, signDocument, verifyDocument, type GeneralJws, type PublicJwk, type SignerOptions } from '../../src/protocol/jws.ts';
import { ecashPaymentSigningBytes, type EcashPaymentRequest } from '../../src/protocol/messages/payment.ts';
import { finalize, verify } from '../../src/protocol/rfc9474.ts';
import { certificateToPem } from '../../src/protocol/x509/index.ts';
import { buildPki, CRL_MAX_AGE_SECONDS, generateKeyPair, PKI_NOW, type LeafHandle, type TestPki } from '../fixtures/pki.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, balanceOf, EMONEY_CONFIG, newRequestId, openWallet, snapshot, type HeldCoin, type PendingCoin, type TestWallet } from './emoney-client.ts';
import { startTestPayment, type TestPayment } from './harness.ts';

export const SHOP = { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer' };
export const PAY = { id: 'pay-1', name: 'Quittance Pay' };
export const HOUR = 3_600_000;
export const OTHER_PKI: TestPki = await buildPki();
export const SOME_HASH = await documentHash(new TextEncoder().encode('selling conditions v1'));
export const ORDER_HASH = await documentHash(new TextEncoder().encode('order'));

export type Purchaser = { id: string; signer: SignerOptions };
export type Env = {
  p: TestPayment;
  w: TestWallet;
  app: FastifyInstance;
  merchant: LeafHandle;
  alice: Purchaser;
  crls: { current: Uint8Array[] };
};

export function certifiedSigner(leaf: LeafHandle, typ: string): SignerOptions {
  return { typ, privateKey: leaf.keys.privateKey, alg: 'EdDSA', x5c: leaf.chain };
}

export async function anonymousPurchaser(): Promise<Purchaser> {
  const keys = await generateKeyPair('Ed25519');
  const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as { x: string };
  const pub: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  return { id: await calculateJwkThumbprint({ ...pub }, 'sha256'), signer: { typ: INVOICE_TYP, privateKey: keys.privateKey, alg: 'EdDSA', jwk: pub } };
}

export async function clientPurchaser(p: TestPayment, partyId: string): Promise<Purchaser> {
  const leaf = await p.pki.leaf({ role: 'client', partyId });
  return { id: partyId, signer: certifiedSigner(leaf, INVOICE_TYP) };
}

export function invoiceFor(purchaserId: string, over: Partial<Invoice> = {}): Invoice {
  return {
    typ: INVOICE_TYP,
    transactionId: over.transactionId ?? `tx-${newRequestId().slice(0, 12)}`,
    purchaserId,
    lines: [
      { article: 'A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:3' },
      { article: 'C', name: 'ARTICLE C', quantity: 2, unitPrice: 'JPY:1' },
    ],
    amount: 'JPY:5',
    paymentMode: 'ecash',
    shop: SHOP,
    paymentServer: PAY,
    paymentAddress: 'http://127.0.0.1:7003/',
    billTime: PKI_NOW.toISOString(),
    paymentDueTime: new Date(PKI_NOW.getTime() + HOUR).toISOString(),
    refundDeadline: new Date(PKI_NOW.getTime() + 30 * 24 * HOUR).toISOString(),
    sellingConditionsHash: SOME_HASH,
    orderHash: ORDER_HASH,
    ...over,
  };
}

/** The invoice as the merchant signs it (140) and the purchaser countersigns it (150). */
export async function signedInvoice(invoice: Invoice, merchant: LeafHandle, purchaser: Purchaser | undefined): Promise<GeneralJws> {
  const jws = await signDocument({ payload: invoice, ...certifiedSigner(merchant, INVOICE_TYP) });
  return purchaser ? countersign(jws, { ...purchaser.signer, typ: INVOICE_TYP }) : jws;
}

export async function hashOf(jws: GeneralJws): Promise<string> {
  return documentHash(decodeBase64url(jws.payload)!);
}

export async function receptionRequest(purchaser: Purchaser, invoiceJws: GeneralJws, over: Record<string, unknown> = {}): Promise<GeneralJws> {
  const invoice = JSON.parse(new TextDecoder().decode(decodeBase64url(invoiceJws.payload))) as Invoice;
  const payload = {
    typ: MONEY_RECEPTION_REQUEST_TYP,
    transactionId: invoice.transactionId,
    invoiceHash: await hashOf(invoiceJws),
    purchaserId: purchaser.id,
    paymentServerId: PAY.id,
    time: PKI_NOW.toISOString(),
    ...over,
  };
  return signDocument({ payload, ...purchaser.signer, typ: MONEY_RECEPTION_REQUEST_TYP });
}

export function post150(env: Env, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: '/v1/money-reception', payload: body as object });
}

export function post170(env: Env, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: '/v1/payments/ecash', payload: body as object });
}

/** 150 for a fresh invoice; asserts it was accepted. */
export async function accept(env: Env, purchaser: Purchaser, over: Partial<Invoice> = {}): Promise<{ invoice: Invoice; jws: GeneralJws; hash: string; res: LightMyRequestResponse }> {
  const invoice = invoiceFor(purchaser.id, over);
  const jws = await signedInvoice(invoice, env.merchant, purchaser);
  const res = await post150(env, { invoice: jws, request: await receptionRequest(purchaser, jws) });
  assert.equal(res.statusCode, 201, res.body);
  return { invoice, jws, hash: await hashOf(jws), res };
}

/** A 170 whose coins each sign the whole body; `signedFor` lets a test sign other bytes than those sent. */
export async function ecashRequest(
  fields: { invoiceHash: string; transactionId: string; amount: string; merchantId?: string },
  coins: readonly HeldCoin[],
  change: readonly PendingCoin[],
  signedFor?: { invoiceHash: string; transactionId: string },
): Promise<EcashPaymentRequest> {
  const wire = coins.map((c) => ({ coinPub: c.coinPub, denominationId: c.denominationId, denominationSignature: c.denominationSignature }));
  const body = { invoiceHash: fields.invoiceHash, transactionId: fields.transactionId, merchantId: fields.merchantId ?? SHOP.id, amount: fields.amount, coins: wire, change: change.map((c) => c.envelope) };
  const bytes = ecashPaymentSigningBytes({ ...body, ...signedFor });
  const signed = [];
  for (const [i, c] of coins.entries()) signed.push({ ...wire[i]!, coinSignature: encodeBase64url(await signEd25519(c.privateKey, bytes)) });
  return { ...body, coins: signed };
}

export async function verifyPaymentDocument(env: Env, jws: unknown, typ: string): Promise<unknown> {
  const v = await verifyDocument(jws, {
    now: env.p.clock.now,
    trustAnchors: [env.p.pki.root.der],
    crls: await env.p.pki.crls(),
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: typ,
    signers: [{ roles: ['payment'] }],
  });
  assert.ok(v.ok, JSON.stringify(v));
  const signer = v.value.signers[0]!;
  assert.ok(signer.kind === 'certified' && signer.partyId === PAY.id);
  return value(parseDocument(typ, v.value.payload));
}

/** The change coins the wallet unblinds from the 180 answer, each verified. */
export async function unblindChange(pending: readonly PendingCoin[], signatures: readonly string[]): Promise<void> {
  assert.equal(signatures.length, pending.length);
  for (const [i, c] of pending.entries()) {
    const sig = value(await finalize(c.key.publicKey, c.coinPub, decodeBase64url(signatures[i]!)!, c.blinding.inv));
    assert.equal(value(await verify(c.key.publicKey, c.coinPub, sig)), true);
  }
}

/** Everything a refused purchase or refund must leave as it was: the books, the coins, the payments and the refunds. */
export async function everything(env: Env): Promise<unknown> {
  const db = env.p.deps.db;
  return {
    books: await snapshot(db),
    payments: await db.selectFrom('payment_payments').selectAll().orderBy('payment_id').execute(),
    merchants: await db.selectFrom('payment_merchants').selectAll().orderBy('merchant_id').execute(),
    purses: await db.selectFrom('payment_purses').selectAll().orderBy('purse_key').execute(),
    repayments: await db.selectFrom('payment_repayments').selectAll().orderBy('shop_id').orderBy('permit_id').execute(),
  };
}

export async function assertUnchanged(env: Env, before: unknown): Promise<void> {
  assert.deepEqual(await everything(env), before);
  await assertBooks(env.p.deps.db);
}

export const merchantBalance = (env: Env) => balanceOf(env.p.deps.db, merchantAccount(SHOP.id, 'JPY'));

export async function setUpPurchase(t: TestDatabase, ctx: { after: (fn: () => Promise<void>) => void }, opts: { withCrls?: boolean } = {}): Promise<Env> {
  const p = await startTestPayment(t, EMONEY_CONFIG);
  ctx.after(() => p.close());
  // As `quittance ca issue` writes payment-chain.pem: leaf, …, the CA root last (the trust anchor).
  p.deps.signer = { ...p.deps.signer, x5c: [...p.deps.signer.x5c, p.pki.root.der] };
  const w = await openWallet(p);
  const crls = { current: await p.pki.crls() };
  const purchaseOpts: PurchaseOptions = opts.withCrls ? { crls: async () => crls.current } : {};
  const app = createBaseApp({ bodyLimit: 64 * 1024 });
  purchaseRoutes(app, p.deps, purchaseOpts);
  repaymentRoutes(app, p.deps, purchaseOpts);
  await app.ready();
  ctx.after(() => app.close());
  const merchant = await p.pki.leaf({ role: 'merchant', partyId: SHOP.id, displayName: SHOP.name });
  value(await addMerchant(p.deps.db, { chainPem: merchant.chain.map((c) => certificateToPem(c)).join(''), payoutAccount: null, trustAnchor: p.pki.root.der, now: p.clock.now }));
  return { p, w, app, merchant, alice: await clientPurchaser(p, 'alice'), crls };
}

