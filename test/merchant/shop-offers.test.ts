// Orders for shop API offers (issue 6): an order (130) with `offerId` is
// invoiced with the offer's lines instead of catalogue prices and takes the
// offer once — of orders racing for it exactly one wins. Lines or total not
// the offer's, an expired offer, a taken one: refused with their code, nothing
// changed. An order that lapsed unpaid frees its offer only once the payment
// server confirms it was not paid. The shop approves refunds through the API.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { multiplyAmount, parseAmount, formatAmount, sumAmounts } from '../../src/protocol/amount.ts';
import { RECEIPT_TYP, type Line } from '../../src/protocol/documents/index.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { RepaymentAnswer } from '../../src/protocol/messages/merchant.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { anonymousKey, LINES, noNetwork, orderFor, PAY, postOrder, signCertified } from './harness.ts';
import { anonymous, ask, certified, followClock, getAnswer, payOrder, permitOf, requestFor, type Placed } from './refund-client.ts';
import { allRows, count, createOffer, orderOffer, placed, publicOffer, refusedWith, SHOP_LINES, SHOP_TOTAL, shopGet, shopPost, startShop, type Shop } from './shop-client.ts';

const MINUTE_MS = 60_000;

type ShopOrder = { offerId: string; state: string; order?: { transactionId: string; state: string; paymentState: string; paidAt?: string; refunded: string }; refunds?: { requestId: string; state: string }[] };

async function shopOrder(m: Shop, offerId: string): Promise<ShopOrder> {
  const res = await shopGet(m, `/v1/shop/orders/${offerId}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<ShopOrder>();
}

function totalOf(lines: Line[]): string {
  const amounts = lines.map((l) => value(multiplyAmount(value(parseAmount(l.unitPrice)), l.quantity)));
  return formatAmount(value(sumAmounts('JPY', amounts)));
}

async function unchanged(m: Shop, attack: () => Promise<unknown>): Promise<void> {
  const before = await allRows(m);
  await attack();
  assert.deepEqual(await allRows(m), before);
}

async function offerRow(m: Shop, offerId: string) {
  return m.handle.db.selectFrom('merchant_offers').selectAll().where('offer_id', '=', offerId).executeTakeFirstOrThrow();
}

/** The merchant's payment server, faked: what it answers to GET /v1/payments/shop-1/:tx. */
function paymentServerSays(m: Shop, answer: (tx: string) => Promise<{ status: number; body: unknown }>): string[] {
  const asked: string[] = [];
  m.deps.fetch = async (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const match = /^\/v1\/payments\/shop-1\/([^/]+)$/.exec(url.pathname);
    assert.ok(match, url.pathname);
    asked.push(decodeURIComponent(match[1]!));
    const a = await answer(decodeURIComponent(match[1]!));
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json' } });
  };
  return asked;
}

/** The payment server's signed receipt for a placed order, as GET /v1/payments answers it once paid. */
async function paidAnswer(m: Shop, p: Placed): Promise<{ status: number; body: unknown }> {
  const row = await m.handle.db.selectFrom('merchant_orders').select('invoice_hash').where('transaction_id', '=', p.transactionId).executeTakeFirstOrThrow();
  const receipt = {
    typ: RECEIPT_TYP,
    transactionId: p.transactionId,
    purchaserId: p.invoice.purchaserId,
    amountReceived: p.invoice.amount,
    mode: p.invoice.paymentMode,
    shop: p.invoice.shop,
    recipient: p.invoice.paymentServer,
    time: PKI_NOW.toISOString(),
    invoiceHash: row.invoice_hash,
  };
  const jws = await signDocument({ payload: receipt, typ: RECEIPT_TYP, privateKey: PAY.keys.privateKey, alg: 'EdDSA', x5c: PAY.chain });
  return {
    status: 200,
    body: { shopId: 'shop-1', transactionId: p.transactionId, state: 'PAID', amount: p.invoice.amount, invoiceHash: row.invoice_hash, paidAt: PKI_NOW.toISOString(), receipt: { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) } },
  };
}

for (const t of testDatabases()) {
  void describe(`shop API: orders for offers and refunds (${t.name})`, () => {
    void test('an order for an offer is invoiced with its lines (not in the catalogue) and takes it; once paid the shop API shows it PAID', async (ctx) => {
      const m = await startShop(t, ctx);
      const { offerId } = await createOffer(m, { lines: SHOP_LINES, reference: 'order #7' });
      const alice = certified();
      const orderId = 'fixed-order-id-0123456789';
      const first = await orderOffer(m, alice, offerId, { orderId });
      const p = placed(first, alice);
      assert.deepEqual(p.invoice.lines, SHOP_LINES);
      assert.equal(p.invoice.amount, SHOP_TOTAL);
      // The same signed order again: its invoice, not "taken".
      const again = await orderOffer(m, alice, offerId, { orderId });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());

      assert.equal((await publicOffer(m, offerId)).state, 'taken');
      let view = await shopOrder(m, offerId);
      assert.equal(view.state, 'taken');
      assert.deepEqual([view.order?.transactionId, view.order?.state, view.order?.paymentState], [p.transactionId, 'UNPAID', 'UNPAID']);
      await payOrder(m, p);
      view = await shopOrder(m, offerId);
      assert.deepEqual([view.order?.state, view.order?.paymentState, view.order?.paidAt, view.order?.refunded], ['PAID', 'PAID', PKI_NOW.toISOString(), 'JPY:0']);
      const taken = (await shopGet(m, '/v1/shop/orders?state=taken')).json<{ orders: ShopOrder[] }>().orders;
      assert.deepEqual(taken.map((o) => [o.offerId, o.order?.paymentState]), [[offerId, 'PAID']]);
      // Without offerId an order is priced from the catalogue as before: the offer's lines are no catalogue articles.
      const plain = await postOrder(m.app, await signCertified(orderFor('alice', { lines: SHOP_LINES, total: SHOP_TOTAL })));
      refusedWith(plain, 422, 'MERCHANT_ARTICLE_UNKNOWN');
    });

    void test('lines or total not the offer\'s: MERCHANT_OFFER_MISMATCH; an unknown offer: 404; nothing changes', async (ctx) => {
      const m = await startShop(t, ctx);
      const { offerId } = await createOffer(m);
      const [a, b] = SHOP_LINES as [Line, Line];
      const variants: Line[][] = [
        [{ ...a, unitPrice: 'JPY:1' }, b],
        [{ ...a, quantity: 1 }, b],
        [{ ...a, name: 'Custom engraving (deluxe)' }, b],
        [{ ...a, article: 'SKU-101' }, b],
        [a],
        [a, b, b],
        [b, a],
        LINES,
      ];
      const who = anonymous(await anonymousKey());
      for (const lines of variants) {
        await unchanged(m, async () => {
          const body = refusedWith(await orderOffer(m, who, offerId, { lines, total: totalOf(lines) }), 422, 'MERCHANT_OFFER_MISMATCH');
          assert.equal((body.details as { field: string }).field, 'lines');
        });
      }
      await unchanged(m, async () => {
        refusedWith(await orderOffer(m, who, 'of-00000000000000000000000000000000'), 404, 'MERCHANT_OFFER_NOT_FOUND');
        // A total that is not the sum of the lines is not an order at all.
        refusedWith(await orderOffer(m, who, offerId, { total: 'JPY:1' }), 400, 'MERCHANT_ORDER_INVALID');
      });
      assert.equal((await offerRow(m, offerId)).state, 'open');
      // The exact lines still buy it.
      placed(await orderOffer(m, who, offerId), who);
    });

    void test('orders racing for one offer: exactly one is invoiced, every other gets MERCHANT_OFFER_TAKEN; so does a later one', async (ctx) => {
      const m = await startShop(t, ctx);
      const { offerId } = await createOffer(m);
      const buyers = [certified(), ...(await Promise.all([anonymousKey(), anonymousKey(), anonymousKey()])).map(anonymous)];
      const results = await Promise.all(buyers.map((who) => orderOffer(m, who, offerId)));
      const winners = results.filter((r) => r.statusCode === 201);
      assert.equal(winners.length, 1, results.map((r) => r.body).join('\n'));
      for (const r of results.filter((x) => x.statusCode !== 201)) refusedWith(r, 409, 'MERCHANT_OFFER_TAKEN');
      assert.equal(await count(m, 'merchant_orders'), 1);
      const winner = winners[0]!.json<{ transactionId: string }>().transactionId;
      assert.equal((await offerRow(m, offerId)).transaction_id, winner);
      await unchanged(m, async () => refusedWith(await orderOffer(m, anonymous(await anonymousKey()), offerId), 409, 'MERCHANT_OFFER_TAKEN'));
    });

    void test('an expired offer cannot be bought: MERCHANT_OFFER_EXPIRED, nothing changes', async (ctx) => {
      const m = await startShop(t, ctx, { config: { offerTtlMinutes: 5 } });
      followClock(m);
      const { offerId, expiresAt } = await createOffer(m);
      assert.equal(expiresAt, new Date(PKI_NOW.getTime() + 5 * MINUTE_MS).toISOString());
      m.clock.now = new Date(expiresAt);
      await unchanged(m, async () => {
        const body = refusedWith(await orderOffer(m, certified(), offerId), 409, 'MERCHANT_OFFER_EXPIRED');
        assert.deepEqual(body.details, { expiresAt });
      });
      assert.equal((await publicOffer(m, offerId)).state, 'expired');
    });

    void test('an order that lapsed unpaid frees its offer only when the payment server confirms no payment; paid after all, it stays taken', async (ctx) => {
      const m = await startShop(t, ctx, { config: { offerTtlMinutes: 120 } });
      followClock(m);
      m.deps.fetch = noNetwork;
      const first = await createOffer(m);
      const a = anonymous(await anonymousKey());
      const held = placed(await orderOffer(m, a, first.offerId), a);
      // Before its payment due time (30 minutes) the holder stands: no question asked.
      m.clock.now = new Date(PKI_NOW.getTime() + 20 * MINUTE_MS);
      const b = anonymous(await anonymousKey());
      await unchanged(m, async () => refusedWith(await orderOffer(m, b, first.offerId), 409, 'MERCHANT_OFFER_TAKEN'));
      // Past it (plus a minute of clock skew) the payment server is asked; unreachable, nothing is taken.
      m.clock.now = new Date(PKI_NOW.getTime() + 32 * MINUTE_MS);
      assert.equal((await publicOffer(m, first.offerId)).state, 'open');
      await unchanged(m, async () => refusedWith(await orderOffer(m, b, first.offerId), 502, 'MERCHANT_PAYMENT_SERVER_UNREACHABLE'));
      // It has no payment for the lapsed order: the new order takes the offer.
      const asked = paymentServerSays(m, async () => ({ status: 404, body: { code: 'PAY_PAYMENT_UNKNOWN', message: 'no payment' } }));
      const retaken = placed(await orderOffer(m, b, first.offerId), b);
      assert.deepEqual(asked, [held.transactionId]);
      assert.equal((await offerRow(m, first.offerId)).transaction_id, retaken.transactionId);
      assert.equal((await shopOrder(m, first.offerId)).order?.transactionId, retaken.transactionId);

      // Another offer whose lapsed order WAS paid (the receipt never reached the shop): it stays taken, and the order is settled.
      m.deps.fetch = noNetwork;
      m.clock.now = PKI_NOW;
      const second = await createOffer(m);
      const c = anonymous(await anonymousKey());
      const paidLate = placed(await orderOffer(m, c, second.offerId), c);
      m.clock.now = new Date(PKI_NOW.getTime() + 32 * MINUTE_MS);
      paymentServerSays(m, async () => paidAnswer(m, paidLate));
      refusedWith(await orderOffer(m, anonymous(await anonymousKey()), second.offerId), 409, 'MERCHANT_OFFER_TAKEN');
      assert.equal((await offerRow(m, second.offerId)).transaction_id, paidLate.transactionId);
      const view = await shopOrder(m, second.offerId);
      assert.deepEqual([view.state, view.order?.paymentState], ['taken', 'PAID']);
    });

    void test('refunds: the shop approves exactly what the shopper asked for (refundsNeedApproval); otherwise refused with its code, nothing changed', async (ctx) => {
      const m = await startShop(t, ctx, { config: { refundsNeedApproval: true } });
      const unsold = await createOffer(m);
      const { offerId } = await createOffer(m);
      const alice = certified();
      const p = placed(await orderOffer(m, alice, offerId), alice);
      const url = `/v1/shop/orders/${offerId}/refunds`;
      await unchanged(m, async () => {
        refusedWith(await shopPost(m, `/v1/shop/orders/${unsold.offerId}/refunds`, {}), 409, 'MERCHANT_REPAYMENT_NOT_ALLOWED');
        refusedWith(await shopPost(m, '/v1/shop/orders/of-00000000000000000000000000000000/refunds', {}), 404, 'MERCHANT_OFFER_NOT_FOUND');
        refusedWith(await shopPost(m, url, {}), 409, 'MERCHANT_REPAYMENT_NOT_ALLOWED');
      });
      await payOrder(m, p);
      await unchanged(m, async () => refusedWith(await shopPost(m, url, {}), 409, 'MERCHANT_REFUND_NONE_AWAITING'));

      const request = requestFor(m, p.transactionId, { amount: 'JPY:1200' });
      assert.equal((await ask(m, alice, request)).statusCode, 202);
      await unchanged(m, async () => {
        const body = refusedWith(await shopPost(m, url, { amount: 'JPY:1000' }), 409, 'MERCHANT_REFUND_AMOUNT_MISMATCH');
        assert.deepEqual(body.details, { awaiting: 'JPY:1200', requestIds: [request.requestId] });
        refusedWith(await shopPost(m, url, { requestIds: ['rq-unknown'] }), 404, 'MERCHANT_REPAYMENT_NOT_FOUND');
        for (const bad of [{ amount: 'JPY' }, { requestIds: [] }, { reason: 'x' }, { amount: 1200 }]) refusedWith(await shopPost(m, url, bad), 400, 'HTTP_SCHEMA_INVALID');
        refusedWith(await shopPost(m, url, {}, {}, null), 401, 'HTTP_AUTH_REQUIRED');
      });

      const res = await shopPost(m, url, { amount: 'JPY:1200' }, { 'idempotency-key': 'refund-1' });
      assert.equal(res.statusCode, 200, res.body);
      const out = res.json<{ transactionId: string; approved: RepaymentAnswer[]; failed: unknown[]; refunds: { requestId: string; state: string }[] }>();
      assert.equal(out.transactionId, p.transactionId);
      assert.deepEqual(out.failed, []);
      assert.equal(out.approved.length, 1);
      const permit = await permitOf(RepaymentAnswer.parse(out.approved[0]));
      assert.deepEqual([permit.amount, permit.recipientId, permit.transactionId], ['JPY:1200', 'alice', p.transactionId]);
      // The shopper's wallet collects that very permit.
      assert.deepEqual(RepaymentAnswer.parse((await getAnswer(m, p.transactionId, request.requestId)).json()), out.approved[0]);
      const view = await shopOrder(m, offerId);
      assert.deepEqual([view.order?.state, view.refunds?.map((r) => [r.requestId, r.state])], ['DURING_REPAYMENT', [[request.requestId, 'permitted']]]);
      // The same call with its key: the stored answer; without one, nothing awaits any more.
      const replay = await shopPost(m, url, { amount: 'JPY:1200' }, { 'idempotency-key': 'refund-1' });
      assert.equal(replay.headers['idempotent-replay'], 'true');
      assert.deepEqual(replay.json(), out);
      await unchanged(m, async () => refusedWith(await shopPost(m, url, { amount: 'JPY:1200' }), 409, 'MERCHANT_REFUND_NONE_AWAITING'));
    });
  });
}
