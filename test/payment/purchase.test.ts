// The purchase at the payment server (issue 4, messages 150–180): a merchant's
// invoice countersigned by an identified or anonymous purchaser is accepted
// (160), paid with coins and change in one transaction (180, receipt fig. 7),
// and every attack that concerns the payment server is refused with its code,
// leaving the books and every row as they were.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { calculateJwkThumbprint } from 'jose';
import { createBaseApp } from '../../src/http/app.ts';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { addMerchant, merchantAccount, setMerchantStatus } from '../../src/payment/merchants.ts';
import type { PurchaseOptions } from '../../src/payment/money-reception.ts';
import { purchaseRoutes } from '../../src/payment/routes/purchase.ts';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import {
  INVOICE_TYP,
  MONEY_RECEPTION_REQUEST_TYP,
  MONEY_RECEPTION_RESPONSE_TYP,
  parseDocument,
  RECEIPT_TYP,
  type Invoice,
} from '../../src/protocol/documents/index.ts';
import { signEd25519 } from '../../src/protocol/ed25519.ts';
import { countersign, documentHash, signDocument, verifyDocument, type GeneralJws, type PublicJwk, type SignerOptions } from '../../src/protocol/jws.ts';
import { ecashPaymentSigningBytes, EcashPaymentResponse, type EcashPaymentRequest } from '../../src/protocol/messages/payment.ts';
import { canonicalizeToBytes } from '../../src/protocol/rfc8785.ts';
import { finalize, verify } from '../../src/protocol/rfc9474.ts';
import { certificateToPem } from '../../src/protocol/x509/index.ts';
import { buildPki, CRL_MAX_AGE_SECONDS, generateKeyPair, PKI_NOW, type LeafHandle, type TestPki } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import {
  assertBooks,
  assertRefused,
  balanceOf,
  EMONEY_CONFIG,
  newRequestId,
  openWallet,
  postSwap,
  prepareCoins,
  snapshot,
  swapRequest,
  withdrawCoins,
  type HeldCoin,
  type PendingCoin,
  type TestWallet,
} from './emoney-client.ts';
import { startTestPayment, type TestPayment } from './harness.ts';

const SHOP = { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer' };
const PAY = { id: 'pay-1', name: 'Quittance Pay' };
const HOUR = 3_600_000;
const OTHER_PKI: TestPki = await buildPki();
const SOME_HASH = await documentHash(new TextEncoder().encode('selling conditions v1'));
const ORDER_HASH = await documentHash(new TextEncoder().encode('order'));

type Purchaser = { id: string; signer: SignerOptions };
type Env = {
  p: TestPayment;
  w: TestWallet;
  app: FastifyInstance;
  merchant: LeafHandle;
  alice: Purchaser;
  crls: { current: Uint8Array[] };
};

function certifiedSigner(leaf: LeafHandle, typ: string): SignerOptions {
  return { typ, privateKey: leaf.keys.privateKey, alg: 'EdDSA', x5c: leaf.chain };
}

async function anonymousPurchaser(): Promise<Purchaser> {
  const keys = await generateKeyPair('Ed25519');
  const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as { x: string };
  const pub: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  return { id: await calculateJwkThumbprint({ ...pub }, 'sha256'), signer: { typ: INVOICE_TYP, privateKey: keys.privateKey, alg: 'EdDSA', jwk: pub } };
}

async function clientPurchaser(p: TestPayment, partyId: string): Promise<Purchaser> {
  const leaf = await p.pki.leaf({ role: 'client', partyId });
  return { id: partyId, signer: certifiedSigner(leaf, INVOICE_TYP) };
}

function invoiceFor(purchaserId: string, over: Partial<Invoice> = {}): Invoice {
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
async function signedInvoice(invoice: Invoice, merchant: LeafHandle, purchaser: Purchaser | undefined): Promise<GeneralJws> {
  const jws = await signDocument({ payload: invoice, ...certifiedSigner(merchant, INVOICE_TYP) });
  return purchaser ? countersign(jws, { ...purchaser.signer, typ: INVOICE_TYP }) : jws;
}

async function hashOf(jws: GeneralJws): Promise<string> {
  return documentHash(decodeBase64url(jws.payload)!);
}

async function receptionRequest(purchaser: Purchaser, invoiceJws: GeneralJws, over: Record<string, unknown> = {}): Promise<GeneralJws> {
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

function post150(env: Env, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: '/v1/money-reception', payload: body as object });
}

function post170(env: Env, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: '/v1/payments/ecash', payload: body as object });
}

/** 150 for a fresh invoice; asserts it was accepted. */
async function accept(env: Env, purchaser: Purchaser, over: Partial<Invoice> = {}): Promise<{ invoice: Invoice; jws: GeneralJws; hash: string; res: LightMyRequestResponse }> {
  const invoice = invoiceFor(purchaser.id, over);
  const jws = await signedInvoice(invoice, env.merchant, purchaser);
  const res = await post150(env, { invoice: jws, request: await receptionRequest(purchaser, jws) });
  assert.equal(res.statusCode, 201, res.body);
  return { invoice, jws, hash: await hashOf(jws), res };
}

/** A 170 whose coins each sign the whole body; `signedFor` lets a test sign other bytes than those sent. */
async function ecashRequest(
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

async function verifyPaymentDocument(env: Env, jws: unknown, typ: string): Promise<unknown> {
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
async function unblindChange(pending: readonly PendingCoin[], signatures: readonly string[]): Promise<void> {
  assert.equal(signatures.length, pending.length);
  for (const [i, c] of pending.entries()) {
    const sig = value(await finalize(c.key.publicKey, c.coinPub, decodeBase64url(signatures[i]!)!, c.blinding.inv));
    assert.equal(value(await verify(c.key.publicKey, c.coinPub, sig)), true);
  }
}

/** Everything a refused purchase must leave as it was: the books, the coins and the payments. */
async function everything(env: Env): Promise<unknown> {
  const db = env.p.deps.db;
  return {
    books: await snapshot(db),
    payments: await db.selectFrom('payment_payments').selectAll().orderBy('payment_id').execute(),
    merchants: await db.selectFrom('payment_merchants').selectAll().orderBy('merchant_id').execute(),
  };
}

async function assertUnchanged(env: Env, before: unknown): Promise<void> {
  assert.deepEqual(await everything(env), before);
  await assertBooks(env.p.deps.db);
}

const merchantBalance = (env: Env) => balanceOf(env.p.deps.db, merchantAccount(SHOP.id, 'JPY'));

for (const t of testDatabases()) {
  void describe(`purchase at the payment server (${t.name})`, () => {
    async function setUp(ctx: { after: (fn: () => Promise<void>) => void }, opts: { withCrls?: boolean } = {}): Promise<Env> {
      const p = await startTestPayment(t, EMONEY_CONFIG);
      ctx.after(() => p.close());
      // As `quittance ca issue` writes payment-chain.pem: leaf, …, the CA root last (the trust anchor).
      p.deps.signer = { ...p.deps.signer, x5c: [...p.deps.signer.x5c, p.pki.root.der] };
      const w = await openWallet(p);
      const crls = { current: await p.pki.crls() };
      const purchaseOpts: PurchaseOptions = opts.withCrls ? { crls: async () => crls.current } : {};
      const app = createBaseApp({ bodyLimit: 64 * 1024 });
      purchaseRoutes(app, p.deps, purchaseOpts);
      await app.ready();
      ctx.after(() => app.close());
      const merchant = await p.pki.leaf({ role: 'merchant', partyId: SHOP.id, displayName: SHOP.name });
      value(await addMerchant(p.deps.db, { chainPem: merchant.chain.map((c) => certificateToPem(c)).join(''), payoutAccount: null, trustAnchor: p.pki.root.der, now: p.clock.now }));
      return { p, w, app, merchant, alice: await clientPurchaser(p, 'alice'), crls };
    }

    for (const kind of ['identified', 'anonymous'] as const) {
      void test(`${kind}: 150 → signed 160, 170 (4 + 2 for 5, change 1) → receipt, merchant credited, float = issued − spent`, async (ctx) => {
        const env = await setUp(ctx);
        const db = env.p.deps.db;
        const purchaser = kind === 'identified' ? env.alice : await anonymousPurchaser();
        const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:2']);
        const floatBefore = await balanceOf(db, ledgerAccount.float('JPY'));
        assert.equal(floatBefore, 6n);

        const { invoice, hash, res } = await accept(env, purchaser);
        const reception = (await verifyPaymentDocument(env, res.json(), MONEY_RECEPTION_RESPONSE_TYP)) as Record<string, unknown>;
        assert.deepEqual(reception, { typ: MONEY_RECEPTION_RESPONSE_TYP, transactionId: invoice.transactionId, invoiceHash: hash, paymentServerId: PAY.id, accepted: true, time: PKI_NOW.toISOString() });
        const state1 = await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/${invoice.transactionId}` });
        assert.equal(state1.statusCode, 200, state1.body);
        assert.deepEqual(state1.json(), { shopId: SHOP.id, transactionId: invoice.transactionId, state: 'RECEPTION_ACCEPTED', amount: 'JPY:5', invoiceHash: hash });

        const change = await prepareCoins(env.w, ['JPY:1']);
        const pay = await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, change));
        assert.equal(pay.statusCode, 201, pay.body);
        const answer = EcashPaymentResponse.parse(pay.json());
        const receipt = await verifyPaymentDocument(env, answer.receipt, RECEIPT_TYP);
        assert.deepEqual(receipt, {
          typ: RECEIPT_TYP,
          transactionId: invoice.transactionId,
          purchaserId: purchaser.id,
          amountReceived: 'JPY:5',
          mode: 'ecash',
          shop: SHOP,
          recipient: PAY,
          time: PKI_NOW.toISOString(),
          invoiceHash: hash,
        });
        await unblindChange(change, answer.changeSignatures);

        assert.equal(await merchantBalance(env), 5n);
        // 6 of coins left the float, 1 of change re-entered it.
        assert.equal(await balanceOf(db, ledgerAccount.float('JPY')), 1n);
        const spent = await db.selectFrom('payment_spent_coins').select(['spent_by', 'spent_ref']).execute();
        const row = await db.selectFrom('payment_payments').selectAll().executeTakeFirstOrThrow();
        assert.equal(row.state, 'PAID');
        assert.equal(row.purchaser_id, purchaser.id);
        assert.deepEqual(spent, [{ spent_by: 'payment', spent_ref: row.payment_id }, { spent_by: 'payment', spent_ref: row.payment_id }]);
        const state2 = await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/${invoice.transactionId}` });
        assert.equal(state2.json<{ state: string }>().state, 'PAID');
        assert.deepEqual(state2.json<{ receipt: unknown }>().receipt, answer.receipt);
        await assertBooks(db);
      });
    }

    void test('150 and 170 replayed: the same signed 160, the same receipt and change signatures, one charge', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:8']);
      const invoice = invoiceFor(env.alice.id);
      const jws = await signedInvoice(invoice, env.merchant, env.alice);
      const call = { invoice: jws, request: await receptionRequest(env.alice, jws) };
      const first = await post150(env, call);
      assert.equal(first.statusCode, 201, first.body);
      env.p.clock.now = new Date(PKI_NOW.getTime() + 60_000);
      const again = await post150(env, call);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());

      const change = await prepareCoins(env.w, ['JPY:2', 'JPY:1']);
      const request = await ecashRequest({ invoiceHash: await hashOf(jws), transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, change);
      const paid = await post170(env, request);
      assert.equal(paid.statusCode, 201, paid.body);
      const before = await everything(env);
      const replay = await post170(env, request);
      assert.equal(replay.statusCode, 200, replay.body);
      assert.equal(replay.headers['idempotent-replay'], 'true');
      assert.deepEqual(replay.json(), paid.json());
      // Even past the due time: a payment cut off by a lost answer is still answered.
      env.p.clock.now = new Date(PKI_NOW.getTime() + 2 * HOUR);
      assert.deepEqual((await post170(env, request)).json(), paid.json());
      assert.deepEqual((await post150(env, call)).json(), first.json());
      await assertUnchanged(env, before);
      assert.equal(await merchantBalance(env), 5n);
    });

    void test('another invoice for the same (shop, transaction): PAY_REQUEST_CONFLICT', async (ctx) => {
      const env = await setUp(ctx);
      const { invoice } = await accept(env, env.alice);
      const before = await everything(env);
      const other = await signedInvoice(invoiceFor(env.alice.id, { transactionId: invoice.transactionId, lines: [{ article: 'A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:4' }], amount: 'JPY:4' }), env.merchant, env.alice);
      assertRefused(await post150(env, { invoice: other, request: await receptionRequest(env.alice, other) }), 422, 'PAY_REQUEST_CONFLICT');
      await assertUnchanged(env, before);
    });

    void test('invoice amount or lines altered after signing: PAY_DOCUMENT_SIGNATURE_INVALID', async (ctx) => {
      const env = await setUp(ctx);
      const invoice = invoiceFor(env.alice.id);
      const jws = await signedInvoice(invoice, env.merchant, env.alice);
      const before = await everything(env);
      for (const altered of [
        { ...invoice, lines: [{ ...invoice.lines[0]!, unitPrice: 'JPY:1' }, invoice.lines[1]!], amount: 'JPY:3' },
        { ...invoice, lines: [invoice.lines[0]!, { ...invoice.lines[1]!, quantity: 1 }], amount: 'JPY:4' },
      ]) {
        const tampered = { ...jws, payload: encodeBase64url(value(canonicalizeToBytes(altered))) };
        const res = await post150(env, { invoice: tampered, request: await receptionRequest(env.alice, tampered) });
        assertRefused(res, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
        assert.deepEqual(res.json<{ details: unknown }>().details, { document: 'invoice', code: 'PROTO_JWS_SIGNATURE_INVALID' });
      }
      await assertUnchanged(env, before);
    });

    void test('invoice signed by a non-merchant certificate, by a merchant without contract, by a suspended one: PAY_MERCHANT_NOT_ACCEPTED', async (ctx) => {
      const env = await setUp(ctx);
      const notMerchant = await env.p.pki.leaf({ role: 'client', partyId: SHOP.id });
      const stranger = await env.p.pki.leaf({ role: 'merchant', partyId: 'shop-2' });
      const before = await everything(env);
      for (const [signer, shop] of [
        [notMerchant, SHOP],
        [stranger, { id: 'shop-2', name: 'Elsewhere' }],
      ] as const) {
        const jws = await signedInvoice(invoiceFor(env.alice.id, { shop }), signer, env.alice);
        assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws) }), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      }
      await assertUnchanged(env, before);

      // Suspended between 150 and 170: the payment is refused too, and nothing is charged.
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const { invoice, hash } = await accept(env, env.alice);
      value(await setMerchantStatus(env.p.deps.db, SHOP.id, 'suspended', env.p.clock.now));
      const suspended = await everything(env);
      const jws = await signedInvoice(invoiceFor(env.alice.id), env.merchant, env.alice);
      assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws) }), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, [])), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      await assertUnchanged(env, suspended);
    });

    void test('merchant certificate of another CA, or revoked (with CRLs): PAY_DOCUMENT_SIGNATURE_INVALID with the PROTO code in details', async (ctx) => {
      const env = await setUp(ctx, { withCrls: true });
      const foreign = await OTHER_PKI.leaf({ role: 'merchant', partyId: SHOP.id, displayName: SHOP.name });
      const before = await everything(env);
      const j1 = await signedInvoice(invoiceFor(env.alice.id), foreign, env.alice);
      const r1 = await post150(env, { invoice: j1, request: await receptionRequest(env.alice, j1) });
      assertRefused(r1, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      // The other test CA carries our CAs' names under other keys: an impostor CA.
      assert.equal(r1.json<{ details: { code: string } }>().details.code, 'PROTO_CERT_SIGNATURE_INVALID');

      env.crls.current = [await env.p.pki.crl(env.p.pki.root), await env.p.pki.crl(env.p.pki.intermediate, { revoked: [env.merchant.der] })];
      const j2 = await signedInvoice(invoiceFor(env.alice.id), env.merchant, env.alice);
      const r2 = await post150(env, { invoice: j2, request: await receptionRequest(env.alice, j2) });
      assertRefused(r2, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      assert.equal(r2.json<{ details: { code: string } }>().details.code, 'PROTO_CERT_REVOKED');
      await assertUnchanged(env, before);
    });

    void test('purchaser id ≠ the presenting key (certified and anonymous), request signed by another key: PAY_PURCHASER_MISMATCH', async (ctx) => {
      const env = await setUp(ctx);
      const bob = await clientPurchaser(env.p, 'bob');
      const anon = await anonymousPurchaser();
      const otherAnon = await anonymousPurchaser();
      const before = await everything(env);
      // Invoice for alice, countersigned by bob; for one anonymous key, countersigned by another.
      for (const [forId, by] of [
        [env.alice.id, bob],
        [anon.id, otherAnon],
      ] as const) {
        const jws = await signedInvoice(invoiceFor(forId), env.merchant, by);
        const res = await post150(env, { invoice: jws, request: await receptionRequest({ ...by, id: forId }, jws) });
        assertRefused(res, 403, 'PAY_PURCHASER_MISMATCH');
      }
      // Countersigned by alice, but the 150 request signed by bob claiming to be alice.
      const jws = await signedInvoice(invoiceFor(env.alice.id), env.merchant, env.alice);
      assertRefused(await post150(env, { invoice: jws, request: await receptionRequest({ ...bob, id: env.alice.id }, jws) }), 403, 'PAY_PURCHASER_MISMATCH');
      await assertUnchanged(env, before);
    });

    void test('documents that do not fit: other payment server, shop ≠ signer, request for another invoice or server: PAY_INVOICE_MISMATCH', async (ctx) => {
      const env = await setUp(ctx);
      const before = await everything(env);
      const cases: { invoice: Invoice; request?: Record<string, unknown> }[] = [
        { invoice: invoiceFor(env.alice.id, { paymentServer: { id: 'pay-2', name: 'Elsewhere Pay' } }) },
        { invoice: invoiceFor(env.alice.id, { shop: { id: 'shop-9', name: 'Not the signer' } }) },
        { invoice: invoiceFor(env.alice.id), request: { invoiceHash: SOME_HASH } },
        { invoice: invoiceFor(env.alice.id), request: { transactionId: 'tx-other' } },
        { invoice: invoiceFor(env.alice.id), request: { paymentServerId: 'pay-2' } },
      ];
      for (const c of cases) {
        const jws = await signedInvoice(c.invoice, env.merchant, env.alice);
        assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws, c.request) }), 422, 'PAY_INVOICE_MISMATCH');
      }
      await assertUnchanged(env, before);
    });

    void test('invoice past its due time: PAY_INVOICE_EXPIRED at 150, and at 170 after an accepted 150', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const { invoice, hash } = await accept(env, env.alice);
      const fresh = invoiceFor(env.alice.id);
      const jws = await signedInvoice(fresh, env.merchant, env.alice);
      const before = await everything(env);
      env.p.clock.now = new Date(Date.parse(fresh.paymentDueTime) + 1000);
      assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws) }), 422, 'PAY_INVOICE_EXPIRED');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, [])), 422, 'PAY_INVOICE_EXPIRED');
      await assertUnchanged(env, before);
    });

    void test('payment modes: card refused at 150; an account invoice is not paid with e-money (PAY_PAYMENT_MODE_UNSUPPORTED)', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const card = await signedInvoice(invoiceFor(env.alice.id, { paymentMode: 'card' }), env.merchant, env.alice);
      const before = await everything(env);
      assertRefused(await post150(env, { invoice: card, request: await receptionRequest(env.alice, card) }), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      await assertUnchanged(env, before);
      const { invoice, hash } = await accept(env, env.alice, { paymentMode: 'account' });
      const accepted = await everything(env);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, [])), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      await assertUnchanged(env, accepted);
    });

    void test('coins spent before (by a swap; for another invoice): PAY_COIN_SPENT, nothing charged', async (ctx) => {
      const env = await setUp(ctx);
      const [four, one, eight] = await withdrawCoins(env.w, ['JPY:4', 'JPY:1', 'JPY:8']);
      const a = await accept(env, env.alice);
      const b = await accept(env, env.alice);
      assert.equal((await post170(env, await ecashRequest({ invoiceHash: a.hash, transactionId: a.invoice.transactionId, amount: 'JPY:5' }, [four!, one!], []))).statusCode, 201);
      const swapped = await prepareCoins(env.w, ['JPY:8']);
      assert.equal((await postSwap(env.p, await swapRequest(newRequestId(), [eight!], swapped.map((c) => c.envelope)))).statusCode, 201);
      const before = await everything(env);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: b.hash, transactionId: b.invoice.transactionId, amount: 'JPY:5' }, [four!, one!], [])), 409, 'PAY_COIN_SPENT');
      const change = await prepareCoins(env.w, ['JPY:2', 'JPY:1']);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: b.hash, transactionId: b.invoice.transactionId, amount: 'JPY:5' }, [eight!], change)), 409, 'PAY_COIN_SPENT');
      await assertUnchanged(env, before);
      assert.equal(await merchantBalance(env), 5n);
    });

    void test('a coin signature made for another invoice: PAY_COIN_SIGNATURE_INVALID', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const a = await accept(env, env.alice);
      const b = await accept(env, env.alice);
      const before = await everything(env);
      // Signed for invoice a, presented for invoice b (an eavesdropper redirecting the coins).
      const moved = await ecashRequest({ invoiceHash: b.hash, transactionId: b.invoice.transactionId, amount: 'JPY:5' }, coins, [], { invoiceHash: a.hash, transactionId: a.invoice.transactionId });
      assertRefused(await post170(env, moved), 403, 'PAY_COIN_SIGNATURE_INVALID');
      await assertUnchanged(env, before);
    });

    void test('170 not matching the accepted invoice: unknown transaction, other hash or amount, unbalanced, wrong currency', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:2']);
      const [cent] = await withdrawCoins(env.w, ['EUR:0.01'], 1);
      const { invoice, hash } = await accept(env, env.alice);
      const tx = invoice.transactionId;
      const before = await everything(env);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: 'tx-unknown', amount: 'JPY:5' }, coins, [])), 404, 'PAY_PAYMENT_UNKNOWN');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: SOME_HASH, transactionId: tx, amount: 'JPY:5' }, coins, [])), 422, 'PAY_INVOICE_MISMATCH');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:6' }, coins, [])), 422, 'PAY_INVOICE_MISMATCH');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:5' }, coins, [])), 422, 'PAY_PAYMENT_UNBALANCED');
      const tooMuchChange = await prepareCoins(env.w, ['JPY:2']);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:5' }, coins, tooMuchChange)), 422, 'PAY_PAYMENT_UNBALANCED');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:5' }, [cent!], [])), 422, 'PAY_CURRENCY_MISMATCH');
      await assertUnchanged(env, before);
    });

    void test('two different payments of one transaction at once: exactly one is charged, the other PAY_REQUEST_CONFLICT', async (ctx) => {
      const env = await setUp(ctx);
      const [a4, a1, b4, b1] = await withdrawCoins(env.w, ['JPY:4', 'JPY:1', 'JPY:4', 'JPY:1']);
      const { invoice, hash } = await accept(env, env.alice);
      const fields = { invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' };
      const requests = [await ecashRequest(fields, [a4!, a1!], []), await ecashRequest(fields, [b4!, b1!], [])];
      const answers = await Promise.all(requests.map((r) => post170(env, r)));
      const won = answers.flatMap((a, i) => (a.statusCode === 201 ? [i] : []));
      assert.equal(won.length, 1, answers.map((a) => `${a.statusCode} ${a.body}`).join('\n'));
      assertRefused(answers[1 - won[0]!]!, 422, 'PAY_REQUEST_CONFLICT');
      const spent = await env.p.deps.db.selectFrom('payment_spent_coins').select('coin_pub').orderBy('coin_pub').execute();
      assert.deepEqual(spent.map((s) => s.coin_pub), requests[won[0]!]!.coins.map((c) => c.coinPub).sort());
      assert.equal(await merchantBalance(env), 5n);
      await assertBooks(env.p.deps.db);
    });

    void test('malformed bodies at 150, 170 and the state query: 400, nothing written', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const { invoice, hash, jws } = await accept(env, env.alice);
      const good = await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, []);
      const before = await everything(env);
      for (const body of [{}, { invoice: jws }, { invoice: jws, request: jws, extra: 1 }, { invoice: { payload: 'x' }, request: jws }, []]) {
        assertRefused(await post150(env, body), 400, 'HTTP_SCHEMA_INVALID');
      }
      // Not countersigned: one signature where two are needed.
      const merchantOnly = await signedInvoice(invoiceFor(env.alice.id), env.merchant, undefined);
      const r = await post150(env, { invoice: merchantOnly, request: await receptionRequest(env.alice, merchantOnly) });
      assertRefused(r, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      assert.equal(r.json<{ details: { code: string } }>().details.code, 'PROTO_JWS_SIGNER_COUNT');
      for (const body of [{}, { ...good, amount: '5 JPY' }, { ...good, coins: [] }, { ...good, coins: [good.coins[0], good.coins[0]] }, { ...good, extra: true }, { ...good, change: [{ denominationId: 'x', blindedMessage: 'y' }] }]) {
        assertRefused(await post170(env, body), 400, 'HTTP_SCHEMA_INVALID');
      }
      const text = await env.app.inject({ method: 'POST', url: '/v1/payments/ecash', headers: { 'content-type': 'application/json' }, payload: '{"invoiceHash":' });
      assertRefused(text, 400, 'HTTP_JSON_MALFORMED');
      assertRefused(await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/tx%20bad` }), 400, 'HTTP_SCHEMA_INVALID');
      assertRefused(await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/tx-none` }), 404, 'PAY_PAYMENT_UNKNOWN');
      await assertUnchanged(env, before);
    });
  });
}
