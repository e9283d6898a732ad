// The merchant's side of a refund, messages 1110 → 1140 (issue 5): the order's
// own signer gets a permit signed by the shop, with every fig. 18 field, for
// at most what was paid minus what refunds already hold — also when requests
// race — and the same answer again for the same request. Every other request
// is refused with its code and changes nothing: another key (certified or
// anonymous), after the refund deadline, an unpaid order, too much, a reused
// request id, malformed bodies. With refundsNeedApproval the operator decides.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ORDER_TYP, REPAYMENT_REQUEST_TYP } from '../../src/protocol/documents/index.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { ALICE, anonymousKey, PAYMENT_URL, SHOP, startTestMerchant, type TestMerchant } from './harness.ts';
import {
  admin,
  ALICE_RENEWED,
  anonymous,
  answer,
  ask,
  BOB,
  certified,
  everything,
  followClock,
  getAnswer,
  hashOf,
  orderRow,
  paidOrder,
  permitOf,
  placeOrder,
  postRequest,
  refundRow,
  refusedWith,
  requestFor,
  tampered,
  type ErrorBody,
} from './refund-client.ts';

const DAY_MS = 86_400_000;

async function merchant(t: Parameters<typeof startTestMerchant>[0], ctx: { after: (fn: () => Promise<void>) => void }, config: Parameters<typeof startTestMerchant>[1] = {}): Promise<TestMerchant> {
  const m = await startTestMerchant(t, config);
  ctx.after(() => m.close());
  return m;
}

for (const t of testDatabases()) {
  void describe(`merchant 1110 → 1140 (${t.name})`, () => {
    void test('the order signer (certified) gets a permit with every fig. 18 field; the same request again gets the same permit; GET answers it too', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const order = await paidOrder(m, alice);
      const request = requestFor(m, order.transactionId, {
        amount: 'JPY:2000',
        lines: [{ article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 2, unitPrice: 'JPY:1000' }],
      });
      const jws = await alice.sign(request, REPAYMENT_REQUEST_TYP);
      const first = await postRequest(m, order.transactionId, { request: jws });
      const a = answer(first, 201);
      assert.equal(first.headers['idempotent-replay'], undefined);
      assert.deepEqual([a.requestId, a.transactionId, a.state], [request.requestId, order.transactionId, 'permitted']);
      const permit = await permitOf(a);
      assert.match(permit.permitId, /^pm-[0-9a-f]{32}$/);
      assert.deepEqual(
        { ...permit, permitId: '' },
        {
          typ: 'quittance.repayment-permit.v1+json',
          permitId: '',
          transactionId: order.transactionId,
          requestHash: await hashOf(jws),
          recipientId: 'alice',
          amount: 'JPY:2000',
          mode: 'ecash',
          shop: { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer' },
          repayer: { id: 'pay-1', name: 'Quittance Pay', address: PAYMENT_URL },
          permissionTime: PKI_NOW.toISOString(),
          dueTime: new Date(PKI_NOW.getTime() + 7 * DAY_MS).toISOString(),
        },
      );
      const row = await orderRow(m, order.transactionId);
      assert.deepEqual([row.payment_state, BigInt(row.refund_held), BigInt(row.refunded)], ['PAID', 2000n, 0n]);

      // The same signed request later (even re-signed: same document, same hash) → the same permit, nothing new.
      m.clock.now = new Date(PKI_NOW.getTime() + 60_000);
      const before = await everything(m);
      const again = await postRequest(m, order.transactionId, { request: jws });
      assert.deepEqual(answer(again, 200), a);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(answer(await ask(m, alice, request), 200), a);
      assert.deepEqual(answer(await getAnswer(m, order.transactionId, request.requestId), 200), a);
      assert.deepEqual(await everything(m), before);
    });

    void test('an anonymous purchaser asks with its per-order key: recipientId is its thumbprint', async (ctx) => {
      const m = await merchant(t, ctx);
      const key = anonymous(await anonymousKey());
      const order = await paidOrder(m, key);
      const permit = await permitOf(answer(await ask(m, key, requestFor(m, order.transactionId, { amount: 'JPY:4000' })), 201));
      assert.equal(permit.recipientId, key.id);
      assert.equal(permit.amount, 'JPY:4000');
      assert.equal((await orderRow(m, order.transactionId)).refund_held, 4000n);
    });

    void test('a request signed by another key than the order’s is refused (MERCHANT_PURCHASER_MISMATCH), nothing changed', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const mine = await paidOrder(m, alice);
      const anon = anonymous(await anonymousKey());
      const anonOrder = await paidOrder(m, anon);
      const request = requestFor(m, mine.transactionId);

      // Another registered shopper, alice's own other certificate (another key), an anonymous key.
      await refusedWith(m, () => ask(m, certified(BOB, 'bob'), request), 403, 'MERCHANT_PURCHASER_MISMATCH');
      await refusedWith(m, () => ask(m, certified(ALICE_RENEWED), request), 403, 'MERCHANT_PURCHASER_MISMATCH');
      const stranger = anonymous(await anonymousKey());
      await refusedWith(m, () => ask(m, stranger, request), 403, 'MERCHANT_PURCHASER_MISMATCH');
      // On an anonymous order: another anonymous key, and a certified one.
      const anonRequest = requestFor(m, anonOrder.transactionId);
      await refusedWith(m, () => ask(m, stranger, anonRequest), 403, 'MERCHANT_PURCHASER_MISMATCH');
      await refusedWith(m, () => ask(m, alice, anonRequest), 403, 'MERCHANT_PURCHASER_MISMATCH');
      // Not a client at all: the shop's own merchant certificate.
      const shop = await refusedWith(m, () => ask(m, certified(SHOP, 'shop-1'), request), 403, 'MERCHANT_REPAYMENT_SIGNATURE_INVALID');
      assert.equal(shop.details?.code, 'PROTO_CERT_ROLE_MISMATCH');
      // Someone who knows alice's requestId cannot learn from a conflict that it exists.
      answer(await ask(m, alice, request), 201);
      await refusedWith(m, () => ask(m, certified(BOB, 'bob'), { ...request, amount: 'JPY:2000' }), 403, 'MERCHANT_PURCHASER_MISMATCH');
    });

    void test('refunds can be asked for until the invoice’s refundDeadline, not after (MERCHANT_REFUND_DEADLINE_PASSED)', async (ctx) => {
      const m = await merchant(t, ctx, { config: { refundDays: 10 } });
      followClock(m);
      const alice = certified();
      const order = await paidOrder(m, alice);
      assert.equal(order.invoice.refundDeadline, new Date(PKI_NOW.getTime() + 10 * DAY_MS).toISOString());
      m.clock.now = new Date(PKI_NOW.getTime() + 10 * DAY_MS + 1);
      const late = await refusedWith(m, () => ask(m, alice, requestFor(m, order.transactionId)), 422, 'MERCHANT_REFUND_DEADLINE_PASSED');
      assert.equal(late.details?.refundDeadline, order.invoice.refundDeadline);
      m.clock.now = new Date(PKI_NOW.getTime() + 10 * DAY_MS);
      answer(await ask(m, alice, requestFor(m, order.transactionId)), 201);
    });

    void test('an unpaid order cannot be refunded (MERCHANT_REPAYMENT_NOT_ALLOWED), an unknown one is not found', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const unpaid = await placeOrder(m, alice);
      await refusedWith(m, () => ask(m, alice, requestFor(m, unpaid.transactionId)), 409, 'MERCHANT_REPAYMENT_NOT_ALLOWED');
      await refusedWith(m, () => ask(m, alice, requestFor(m, 'tx-unknown')), 404, 'MERCHANT_ORDER_NOT_FOUND');
    });

    void test('refunds never hold more than was paid: whole, in parts, and what is left', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const order = await paidOrder(m, alice);
      const tx = order.transactionId;
      const over = await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:4001' })), 422, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');
      assert.equal(over.details?.refundable, 'JPY:4000');
      answer(await ask(m, alice, requestFor(m, tx, { amount: 'JPY:3000' })), 201);
      const rest = await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:1001' })), 422, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');
      assert.equal(rest.details?.refundable, 'JPY:1000');
      answer(await ask(m, alice, requestFor(m, tx, { amount: 'JPY:1000' })), 201);
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:1' })), 422, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');
      assert.equal((await orderRow(m, tx)).refund_held, 4000n);
    });

    void test('concurrent requests above the payment: exactly the cap is permitted', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const order = await paidOrder(m, alice);
      // Seven requests of 1000 at once against 4000 paid: four permits, three refusals.
      const signed = await Promise.all(Array.from({ length: 7 }, () => alice.sign(requestFor(m, order.transactionId, { amount: 'JPY:1000' }), REPAYMENT_REQUEST_TYP)));
      const results = await Promise.all(signed.map((jws) => postRequest(m, order.transactionId, { request: jws })));
      const statuses = results.map((r) => r.statusCode).sort();
      assert.deepEqual(statuses, [201, 201, 201, 201, 422, 422, 422]);
      for (const r of results.filter((x) => x.statusCode === 422)) assert.equal(r.json<ErrorBody>().code, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');
      const rows = await m.handle.db.selectFrom('merchant_refunds').select(['amount', 'state']).where('transaction_id', '=', order.transactionId).execute();
      assert.equal(rows.length, 4);
      assert.equal(rows.reduce((s, r) => s + BigInt(r.amount), 0n), 4000n);
      assert.equal((await orderRow(m, order.transactionId)).refund_held, 4000n);

      // Two that do not fit together (2500 + 2000 > 4000) on a fresh order: one of them.
      const second = await paidOrder(m, alice);
      const pair = await Promise.all(
        ['JPY:2500', 'JPY:2000'].map(async (amount) => postRequest(m, second.transactionId, { request: await alice.sign(requestFor(m, second.transactionId, { amount }), REPAYMENT_REQUEST_TYP) })),
      );
      assert.deepEqual(pair.map((r) => r.statusCode).sort(), [201, 422]);
      const held = (await orderRow(m, second.transactionId)).refund_held;
      assert.ok(held === 2500n || held === 2000n, String(held));
    });

    void test('concurrent copies of one request: one permit, the same answer for each', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const order = await paidOrder(m, alice);
      const jws = await alice.sign(requestFor(m, order.transactionId, { amount: 'JPY:1500' }), REPAYMENT_REQUEST_TYP);
      const results = await Promise.all(Array.from({ length: 5 }, () => postRequest(m, order.transactionId, { request: jws })));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 201]);
      const permits = new Set(results.map((r) => JSON.stringify(r.json<{ permit: unknown }>().permit)));
      assert.equal(permits.size, 1);
      assert.equal((await orderRow(m, order.transactionId)).refund_held, 1500n);
    });

    void test('the same requestId with another body is MERCHANT_REQUEST_CONFLICT, also after the first was answered', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const order = await paidOrder(m, alice);
      const request = requestFor(m, order.transactionId, { amount: 'JPY:1000' });
      const first = answer(await ask(m, alice, request), 201);
      await refusedWith(m, () => ask(m, alice, { ...request, amount: 'JPY:2000' }), 422, 'MERCHANT_REQUEST_CONFLICT');
      await refusedWith(m, () => ask(m, alice, { ...request, reason: 'Changed my mind' }), 422, 'MERCHANT_REQUEST_CONFLICT');
      assert.deepEqual(answer(await getAnswer(m, order.transactionId, request.requestId), 200), first);
    });

    void test('malformed bodies and documents are refused with 400/403/422 and change nothing', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const order = await paidOrder(m, alice);
      const tx = order.transactionId;
      const good = await alice.sign(requestFor(m, tx), REPAYMENT_REQUEST_TYP);
      const post = (payload: string, type = 'application/json') => m.app.inject({ method: 'POST', url: `/v1/orders/${tx}/repayments`, payload, headers: { 'content-type': type } });

      await refusedWith(m, () => post('{"request":'), 400, 'HTTP_JSON_MALFORMED');
      await refusedWith(m, () => post('request=1', 'text/plain'), 415, 'HTTP_UNSUPPORTED_MEDIA_TYPE');
      await refusedWith(m, () => postRequest(m, tx, {}), 400, 'HTTP_SCHEMA_INVALID');
      await refusedWith(m, () => postRequest(m, tx, { request: good, extra: 1 }), 400, 'HTTP_SCHEMA_INVALID');
      await refusedWith(m, () => postRequest(m, tx, { request: 'a.b.c' }), 400, 'HTTP_SCHEMA_INVALID');
      await refusedWith(m, () => postRequest(m, 'not a tx!', { request: good }), 400, 'HTTP_SCHEMA_INVALID');
      // Altered after signing; signed as another document kind.
      const altered = await refusedWith(m, () => postRequest(m, tx, { request: tampered(good, { ...requestFor(m, tx), amount: 'JPY:4000' }) }), 403, 'MERCHANT_REPAYMENT_SIGNATURE_INVALID');
      assert.equal(altered.details?.code, 'PROTO_JWS_SIGNATURE_INVALID');
      const otherTyp = await signDocument({ payload: { ...requestFor(m, tx), typ: ORDER_TYP }, typ: ORDER_TYP, privateKey: ALICE.keys.privateKey, alg: 'EdDSA', x5c: ALICE.chain });
      await refusedWith(m, () => postRequest(m, tx, { request: otherTyp }), 403, 'MERCHANT_REPAYMENT_SIGNATURE_INVALID');
      // Signed correctly, but not a repayment request.
      const notRequest = await refusedWith(m, () => ask(m, alice, { ...requestFor(m, tx), unknownField: true }, tx), 400, 'MERCHANT_REPAYMENT_INVALID');
      assert.ok(Array.isArray(notRequest.details));
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:10.5' }), tx), 400, 'MERCHANT_REPAYMENT_INVALID');
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:0' }), tx), 400, 'MERCHANT_REPAYMENT_INVALID');
      await refusedWith(
        m,
        () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:1000', lines: [{ article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 2, unitPrice: 'JPY:1000' }] }), tx),
        400,
        'MERCHANT_REPAYMENT_INVALID',
      );
      // About something else than this order at this shop.
      const otherTx = await refusedWith(m, () => ask(m, alice, requestFor(m, 'tx-other'), tx), 422, 'MERCHANT_REPAYMENT_MISMATCH');
      assert.equal(otherTx.details?.field, 'transactionId');
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { shopId: 'shop-2' })), 422, 'MERCHANT_NOT_THIS_SHOP');
      const currency = await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'EUR:10.00' })), 422, 'MERCHANT_REPAYMENT_MISMATCH');
      assert.equal(currency.details?.field, 'amount');
      // Lines the order does not have: another article, another price, more units than bought.
      for (const line of [
        { article: 'ARTICLE-C', name: 'ARTICLE C', quantity: 1, unitPrice: 'JPY:1500' },
        { article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:900' },
        { article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 3, unitPrice: 'JPY:1000' },
        { article: 'ARTICLE-B', name: 'ARTICLE X', quantity: 1, unitPrice: 'JPY:2000' },
      ]) {
        const amount = `JPY:${Number(line.unitPrice.slice(4)) * line.quantity}`;
        const lines = await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount, lines: [line] })), 422, 'MERCHANT_REPAYMENT_MISMATCH');
        assert.equal(lines.details?.field, 'lines');
      }
      // The same line split in two is still within the order.
      const split = [
        { article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:1000' },
        { article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:1000' },
      ];
      answer(await ask(m, alice, requestFor(m, tx, { amount: 'JPY:2000', lines: split })), 201);

      const missing = await getAnswer(m, tx, 'rq-unknown');
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<ErrorBody>().code, 'MERCHANT_REPAYMENT_NOT_FOUND');
      assert.equal((await getAnswer(m, tx, 'bad id!')).statusCode, 400);
    });

    void test('refunds need approval: 202, then the operator approves (permit from then) or refuses (reason; the amount is free again)', async (ctx) => {
      const m = await merchant(t, ctx, { config: { refundsNeedApproval: true, refundPermitDays: 3 } });
      const alice = certified();
      const order = await paidOrder(m, alice);
      const tx = order.transactionId;
      const request = requestFor(m, tx, { amount: 'JPY:3000' });
      const jws = await alice.sign(request, REPAYMENT_REQUEST_TYP);
      const waiting = answer(await postRequest(m, tx, { request: jws }), 202);
      assert.deepEqual(waiting, { requestId: request.requestId, transactionId: tx, state: 'awaiting-approval' });
      assert.deepEqual(answer(await getAnswer(m, tx, request.requestId), 200), waiting);
      assert.deepEqual(answer(await postRequest(m, tx, { request: jws }), 202), waiting);
      // What awaits approval is held: 1001 more does not fit.
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:1001' })), 422, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');

      // Without the operator's token nothing is decided.
      const approveUrl = `/v1/admin/orders/${tx}/repayments/${request.requestId}/approve`;
      await refusedWith(m, () => admin(m, 'POST', approveUrl, undefined, null), 401, 'HTTP_AUTH_REQUIRED');
      await refusedWith(m, () => admin(m, 'POST', approveUrl, undefined, 'qt_not-the-operator-token'), 401, 'HTTP_AUTH_INVALID');

      m.clock.now = new Date(PKI_NOW.getTime() + 3_600_000);
      const approved = answer(await admin(m, 'POST', approveUrl), 200);
      const permit = await permitOf(approved, m.clock.now);
      assert.equal(permit.requestHash, await hashOf(jws));
      assert.equal(permit.permissionTime, m.clock.now.toISOString());
      assert.equal(permit.dueTime, new Date(m.clock.now.getTime() + 3 * DAY_MS).toISOString());
      assert.deepEqual(answer(await getAnswer(m, tx, request.requestId), 200), approved);
      assert.deepEqual(answer(await postRequest(m, tx, { request: jws }), 200), approved);
      assert.deepEqual(answer(await admin(m, 'POST', approveUrl), 200), approved, 'approving again: the same permit');
      await refusedWith(m, () => admin(m, 'POST', `/v1/admin/orders/${tx}/repayments/${request.requestId}/refuse`, { reason: 'no' }), 409, 'MERCHANT_REPAYMENT_ALREADY_DECIDED');

      // A second request, refused: the shopper reads the reason, and its 1000 is free again.
      const second = requestFor(m, tx, { amount: 'JPY:1000' });
      answer(await ask(m, alice, second), 202);
      assert.equal((await orderRow(m, tx)).refund_held, 4000n);
      const refuseUrl = `/v1/admin/orders/${tx}/repayments/${second.requestId}/refuse`;
      await refusedWith(m, () => admin(m, 'POST', refuseUrl, {}), 400, 'HTTP_SCHEMA_INVALID');
      await refusedWith(m, () => admin(m, 'POST', refuseUrl, { reason: 'bell\u0007' }), 400, 'HTTP_SCHEMA_INVALID');
      const refused = answer(await admin(m, 'POST', refuseUrl, { reason: 'Returned goods not received' }), 200);
      assert.deepEqual(refused, { requestId: second.requestId, transactionId: tx, state: 'refused', reason: 'Returned goods not received' });
      assert.deepEqual(answer(await getAnswer(m, tx, second.requestId), 200), refused);
      assert.deepEqual(answer(await ask(m, alice, second), 200), refused);
      assert.deepEqual(answer(await admin(m, 'POST', refuseUrl, { reason: 'again' }), 200), refused, 'refusing again: the first reason stands');
      await refusedWith(m, () => admin(m, 'POST', `/v1/admin/orders/${tx}/repayments/${second.requestId}/approve`), 409, 'MERCHANT_REPAYMENT_ALREADY_DECIDED');
      await refusedWith(m, () => admin(m, 'POST', `/v1/admin/orders/${tx}/repayments/rq-none/approve`), 404, 'MERCHANT_REPAYMENT_NOT_FOUND');
      assert.equal((await orderRow(m, tx)).refund_held, 3000n);
      assert.equal((await refundRow(m, tx, second.requestId)).permit_id, null);
      answer(await ask(m, alice, requestFor(m, tx, { amount: 'JPY:1000' })), 202);
    });

    void test('admin views: the refunds list by state, the order with its refunds, state DURING_REPAYMENT', async (ctx) => {
      const m = await merchant(t, ctx);
      const alice = certified();
      const order = await paidOrder(m, alice);
      const request = requestFor(m, order.transactionId, { amount: 'JPY:1500', reason: 'Too small' });
      const a = answer(await ask(m, alice, request), 201);
      const permit = await permitOf(a);

      const list = await admin(m, 'GET', '/v1/admin/repayments?state=permitted');
      assert.equal(list.statusCode, 200, list.body);
      const repayments = list.json<{ repayments: Record<string, unknown>[] }>().repayments;
      assert.deepEqual(repayments, [
        {
          requestId: request.requestId,
          transactionId: order.transactionId,
          amount: 'JPY:1500',
          reason: 'Too small',
          state: 'permitted',
          permitId: permit.permitId,
          permissionTime: permit.permissionTime,
          dueTime: permit.dueTime,
          createdAt: PKI_NOW.toISOString(),
          decidedAt: PKI_NOW.toISOString(),
        },
      ]);
      assert.deepEqual((await admin(m, 'GET', '/v1/admin/repayments?state=refused')).json(), { repayments: [] });
      assert.equal((await admin(m, 'GET', '/v1/admin/repayments?state=lost')).statusCode, 400);
      assert.equal((await admin(m, 'GET', '/v1/admin/repayments', undefined, null)).statusCode, 401);

      const shown = await admin(m, 'GET', `/v1/admin/orders/${order.transactionId}`);
      const detail = shown.json<{ state: string; paymentState: string; refunded: string; refunds: { requestId: string; permit: unknown; request: unknown }[] }>();
      assert.deepEqual([detail.paymentState, detail.state, detail.refunded], ['PAID', 'DURING_REPAYMENT', 'JPY:0']);
      assert.equal(detail.refunds.length, 1);
      assert.deepEqual(detail.refunds[0]!.permit, a.permit);
      const orders = (await admin(m, 'GET', '/v1/admin/orders')).json<{ orders: { transactionId: string; state: string }[] }>().orders;
      assert.equal(orders.find((o) => o.transactionId === order.transactionId)?.state, 'DURING_REPAYMENT');
    });
  });
}
