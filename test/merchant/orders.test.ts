// The merchant server, messages 110–140: the signed hello, orders from
// certified and anonymous purchasers becoming signed invoices with every
// fig. 6 field, and every attack on the order refused with its code and
// nothing stored.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import { HELLO_RESPONSE_TYP, INVOICE_TYP, ORDER_TYP, parseDocument, type Invoice } from '../../src/protocol/documents/index.ts';
import { documentHash, signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { err } from '../../src/protocol/result.ts';
import { canonicalizeToBytes } from '../../src/protocol/rfc8785.ts';
import { pemToDer, validatePath } from '../../src/protocol/x509/index.ts';
import { buildPki, CRL_MAX_AGE_SECONDS, PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import {
  ADMIN_TOKEN,
  ALICE,
  anonymousKey,
  CATALOGUE,
  CONDITIONS_HASH,
  countRows,
  LINES,
  orderFor,
  PAY,
  PAYMENT_URL,
  PKI,
  postOrder,
  SHOP,
  signAnonymous,
  signCertified,
  startTestMerchant,
  type TestMerchant,
} from './harness.ts';

type ErrorBody = { code: string; message: string; details?: Record<string, unknown> & { code?: string } };

async function verifyAs(jws: unknown, typ: string, role: 'merchant' | 'client') {
  return verifyDocument(jws, {
    now: PKI_NOW,
    trustAnchors: [PKI.root.der],
    crls: await PKI.crls(),
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: typ,
    signers: [{ roles: [role] }],
  });
}

/** Posts an order that must be refused, and checks the code, the status and that nothing was stored. */
async function refused(m: TestMerchant, jws: unknown, status: number, code: string): Promise<ErrorBody> {
  const before = await countRows(m);
  const res = await postOrder(m.app, jws);
  const body = res.json<ErrorBody>();
  assert.equal(res.statusCode, status, res.body);
  assert.equal(body.code, code, res.body);
  assert.deepEqual(await countRows(m), before, 'a refused order stores nothing');
  return body;
}

for (const t of testDatabases()) {
  void describe(`merchant 110–140 (${t.name})`, () => {
    void test('hello: the nonce comes back signed by the merchant certificate, with the shop identity', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const nonce = 'bm9uY2Utb2YtdGhlLXdhbGxldC0xMjM0NTY';
      const res = await m.app.inject({ method: 'POST', url: '/v1/hello', payload: { nonce } });
      assert.equal(res.statusCode, 200, res.body);
      const v = await verifyAs(res.json(), HELLO_RESPONSE_TYP, 'merchant');
      assert.ok(v.ok, JSON.stringify(v));
      const signer = v.value.signers[0]!;
      assert.equal(signer.kind === 'certified' && signer.partyId, 'shop-1');
      const doc = parseDocument(HELLO_RESPONSE_TYP, v.value.payload);
      assert.ok(doc.ok, JSON.stringify(doc));
      assert.equal(doc.value.nonce, nonce);
      assert.deepEqual(doc.value.merchant, { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer', url: 'http://localhost/' });
      assert.equal(doc.value.time, PKI_NOW.toISOString());
      // The same signature is no evidence of any other role.
      const asClient = await verifyAs(res.json(), HELLO_RESPONSE_TYP, 'client');
      assert.equal(asClient.ok ? 'ok' : asClient.code, 'PROTO_CERT_ROLE_MISMATCH');

      const bad = await m.app.inject({ method: 'POST', url: '/v1/hello', payload: { nonce: 'short' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json<ErrorBody>().code, 'HTTP_SCHEMA_INVALID');
    });

    void test('hello names the configured public URL when there is one', async (ctx) => {
      const m = await startTestMerchant(t, { config: { url: 'https://shop.example/' } });
      ctx.after(() => m.close());
      const res = await m.app.inject({ method: 'POST', url: '/v1/hello', payload: { nonce: 'AAAAAAAAAAAAAAAAAAAAAAAA' } });
      const v = await verifyAs(res.json(), HELLO_RESPONSE_TYP, 'merchant');
      assert.ok(v.ok);
      assert.equal((v.value.payload as { merchant: { url: string } }).merchant.url, 'https://shop.example/');
    });

    void test('catalogue: articles, modes and the selling conditions with their hash', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const res = await m.app.inject({ method: 'GET', url: '/v1/catalogue' });
      assert.equal(res.statusCode, 200);
      const body = res.json<{ articles: unknown[]; paymentModes: string[]; sellingConditions: { text: string; hash: string }; merchant: unknown }>();
      assert.deepEqual(body.articles, CATALOGUE.articles);
      assert.deepEqual(body.paymentModes, ['ecash', 'account']);
      assert.deepEqual(body.sellingConditions, { text: CATALOGUE.sellingConditions, hash: CONDITIONS_HASH });
      assert.deepEqual(body.merchant, { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer' });
    });

    void test('identified order → 201 payment request: an invoice with every fig. 6 field, signed by the merchant; order and lines stored UNPAID', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const order = orderFor('alice', { paymentMode: 'account' });
      const jws = await signCertified(order);
      const res = await postOrder(m.app, jws);
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json<{ transactionId: string; invoice: unknown; paymentServerChain: string[] }>();

      const v = await verifyAs(body.invoice, INVOICE_TYP, 'merchant');
      assert.ok(v.ok, JSON.stringify(v));
      const inv = parseDocument(INVOICE_TYP, v.value.payload);
      assert.ok(inv.ok, JSON.stringify(inv));
      const expected: Invoice = {
        typ: INVOICE_TYP,
        transactionId: body.transactionId,
        purchaserId: 'alice',
        lines: LINES,
        amount: 'JPY:4000',
        paymentMode: 'account',
        shop: { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer' },
        paymentServer: { id: 'pay-1', name: 'Quittance Pay' },
        paymentAddress: PAYMENT_URL,
        billTime: '2025-09-01T12:00:00.000Z',
        paymentDueTime: '2025-09-01T12:30:00.000Z',
        refundDeadline: '2025-10-01T12:00:00.000Z',
        sellingConditionsHash: CONDITIONS_HASH,
        orderHash: await documentHash(decodeBase64url(jws.payload)!),
      };
      assert.deepEqual(inv.value, expected);

      // The chain sent along is the payment server's, valid as a `payment` party.
      const chain = body.paymentServerChain.map((p) => pemToDer(p, 'CERTIFICATE')!);
      assert.deepEqual(chain, PAY.chain);
      const path = await validatePath(chain, await PKI.policy({ expectedRoles: ['payment'] }));
      assert.ok(path.ok && path.value.identity.partyId === 'pay-1');

      const row = await m.handle.db.selectFrom('merchant_orders').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.transaction_id, body.transactionId);
      assert.equal(row.purchaser_id, 'alice');
      assert.equal(row.purchaser_kind, 'certified');
      assert.equal(row.total, 4000n);
      assert.equal(row.payment_mode, 'account');
      assert.equal(row.payment_state, 'UNPAID');
      assert.equal(row.invoice_hash, v.value.documentHash);
      const lines = await m.handle.db.selectFrom('merchant_order_lines').selectAll().orderBy('line_no').execute();
      assert.deepEqual(
        lines.map((l) => [l.article, l.quantity, l.unit_price]),
        [
          ['ARTICLE-A', 1, 1000n],
          ['ARTICLE-C', 2, 1500n],
        ],
      );
    });

    void test('anonymous order: a per-order key, purchaserId = its RFC 7638 thumbprint, carried into the invoice', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const key = await anonymousKey();
      const jws = await signAnonymous(orderFor(key.thumbprint), key);
      const res = await postOrder(m.app, jws);
      assert.equal(res.statusCode, 201, res.body);
      const v = await verifyAs(res.json<{ invoice: unknown }>().invoice, INVOICE_TYP, 'merchant');
      assert.ok(v.ok);
      assert.equal((v.value.payload as Invoice).purchaserId, key.thumbprint);
      assert.equal((v.value.payload as Invoice).paymentMode, 'ecash');
      const row = await m.handle.db.selectFrom('merchant_orders').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.purchaser_kind, 'anonymous');
      assert.equal(row.purchaser_id, key.thumbprint);
    });

    void test('the same signed order twice → the same invoice, stored once; concurrent twins too', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const jws = await signCertified(orderFor('alice'));
      const first = await postOrder(m.app, jws);
      assert.equal(first.statusCode, 201);
      // The catalogue may change in between: the repeat still gets its invoice.
      m.clock.now = new Date(PKI_NOW.getTime() + 60_000);
      const again = await postOrder(m.app, jws);
      assert.equal(again.statusCode, 200);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());
      assert.deepEqual(await countRows(m), { orders: 1, lines: 2 });

      const twin = await signCertified(orderFor('alice'));
      const [a, b] = await Promise.all([postOrder(m.app, twin), postOrder(m.app, twin)]);
      assert.deepEqual([a.statusCode, b.statusCode].sort(), [200, 201]);
      assert.deepEqual(a.json(), b.json());
      assert.deepEqual(await countRows(m), { orders: 2, lines: 4 });
    });

    void test('replayed orderId with a different order → 409 MERCHANT_ORDER_CONFLICT; another purchaser may use the same id', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const order = orderFor('alice');
      assert.equal((await postOrder(m.app, await signCertified(order))).statusCode, 201);
      const other = { ...order, lines: [LINES[0]!], total: 'JPY:1000' };
      await refused(m, await signCertified(other), 409, 'MERCHANT_ORDER_CONFLICT');
      const key = await anonymousKey();
      const res = await postOrder(m.app, await signAnonymous({ ...order, purchaserId: key.thumbprint }, key));
      assert.equal(res.statusCode, 201);
    });

    void test('tampered order: payload changed after signing → 403 MERCHANT_ORDER_SIGNATURE_INVALID (PROTO_JWS_SIGNATURE_INVALID)', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const jws = await signCertified(orderFor('alice'));
      const cheaper = { ...orderFor('alice'), lines: [{ ...LINES[0]!, quantity: 5 }], total: 'JPY:5000' };
      const bytes = canonicalizeToBytes(cheaper);
      assert.ok(bytes.ok);
      const tampered = { payload: encodeBase64url(bytes.value), signatures: jws.signatures };
      const body = await refused(m, tampered, 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(body.details?.code, 'PROTO_JWS_SIGNATURE_INVALID');
    });

    void test('an order signed by a certificate without the client role, of another CA, or revoked → 403 with the PROTO_ code', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const shop2 = await PKI.leaf({ role: 'merchant', partyId: 'shop-2' });
      const asMerchant = await refused(m, await signCertified(orderFor('shop-2'), shop2), 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(asMerchant.details?.code, 'PROTO_CERT_ROLE_MISMATCH');
      const asShopItself = await refused(m, await signCertified(orderFor('shop-1'), SHOP), 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(asShopItself.details?.code, 'PROTO_CERT_ROLE_MISMATCH');

      // A look-alike CA: the same names as ours, another key.
      const otherPki = await buildPki();
      const stranger = await otherPki.leaf({ role: 'client', partyId: 'alice' });
      const foreign = await refused(m, await signCertified(orderFor('alice'), stranger), 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(foreign.details?.code, 'PROTO_CERT_SIGNATURE_INVALID');
      const unanchored = await refused(m, await signCertified(orderFor('alice'), { ...ALICE, chain: [ALICE.der] }), 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(unanchored.details?.code, 'PROTO_CERT_UNTRUSTED_ROOT');

      const revokedCrls = [await PKI.crl(PKI.root), await PKI.crl(PKI.intermediate, { revoked: [ALICE.der] })];
      m.deps.crls = async () => ({ ok: true, value: { crls: revokedCrls, required: true } });
      const revoked = await refused(m, await signCertified(orderFor('alice')), 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(revoked.details?.code, 'PROTO_CERT_REVOKED');
    });

    void test('purchaserId that is not the signer → 403 MERCHANT_PURCHASER_MISMATCH (anonymous and certified)', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const key = await anonymousKey();
      const other = await anonymousKey();
      await refused(m, await signAnonymous(orderFor(other.thumbprint), key), 403, 'MERCHANT_PURCHASER_MISMATCH');
      await refused(m, await signAnonymous(orderFor('alice'), key), 403, 'MERCHANT_PURCHASER_MISMATCH');
      await refused(m, await signCertified(orderFor('bob')), 403, 'MERCHANT_PURCHASER_MISMATCH');
      await refused(m, await signCertified(orderFor(key.thumbprint)), 403, 'MERCHANT_PURCHASER_MISMATCH');
    });

    void test('business rules: unknown article, wrong price, wrong name, wrong total, other shop, other conditions, card, stock', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const sign = (o: Parameters<typeof orderFor>[1]) => signCertified(orderFor('alice', o));
      const a = LINES[0]!;
      await refused(m, await sign({ lines: [{ ...a, article: 'ARTICLE-Z' }], total: 'JPY:1000' }), 422, 'MERCHANT_ARTICLE_UNKNOWN');
      const price = await refused(m, await sign({ lines: [{ ...a, unitPrice: 'JPY:100' }], total: 'JPY:100' }), 422, 'MERCHANT_PRICE_MISMATCH');
      assert.equal(price.details?.unitPrice, 'JPY:1000');
      await refused(m, await sign({ lines: [{ ...a, unitPrice: 'EUR:10.00' }], total: 'EUR:10.00' }), 422, 'MERCHANT_PRICE_MISMATCH');
      await refused(m, await sign({ lines: [{ ...a, name: 'ARTICLE A (gold)' }], total: 'JPY:1000' }), 422, 'MERCHANT_ARTICLE_NAME_MISMATCH');
      const total = await refused(m, await sign({ total: 'JPY:3999' }), 400, 'MERCHANT_ORDER_INVALID');
      assert.deepEqual((total.details as unknown as { path: string }[]).map((i) => i.path), ['total']);
      await refused(m, await sign({ merchantId: 'shop-2' }), 422, 'MERCHANT_NOT_THIS_SHOP');
      const conditions = await refused(m, await sign({ sellingConditionsHash: 'A'.repeat(43) }), 422, 'MERCHANT_SELLING_CONDITIONS_MISMATCH');
      assert.equal(conditions.details?.sellingConditionsHash, CONDITIONS_HASH);
      await refused(m, await sign({ paymentMode: 'card' }), 422, 'MERCHANT_PAYMENT_MODE_UNSUPPORTED');
      const c = LINES[1]!;
      // Stock 3: 2 + 2 over two lines is 4.
      await refused(m, await sign({ lines: [c, c], total: 'JPY:6000' }), 409, 'MERCHANT_OUT_OF_STOCK');
      assert.equal((await postOrder(m.app, await sign({ lines: [{ ...c, quantity: 3 }], total: 'JPY:4500' }))).statusCode, 201);
    });

    void test('a signed payload that is not an order, or a JWS of another kind → refused, nothing stored', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const notOrder = await signDocument({ payload: { typ: ORDER_TYP, hello: 1 }, typ: ORDER_TYP, privateKey: ALICE.keys.privateKey, alg: 'EdDSA', x5c: ALICE.chain });
      await refused(m, notOrder, 400, 'MERCHANT_ORDER_INVALID');
      const invoiceTyp = await signDocument({ payload: { ...orderFor('alice'), typ: INVOICE_TYP }, typ: INVOICE_TYP, privateKey: ALICE.keys.privateKey, alg: 'EdDSA', x5c: ALICE.chain });
      const typ = await refused(m, invoiceTyp, 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(typ.details?.code, 'PROTO_JWS_TYP_MISMATCH');
      const twice = await signCertified(orderFor('alice'));
      const two = await refused(m, { payload: twice.payload, signatures: [twice.signatures[0]!, twice.signatures[0]!] }, 403, 'MERCHANT_ORDER_SIGNATURE_INVALID');
      assert.equal(two.details?.code, 'PROTO_JWS_SIGNER_COUNT');
    });

    void test('malformed bodies → 400/415, nothing stored', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const jws = await signCertified(orderFor('alice'));
      const cases: { payload?: unknown; raw?: string; type?: string; status: number; code: string }[] = [
        { raw: '{"order":', status: 400, code: 'HTTP_JSON_MALFORMED' },
        { raw: 'order', type: 'text/plain', status: 415, code: 'HTTP_UNSUPPORTED_MEDIA_TYPE' },
        { payload: {}, status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { payload: { order: jws, extra: 1 }, status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { payload: { order: { ...jws, payload: 'not base64url!' } }, status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { payload: { order: { payload: jws.payload, signatures: [] } }, status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { payload: { order: { ...jws, signatures: [{ ...jws.signatures[0]!, header: { kid: 'x' } }] } }, status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { payload: { order: 'eyJhbGciOiJub25lIn0..' }, status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { raw: '{"order":{"payload":"a","signatures":[]},"__proto__":{"x":1}}', status: 400, code: 'HTTP_JSON_MALFORMED' },
      ];
      for (const c of cases) {
        const res = await m.app.inject({
          method: 'POST',
          url: '/v1/orders',
          headers: { 'content-type': c.type ?? 'application/json' },
          payload: c.raw ?? JSON.stringify(c.payload),
        });
        assert.equal(res.statusCode, c.status, `${JSON.stringify(c)} → ${res.body}`);
        assert.equal(res.json<ErrorBody>().code, c.code, res.body);
      }
      const big = await m.app.inject({ method: 'POST', url: '/v1/orders', payload: { order: { payload: 'A'.repeat(300 * 1024), signatures: jws.signatures } } });
      assert.equal(big.statusCode, 413);
      assert.deepEqual(await countRows(m), { orders: 0, lines: 0 });
    });

    void test('no payment server named → 503 MERCHANT_PAYMENT_SERVER_UNSET; CRL unavailable → 503 MERCHANT_CRL_UNAVAILABLE', async (ctx) => {
      const m = await startTestMerchant(t, { paymentServer: false });
      ctx.after(() => m.close());
      await refused(m, await signCertified(orderFor('alice')), 503, 'MERCHANT_PAYMENT_SERVER_UNSET');
      const n = await startTestMerchant(t, { crls: async () => err('MERCHANT_CRL_UNAVAILABLE', 'down') });
      ctx.after(() => n.close());
      await refused(n, await signCertified(orderFor('alice')), 503, 'MERCHANT_CRL_UNAVAILABLE');
      // An anonymous order needs no CRL and is still taken.
      const key = await anonymousKey();
      assert.equal((await postOrder(n.app, await signAnonymous(orderFor(key.thumbprint), key))).statusCode, 201);
    });

    void test('admin: orders list and one order with lines and state; no token or a wrong one → 401', async (ctx) => {
      const m = await startTestMerchant(t);
      ctx.after(() => m.close());
      const res = await postOrder(m.app, await signCertified(orderFor('alice')));
      const tx = res.json<{ transactionId: string }>().transactionId;

      for (const url of ['/v1/admin/orders', `/v1/admin/orders/${tx}`]) {
        const none = await m.app.inject({ method: 'GET', url });
        assert.equal(none.statusCode, 401);
        assert.equal(none.json<ErrorBody>().code, 'HTTP_AUTH_REQUIRED');
        const wrong = await m.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer qt_not-the-operator-token-at-all' } });
        assert.equal(wrong.statusCode, 401);
        assert.equal(wrong.json<ErrorBody>().code, 'HTTP_AUTH_INVALID');
      }
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      const list = await m.app.inject({ method: 'GET', url: '/v1/admin/orders', headers: auth });
      assert.equal(list.statusCode, 200);
      const orders = list.json<{ orders: { transactionId: string; amount: string; paymentState: string; purchaserId: string }[] }>().orders;
      assert.deepEqual(
        orders.map((o) => [o.transactionId, o.amount, o.paymentState, o.purchaserId]),
        [[tx, 'JPY:4000', 'UNPAID', 'alice']],
      );
      const one = await m.app.inject({ method: 'GET', url: `/v1/admin/orders/${tx}`, headers: auth });
      assert.equal(one.statusCode, 200);
      const detail = one.json<{ lines: unknown[]; paymentState: string; invoice: unknown }>();
      assert.equal(detail.paymentState, 'UNPAID');
      assert.deepEqual(detail.lines, LINES.map((l) => ({ article: l.article, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice })));
      assert.deepEqual(detail.invoice, res.json<{ invoice: unknown }>().invoice);
      const missing = await m.app.inject({ method: 'GET', url: '/v1/admin/orders/tx-none', headers: auth });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<ErrorBody>().code, 'MERCHANT_ORDER_NOT_FOUND');
      const badLimit = await m.app.inject({ method: 'GET', url: '/v1/admin/orders?limit=0', headers: auth });
      assert.equal(badLimit.statusCode, 400);
    });
  });
}
