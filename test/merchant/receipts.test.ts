// The merchant's side of the payment (issue 4, messages 210 → 190/220): a real
// receipt from the test payment server for a real invoice settles the order
// once (PAID, stock counted once, the same signed completion for every
// repeat); every receipt that is not the invoice's payment server's answer to
// THIS invoice is refused with its code and a refusal signed by the shop,
// changing nothing. And the shopper's client may stop after 180: the shop
// settles the order from the payment server (admin refresh, the sweep).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { runSettlementSweep, sweepOnce, type SweepLog } from '../../src/merchant/settle.ts';
import { COMPLETION_TYP, parseDocument, SIGNED_ERROR_TYP, type Completion, type JwsGeneral, type Receipt, type SignedError } from '../../src/protocol/documents/index.ts';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { CompletionResponse, ReceiptRefusal } from '../../src/protocol/messages/merchant.ts';
import { buildPki, CRL_MAX_AGE_SECONDS, PKI_NOW, type TestPki } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { ADMIN_TOKEN } from './harness.ts';
import {
  acceptInvoice,
  anonymousShopper,
  buy,
  hashOf,
  order,
  payloadOf,
  payWithCoins,
  postReceipt,
  signAsPaymentServer,
  startWorld,
  tampered,
  type World,
} from './purchase-client.ts';

const OTHER_PKI: TestPki = await buildPki();
const quiet: SweepLog = { info: () => {}, warn: () => {} };

/** Verifies a document as signed by this shop (role merchant, party shop-1) and returns its payload. */
async function signedByShop(world: World, jws: unknown, typ: string): Promise<unknown> {
  const v = await verifyDocument(jws, {
    now: world.m.clock.now,
    trustAnchors: [world.p.pki.root.der],
    crls: await world.p.pki.crls(),
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: typ,
    signers: [{ roles: ['merchant'] }],
  });
  assert.ok(v.ok, JSON.stringify(v));
  const signer = v.value.signers[0]!;
  assert.ok(signer.kind === 'certified' && signer.partyId === 'shop-1');
  return value(parseDocument(typ, v.value.payload));
}

/** The refusal: status, code, and the same refusal signed by the shop for this transaction. */
async function assertSignedRefusal(world: World, res: LightMyRequestResponse, status: number, code: string, transactionId: string, subject?: JwsGeneral): Promise<ReceiptRefusal> {
  assert.equal(res.statusCode, status, res.body);
  const body = ReceiptRefusal.parse(res.json());
  assert.equal(body.code, code, res.body);
  const signed = (await signedByShop(world, body.signedError, SIGNED_ERROR_TYP)) as SignedError;
  assert.equal(signed.code, code);
  assert.equal(signed.transactionId, transactionId);
  assert.equal(signed.message, body.message);
  if (subject) assert.equal(signed.subjectHash, await hashOf(subject));
  return body;
}

/** Every row the merchant keeps. */
async function everything(world: World): Promise<unknown> {
  const db = world.m.deps.db;
  return {
    orders: await db.selectFrom('merchant_orders').selectAll().orderBy('transaction_id').execute(),
    lines: await db.selectFrom('merchant_order_lines').selectAll().orderBy('transaction_id').orderBy('line_no').execute(),
    sold: await db.selectFrom('merchant_stock_sold').selectAll().orderBy('article').execute(),
  };
}

async function soldOf(world: World, article: string): Promise<bigint> {
  const row = await world.m.deps.db.selectFrom('merchant_stock_sold').select('sold').where('article', '=', article).executeTakeFirst();
  return row ? BigInt(row.sold) : 0n;
}

async function stateOf(world: World, transactionId: string): Promise<string> {
  const row = await world.m.deps.db.selectFrom('merchant_orders').select('payment_state').where('transaction_id', '=', transactionId).executeTakeFirstOrThrow();
  return row.payment_state;
}

function refresh(world: World, transactionId: string, token: string | null = ADMIN_TOKEN): Promise<LightMyRequestResponse> {
  return world.m.app.inject({ method: 'POST', url: `/v1/admin/orders/${transactionId}/refresh`, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
}

for (const t of testDatabases()) {
  void describe(`merchant 210 → 190/220 and settling from the payment server (${t.name})`, () => {
    for (const kind of ['identified', 'anonymous'] as const) {
      void test(`${kind}: a real receipt → 200 completion signed by the shop, order PAID, receipt kept, stock counted; the repeat → the same completion, stock counted once`, async (ctx) => {
        const world = await startWorld(t, ctx);
        const shopper = kind === 'identified' ? world.alice : await anonymousShopper();
        const bought = await buy(world, shopper);
        assert.equal(await stateOf(world, bought.transactionId), 'UNPAID');

        world.m.clock.now = new Date(PKI_NOW.getTime() + 60_000);
        const res = await postReceipt(world, bought.transactionId, { receipt: bought.receipt });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['idempotent-replay'], undefined);
        const answer = CompletionResponse.parse(res.json());
        assert.equal(answer.transactionId, bought.transactionId);
        const completion = (await signedByShop(world, answer.completion, COMPLETION_TYP)) as Completion;
        assert.deepEqual(completion, {
          typ: COMPLETION_TYP,
          transactionId: bought.transactionId,
          receiptHash: await hashOf(bought.receipt),
          state: 'paid',
          time: world.m.clock.now.toISOString(),
        });
        assert.equal(await soldOf(world, 'ARTICLE-C'), 2n);
        assert.equal(await soldOf(world, 'ARTICLE-A'), 0n, 'unlimited articles are not counted');

        const shown = await world.m.app.inject({ method: 'GET', url: `/v1/admin/orders/${bought.transactionId}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const detail = shown.json<{ paymentState: string; paidAt: string; receipt: unknown; completion: unknown }>();
        assert.equal(detail.paymentState, 'PAID');
        assert.equal(detail.paidAt, world.m.clock.now.toISOString());
        assert.deepEqual(detail.receipt, bought.receipt);
        assert.deepEqual(detail.completion, answer.completion);

        const before = await everything(world);
        world.m.clock.now = new Date(PKI_NOW.getTime() + 120_000);
        const again = await postReceipt(world, bought.transactionId, { receipt: bought.receipt });
        assert.equal(again.statusCode, 200, again.body);
        assert.equal(again.headers['idempotent-replay'], 'true');
        assert.deepEqual(again.json(), res.json());
        // The payment server's copy of the same receipt settles nothing twice either.
        const refreshed = await refresh(world, bought.transactionId);
        assert.equal(refreshed.statusCode, 200, refreshed.body);
        assert.deepEqual(refreshed.json<{ completion: unknown }>().completion, answer.completion);
        assert.deepEqual(await everything(world), before);

        // What was sold is gone from what can be ordered: 3 − 2 left 1.
        const listed = (await world.m.app.inject({ method: 'GET', url: '/v1/catalogue' })).json<{ articles: { id: string; stock?: number }[] }>();
        assert.equal(listed.articles.find((a) => a.id === 'ARTICLE-C')!.stock, 1);
        const refused = await order(world, shopper).then(
          () => assert.fail('an order for 2 more of ARTICLE-C was accepted with 1 left'),
          (e: unknown) => e,
        );
        assert.match(String(refused), /MERCHANT_OUT_OF_STOCK/);
      });
    }

    void test('the shopper\'s copy and the payment server\'s copy at once: one settlement, one completion, stock counted once', async (ctx) => {
      const world = await startWorld(t, ctx);
      const bought = await buy(world);
      const [a, b, c] = await Promise.all([
        postReceipt(world, bought.transactionId, { receipt: bought.receipt }),
        postReceipt(world, bought.transactionId, { receipt: bought.receipt }),
        refresh(world, bought.transactionId),
      ]);
      for (const r of [a, b, c]) assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(b.json<{ completion: unknown }>().completion, a.json<{ completion: unknown }>().completion);
      assert.deepEqual(c.json<{ completion: unknown }>().completion, a.json<{ completion: unknown }>().completion);
      assert.equal(await soldOf(world, 'ARTICLE-C'), 2n);
    });

    void test('attacks on 210: each refused with its code and a refusal signed by the shop, nothing changed; then the real receipt still settles', async (ctx) => {
      const world = await startWorld(t, ctx);
      const mine = await buy(world);
      const other = await buy(world);
      const real = payloadOf<Receipt>(mine.receipt);
      const before = await everything(world);
      const tx = mine.transactionId;

      // Altered after signing: the amount, then the invoice hash, under the original signature.
      for (const altered of [tampered(mine.receipt, { ...real, amountReceived: 'JPY:50' }), tampered(mine.receipt, { ...real, invoiceHash: other.invoiceHash })]) {
        const body = await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: altered }), 403, 'MERCHANT_RECEIPT_SIGNATURE_INVALID', tx, altered);
        assert.equal((body.details as { code: string }).code, 'PROTO_JWS_SIGNATURE_INVALID');
      }

      // Signed by another payment server of the same CA, a perfectly certified one.
      const pay2 = await world.p.pki.leaf({ role: 'payment', partyId: 'pay-2', displayName: 'Other Pay' });
      const byPay2 = await signAsPaymentServer(world, real, pay2);
      await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: byPay2 }), 403, 'MERCHANT_RECEIPT_WRONG_PAYMENT_SERVER', tx, byPay2);
      // …or calling itself pay-1 with a certificate for another key than the one the invoice came with.
      const fakePay1 = await world.p.pki.leaf({ role: 'payment', partyId: 'pay-1', displayName: 'Quittance Pay' });
      const byFake = await signAsPaymentServer(world, real, fakePay1);
      await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: byFake }), 403, 'MERCHANT_RECEIPT_WRONG_PAYMENT_SERVER', tx, byFake);
      // …or a payment server of another CA, or a party that is not a payment server at all.
      const foreign = await OTHER_PKI.leaf({ role: 'payment', partyId: 'pay-1', displayName: 'Quittance Pay' });
      const byForeign = await signAsPaymentServer(world, real, foreign);
      await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: byForeign }), 403, 'MERCHANT_RECEIPT_SIGNATURE_INVALID', tx, byForeign);
      const byShop = await signAsPaymentServer(world, real, world.shop);
      await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: byShop }), 403, 'MERCHANT_RECEIPT_SIGNATURE_INVALID', tx, byShop);

      // A real receipt, but for another invoice and transaction.
      const wrongTx = await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: other.receipt }), 422, 'MERCHANT_RECEIPT_MISMATCH', tx, other.receipt);
      assert.equal((wrongTx.details as { field: string }).field, 'transactionId');

      // Signed by the right payment server, but not an answer to this invoice.
      for (const [field, forged] of [
        ['invoiceHash', { ...real, invoiceHash: other.invoiceHash }],
        ['amountReceived', { ...real, amountReceived: 'JPY:4' }],
        ['amountReceived', { ...real, amountReceived: 'EUR:0.05' }],
        ['purchaserId', { ...real, purchaserId: 'mallory' }],
        ['shop', { ...real, shop: { id: 'shop-2', name: 'Another shop' } }],
        ['recipient', { ...real, recipient: { id: 'pay-1', name: 'Someone Else' } }],
        ['mode', { ...real, mode: 'account' }],
      ] as const) {
        const jws = await signAsPaymentServer(world, forged);
        const body = await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: jws }), 422, 'MERCHANT_RECEIPT_MISMATCH', tx, jws);
        assert.equal((body.details as { field: string }).field, field);
      }

      // Signed by the payment server, but not a receipt: another document type, or a receipt missing fields.
      const { amountReceived: _dropped, ...incomplete } = real;
      const notAReceipt = await signAsPaymentServer(world, incomplete);
      const invalid = await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: notAReceipt }), 400, 'MERCHANT_RECEIPT_INVALID', tx, notAReceipt);
      assert.ok(Array.isArray(invalid.details));
      const invoiceAsReceipt = await assertSignedRefusal(world, await postReceipt(world, tx, { receipt: mine.invoice }), 403, 'MERCHANT_RECEIPT_SIGNATURE_INVALID', tx, mine.invoice);
      assert.equal((invoiceAsReceipt.details as { code: string }).code, 'PROTO_JWS_TYP_MISMATCH');

      // An unknown transaction: 404, signed too.
      await assertSignedRefusal(world, await postReceipt(world, 'tx-unknown', { receipt: mine.receipt }), 404, 'MERCHANT_ORDER_NOT_FOUND', 'tx-unknown', mine.receipt);

      // Malformed bodies: schema refusals are signed as well, with the paths.
      for (const body of [{}, { receipt: 'x' }, { receipt: { payload: '', signatures: [] } }, { receipt: mine.receipt, extra: 1 }, []]) {
        const refused = await assertSignedRefusal(world, await postReceipt(world, tx, body), 400, 'HTTP_SCHEMA_INVALID', tx);
        assert.ok(Array.isArray(refused.details));
      }
      // Refused before the route (not JSON, wrong type, bad id in the path): plain errors, nothing to bind a signature to.
      const notJson = await world.m.app.inject({ method: 'POST', url: `/v1/orders/${tx}/receipt`, payload: '{"receipt":', headers: { 'content-type': 'application/json' } });
      assert.equal(notJson.statusCode, 400);
      assert.equal(notJson.json<{ code: string }>().code, 'HTTP_JSON_MALFORMED');
      const text = await world.m.app.inject({ method: 'POST', url: `/v1/orders/${tx}/receipt`, payload: 'receipt', headers: { 'content-type': 'text/plain' } });
      assert.equal(text.statusCode, 415);
      const badId = await postReceipt(world, '..%2Fetc', { receipt: mine.receipt });
      assert.equal(badId.statusCode, 400);
      assert.equal(badId.json<{ code: string }>().code, 'HTTP_SCHEMA_INVALID');

      assert.deepEqual(await everything(world), before);

      const settled = await postReceipt(world, tx, { receipt: mine.receipt });
      assert.equal(settled.statusCode, 200, settled.body);
      assert.equal(await stateOf(world, tx), 'PAID');
      assert.equal(await stateOf(world, other.transactionId), 'UNPAID');
    });

    void test('a paid order refuses a receipt of another transaction, and keeps its completion', async (ctx) => {
      const world = await startWorld(t, ctx);
      const mine = await buy(world);
      const other = await buy(world);
      const first = await postReceipt(world, mine.transactionId, { receipt: mine.receipt });
      assert.equal(first.statusCode, 200, first.body);
      const before = await everything(world);
      await assertSignedRefusal(world, await postReceipt(world, mine.transactionId, { receipt: other.receipt }), 422, 'MERCHANT_RECEIPT_MISMATCH', mine.transactionId, other.receipt);
      assert.deepEqual(await everything(world), before);
    });

    void test('the shopper\'s client stops after 180: admin refresh settles the order from the payment server; the late 210 gets the same completion', async (ctx) => {
      const world = await startWorld(t, ctx);
      const request = await order(world, world.alice);
      const tx = request.transactionId;

      // Not yet at the payment server, then accepted (160) but unpaid: nothing to settle.
      const unknown = await refresh(world, tx);
      assert.equal(unknown.statusCode, 200, unknown.body);
      assert.deepEqual(unknown.json(), { transactionId: tx, paymentState: 'UNPAID', paymentServerState: 'UNKNOWN' });
      await acceptInvoice(world, world.alice, request);
      const accepted = await refresh(world, tx);
      assert.deepEqual(accepted.json(), { transactionId: tx, paymentState: 'UNPAID', paymentServerState: 'RECEPTION_ACCEPTED' });
      assert.equal(await stateOf(world, tx), 'UNPAID');

      const receipt = await payWithCoins(world, request);
      // The shopper's client dies here. The operator (or the sweep) asks.
      const paid = await refresh(world, tx);
      assert.equal(paid.statusCode, 200, paid.body);
      const outcome = paid.json<{ paymentState: string; paymentServerState: string; completion: JwsGeneral }>();
      assert.equal(outcome.paymentState, 'PAID');
      assert.equal(outcome.paymentServerState, 'PAID');
      const completion = (await signedByShop(world, outcome.completion, COMPLETION_TYP)) as Completion;
      assert.equal(completion.receiptHash, await hashOf(receipt));
      assert.equal(await stateOf(world, tx), 'PAID');
      assert.equal(await soldOf(world, 'ARTICLE-C'), 2n);

      const late = await postReceipt(world, tx, { receipt });
      assert.equal(late.statusCode, 200, late.body);
      assert.equal(late.headers['idempotent-replay'], 'true');
      assert.deepEqual(late.json<{ completion: unknown }>().completion, outcome.completion);
      assert.equal(await soldOf(world, 'ARTICLE-C'), 2n);
    });

    void test('the sweep settles paid orders it still waits for, and leaves the others', async (ctx) => {
      const world = await startWorld(t, ctx);
      const paid = await buy(world);
      const accepted = await order(world, world.alice);
      await acceptInvoice(world, world.alice, accepted);
      const untouched = await order(world, world.alice);

      const pass = await sweepOnce(world.m.deps, quiet);
      assert.deepEqual(pass, { asked: 3, settled: 1 });
      assert.equal(await stateOf(world, paid.transactionId), 'PAID');
      assert.equal(await stateOf(world, accepted.transactionId), 'UNPAID');
      assert.equal(await stateOf(world, untouched.transactionId), 'UNPAID');

      // Past paymentDueTime (30 min) + settleMarginMinutes (60): no longer asked about.
      await payWithCoins(world, accepted);
      world.m.clock.now = new Date(PKI_NOW.getTime() + 91 * 60_000);
      assert.deepEqual(await sweepOnce(world.m.deps, quiet), { asked: 0, settled: 0 });
      assert.equal(await stateOf(world, accepted.transactionId), 'UNPAID');
      // The operator may still ask explicitly.
      world.m.clock.now = PKI_NOW;
      assert.equal((await refresh(world, accepted.transactionId)).json<{ paymentState: string }>().paymentState, 'PAID');
    });

    void test('the sweep in the background settles an order without the shopper and stops when told', async (ctx) => {
      const world = await startWorld(t, ctx, { settleSweepSeconds: 1 });
      const bought = await buy(world);
      const stop = new AbortController();
      const running = runSettlementSweep(world.m.deps, { signal: stop.signal, log: quiet });
      try {
        while ((await stateOf(world, bought.transactionId)) !== 'PAID') await new Promise((r) => setTimeout(r, 100));
      } finally {
        stop.abort();
        await running;
      }
      assert.equal(await soldOf(world, 'ARTICLE-C'), 2n);
    });

    void test('refresh: payment server unreachable → 502, a lying payment server → the receipt check refuses, unknown order → 404, no token → 401; nothing changed', async (ctx) => {
      const world = await startWorld(t, ctx);
      const mine = await buy(world);
      const other = await buy(world);
      const before = await everything(world);

      world.network.down = true;
      const down = await refresh(world, mine.transactionId);
      assert.equal(down.statusCode, 502, down.body);
      assert.equal(down.json<{ code: string }>().code, 'MERCHANT_PAYMENT_SERVER_UNREACHABLE');
      world.network.down = false;

      // A payment server answering PAID with another transaction's receipt (or its own forgery) settles nothing.
      world.m.deps.fetch = async () =>
        new Response(JSON.stringify({ shopId: 'shop-1', transactionId: mine.transactionId, state: 'PAID', amount: 'JPY:5', invoiceHash: mine.invoiceHash, receipt: other.receipt }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        });
      const lying = await refresh(world, mine.transactionId);
      assert.equal(lying.statusCode, 422, lying.body);
      assert.equal(lying.json<{ code: string }>().code, 'MERCHANT_RECEIPT_MISMATCH');
      world.m.deps.fetch = async () => new Response('<html>', { status: 200 });
      assert.equal((await refresh(world, mine.transactionId)).json<{ code: string }>().code, 'MERCHANT_PAYMENT_SERVER_UNREACHABLE');
      world.m.deps.fetch = async () => new Response(JSON.stringify({ code: 'HTTP_INTERNAL', message: 'x' }), { status: 500 });
      assert.equal((await refresh(world, mine.transactionId)).statusCode, 502);

      const missing = await refresh(world, 'tx-unknown');
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<{ code: string }>().code, 'MERCHANT_ORDER_NOT_FOUND');
      assert.equal((await refresh(world, mine.transactionId, null)).statusCode, 401);
      assert.equal((await refresh(world, mine.transactionId, 'qt_wrong')).statusCode, 401);

      assert.deepEqual(await everything(world), before);
    });
  });
}
