// A refund end to end between the merchant and the real test payment server
// (test/payment/harness.ts): a purchase paid with coins, a repayment request
// at the shop (1110 → 1140), the shopper claims the permit at the payment
// server with fresh envelopes (1150 + 1170 → 1180) and acknowledges it (1190),
// and the shop learns each step from the payment server's signed state
// (1210 → 1220): PARTIALLY_REFUNDED, then REFUNDED by a second permit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sweepRefundsOnce } from '../../src/merchant/repayment-state.ts';
import { setMerchantNotifyUrl } from '../../src/payment/merchants.ts';
import { deliverDueNotifications, retryDelayMs } from '../../src/payment/notification-delivery.ts';
import { REMITTANCE_REQUEST_TYP, REPAYMENT_PERMIT_TYP, REPAYMENT_RECEIPT_TYP, REPAYMENT_REQUEST_TYP, type JwsGeneral, type RepaymentPermit } from '../../src/protocol/documents/index.ts';
import { countersign, signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { RepaymentAnswer } from '../../src/protocol/messages/merchant.ts';
import { remittanceEnvelopesHash } from '../../src/protocol/messages/payment.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { prepareCoins } from '../payment/emoney-client.ts';
import { ADMIN_TOKEN } from './harness.ts';
import { buy, hashOf, payloadOf, startWorld, tampered, type World } from './purchase-client.ts';

const quiet = { info: () => {}, warn: () => {} };

/** 1110 → 1140 at the shop: alice asks for `amount` of the purchase back. */
async function askShop(world: World, transactionId: string, amount: string): Promise<{ permitJws: JwsGeneral; permit: RepaymentPermit }> {
  const request = {
    typ: REPAYMENT_REQUEST_TYP,
    requestId: `rq-${amount.slice(4)}`,
    transactionId,
    shopId: 'shop-1',
    amount,
    reason: 'Arrived broken',
    time: world.m.clock.now.toISOString(),
  };
  const res = await world.m.app.inject({ method: 'POST', url: `/v1/orders/${transactionId}/repayments`, payload: { request: await signDocument({ payload: request, ...world.alice.signer(REPAYMENT_REQUEST_TYP) }) } });
  assert.equal(res.statusCode, 201, res.body);
  const permitJws = RepaymentAnswer.parse(res.json()).permit!;
  return { permitJws, permit: payloadOf<RepaymentPermit>(permitJws) };
}

/** 1150 + 1170 → 1180 at the payment server, as alice's wallet does it: the countersigned permit and fresh envelopes. */
async function collect(world: World, permitJws: JwsGeneral, coins: string[]): Promise<void> {
  const permit = payloadOf<RepaymentPermit>(permitJws);
  const countersigned = await countersign(permitJws as GeneralJws, world.alice.signer(REPAYMENT_PERMIT_TYP));
  const pending = await prepareCoins(world.w, coins);
  const envelopes = pending.map((c) => c.envelope);
  const request = {
    typ: REMITTANCE_REQUEST_TYP,
    permitId: permit.permitId,
    permitHash: await hashOf(permitJws),
    transactionId: permit.transactionId,
    recipientId: permit.recipientId,
    paymentServerId: permit.repayer.id,
    amount: permit.amount,
    mode: permit.mode,
    envelopesHash: await remittanceEnvelopesHash(envelopes),
    time: world.p.clock.now.toISOString(),
  };
  const res = await world.p.app.inject({
    method: 'POST',
    url: '/v1/repayments',
    payload: { permit: countersigned, request: await signDocument({ payload: request, ...world.alice.signer(REMITTANCE_REQUEST_TYP) }), envelopes },
  });
  assert.equal(res.statusCode, 201, res.body);
}

/** 1190 → 1200: alice's repayment receipt for a remitted permit. */
async function acknowledge(world: World, permitJws: JwsGeneral): Promise<void> {
  const permit = payloadOf<RepaymentPermit>(permitJws);
  const receipt = {
    typ: REPAYMENT_RECEIPT_TYP,
    permitId: permit.permitId,
    permitHash: await hashOf(permitJws),
    transactionId: permit.transactionId,
    recipientId: permit.recipientId,
    amount: permit.amount,
    time: world.p.clock.now.toISOString(),
  };
  const res = await world.p.app.inject({
    method: 'POST',
    url: `/v1/repayments/${permit.permitId}/receipt`,
    payload: { receipt: await signDocument({ payload: receipt, ...world.alice.signer(REPAYMENT_RECEIPT_TYP) }) },
  });
  assert.equal(res.statusCode, 201, res.body);
}

type Refunds = { state: string; refunded: string; refunds: { requestId: string; state: string }[] };

async function refresh(world: World, transactionId: string): Promise<Refunds> {
  const res = await world.m.app.inject({ method: 'POST', url: `/v1/admin/orders/${transactionId}/repayments/refresh`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<Refunds>();
}

for (const t of testDatabases()) {
  void describe(`merchant refunds against the payment server (${t.name})`, () => {
    void test('buy, refund in part (remitted, then completed), refund the rest: the shop records REFUNDED from signed states', async (ctx) => {
      const world = await startWorld(t, ctx);
      const bought = await buy(world);
      // The shop learns the payment from the payment server (the shopper's receipt copy is not posted here).
      const settled = await world.m.app.inject({ method: 'POST', url: `/v1/admin/orders/${bought.transactionId}/refresh`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(settled.statusCode, 200, settled.body);
      assert.equal((await refresh(world, bought.transactionId)).state, 'PAID');

      const part = await askShop(world, bought.transactionId, 'JPY:3');
      assert.equal((await refresh(world, bought.transactionId)).state, 'DURING_REPAYMENT', 'not collected yet: the payment server does not know the permit');
      await collect(world, part.permitJws, ['JPY:2', 'JPY:1']);
      const remitted = await refresh(world, bought.transactionId);
      assert.deepEqual([remitted.state, remitted.refunded, remitted.refunds[0]!.state], ['PARTIALLY_REFUNDED', 'JPY:3', 'remitted']);
      await acknowledge(world, part.permitJws);
      const completed = await refresh(world, bought.transactionId);
      assert.deepEqual([completed.state, completed.refunded, completed.refunds[0]!.state], ['PARTIALLY_REFUNDED', 'JPY:3', 'completed']);

      const rest = await askShop(world, bought.transactionId, 'JPY:2');
      await collect(world, rest.permitJws, ['JPY:2']);
      await acknowledge(world, rest.permitJws);
      assert.deepEqual(await sweepRefundsOnce(world.m.deps, quiet), { asked: 1, changed: 1 });
      const done = await refresh(world, bought.transactionId);
      assert.deepEqual([done.state, done.refunded, done.refunds.map((r) => r.state)], ['REFUNDED', 'JPY:5', ['completed', 'completed']]);
    });

    void test('the payment server notifies the shop: paid, remitted, completed arrive without the shop asking; forged or altered notifications change nothing', async (ctx) => {
      const world = await startWorld(t, ctx);
      value(await setMerchantNotifyUrl(world.p.deps.db, 'shop-1', 'http://shop.test/base', world.p.clock.now));
      const shop = postingFetch(world.m.app);
      const orderState = async (tx: string) =>
        (await world.m.deps.db.selectFrom('merchant_orders').select(['payment_state', 'refunded']).where('transaction_id', '=', tx).executeTakeFirstOrThrow());
      const refundStates = async (tx: string) =>
        Object.fromEntries((await world.m.deps.db.selectFrom('merchant_refunds').select(['request_id', 'state']).where('transaction_id', '=', tx).execute()).map((r) => [r.request_id, r.state]));

      const bought = await buy(world);
      assert.equal((await orderState(bought.transactionId)).payment_state, 'UNPAID', 'the receipt copy was not posted: the shop does not know yet');
      // Forgeries against the UNPAID order: an altered receipt, and a genuine receipt of another transaction.
      const genuine = (await world.p.app.inject({ method: 'GET', url: `/v1/payments/shop-1/${bought.transactionId}` })).json<Record<string, unknown>>();
      const alteredReceipt = await world.m.app.inject({ method: 'POST', url: '/v1/notifications/payment-state', payload: { ...genuine, receipt: tampered(genuine.receipt as JwsGeneral, { ...payloadOf<Record<string, unknown>>(genuine.receipt as JwsGeneral), amount: 'JPY:1' }) } });
      assert.equal(alteredReceipt.statusCode, 403, alteredReceipt.body);
      const other = await buy(world);
      const otherState = (await world.p.app.inject({ method: 'GET', url: `/v1/payments/shop-1/${other.transactionId}` })).json<Record<string, unknown>>();
      const swapped = await world.m.app.inject({ method: 'POST', url: '/v1/notifications/payment-state', payload: { ...genuine, receipt: otherState.receipt } });
      assert.equal(swapped.statusCode, 422, swapped.body);
      assert.equal(swapped.json<{ code: string }>().code, 'MERCHANT_RECEIPT_MISMATCH');
      assert.equal((await orderState(bought.transactionId)).payment_state, 'UNPAID', 'no forgery settled the order');
      await world.p.deps.db.deleteFrom('payment_notifications').where('ref', '=', other.transactionId).execute();
      assert.deepEqual(await deliverDueNotifications(world.p.deps, shop.fetch), { delivered: 1, failed: 0, retried: 0 });
      assert.deepEqual(shop.calls, [`POST /base/v1/notifications/payment-state`]);
      assert.equal((await orderState(bought.transactionId)).payment_state, 'PAID', 'notified: the signed receipt settled the order');
      assert.deepEqual(await deliverDueNotifications(world.p.deps, shop.fetch), { delivered: 0, failed: 0, retried: 0 }, 'delivered once');

      const part = await askShop(world, bought.transactionId, 'JPY:3');
      await collect(world, part.permitJws, ['JPY:2', 'JPY:1']);
      assert.deepEqual(await deliverDueNotifications(world.p.deps, shop.fetch), { delivered: 1, failed: 0, retried: 0 });
      assert.deepEqual(await refundStates(bought.transactionId), { 'rq-3': 'remitted' });
      assert.equal((await orderState(bought.transactionId)).refunded, 3n);
      await acknowledge(world, part.permitJws);
      assert.deepEqual(await deliverDueNotifications(world.p.deps, shop.fetch), { delivered: 1, failed: 0, retried: 0 });
      assert.deepEqual(await refundStates(bought.transactionId), { 'rq-3': 'completed' });

      // What the payment server signs now, to replay and to alter.
      const stateRes = await world.p.app.inject({ method: 'GET', url: `/v1/repayments/shop-1/${part.permit.permitId}` });
      const stateJws = stateRes.json<{ state: JwsGeneral }>().state;
      const post = (url: string, payload: unknown) => world.m.app.inject({ method: 'POST', url, payload: payload as object });
      const again = await post('/v1/notifications/repayment-state', { state: stateJws });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal((await orderState(bought.transactionId)).refunded, 3n, 'a duplicate counts once');

      // A second permit, repaid but not yet notified, is the target of forgeries.
      const rest = await askShop(world, bought.transactionId, 'JPY:2');
      await collect(world, rest.permitJws, ['JPY:2']);
      const restState = (await world.p.app.inject({ method: 'GET', url: `/v1/repayments/shop-1/${rest.permit.permitId}` })).json<{ state: JwsGeneral }>().state;
      const altered = tampered(restState, { ...payloadOf<Record<string, unknown>>(restState), amount: 'JPY:1' });
      const forgedBody = await post('/v1/notifications/repayment-state', { state: altered });
      assert.equal(forgedBody.statusCode, 422, forgedBody.body);
      assert.equal(forgedBody.json<{ code: string }>().code, 'MERCHANT_NOTIFICATION_REFUSED');
      const byAlice = await signDocument({ payload: payloadOf<Record<string, unknown>>(restState), ...world.alice.signer('quittance.repayment-state.v1+json') });
      const wrongKey = await post('/v1/notifications/repayment-state', { state: byAlice });
      assert.equal(wrongKey.statusCode, 422, wrongKey.body);
      assert.equal(wrongKey.json<{ details: { cause: string } }>().details.cause, 'MERCHANT_REPAYMENT_STATE_INVALID');
      const unknown = await post('/v1/notifications/repayment-state', { state: tampered(restState, { ...payloadOf<Record<string, unknown>>(restState), permitId: 'no-such-permit-000' }) });
      assert.equal(unknown.statusCode, 404, unknown.body);
      const malformed = await post('/v1/notifications/repayment-state', { state: restState, extra: 1 });
      assert.equal(malformed.statusCode, 400, malformed.body);
      assert.deepEqual(await refundStates(bought.transactionId), { 'rq-3': 'completed', 'rq-2': 'permitted' }, 'no forgery recorded anything');
      assert.equal((await orderState(bought.transactionId)).refunded, 3n);

      const paymentRes = (await world.p.app.inject({ method: 'GET', url: `/v1/payments/shop-1/${bought.transactionId}` })).json<Record<string, unknown>>();
      const otherShop = await post('/v1/notifications/payment-state', { ...paymentRes, shopId: 'shop-2' });
      assert.equal(otherShop.json<{ code: string }>().code, 'MERCHANT_NOT_THIS_SHOP');
      const forgedReceipt = await post('/v1/notifications/payment-state', { ...paymentRes, receipt: tampered(paymentRes.receipt as JwsGeneral, { forged: true }) });
      assert.equal(forgedReceipt.statusCode, 403, forgedReceipt.body);

      // The genuine notification of the second permit still lands.
      assert.deepEqual(await deliverDueNotifications(world.p.deps, shop.fetch), { delivered: 1, failed: 0, retried: 0 });
      assert.deepEqual(await refundStates(bought.transactionId), { 'rq-3': 'completed', 'rq-2': 'remitted' });
      assert.equal((await orderState(bought.transactionId)).refunded, 5n);
    });

    void test('notifications are retried with a doubling delay while the shop is down, given up on a 4xx, and none are made without a notify URL', async (ctx) => {
      const world = await startWorld(t, ctx);
      const silent = await buy(world);
      const rows = () => world.p.deps.db.selectFrom('payment_notifications').selectAll().execute();
      assert.deepEqual(await rows(), [], 'no notify URL in the contract: nothing to send');

      value(await setMerchantNotifyUrl(world.p.deps.db, 'shop-1', 'http://shop.test/', world.p.clock.now));
      const bought = await buy(world);
      const down = async () => {
        throw new TypeError('fetch failed');
      };
      assert.deepEqual(await deliverDueNotifications(world.p.deps, down), { delivered: 0, failed: 0, retried: 1 });
      const [row] = await rows();
      assert.equal(row!.ref, bought.transactionId);
      assert.equal(row!.attempts, 1);
      assert.equal(row!.next_attempt_at, new Date(world.p.clock.now.getTime() + retryDelayMs(1)).toISOString());
      assert.match(row!.last_error ?? '', /unreachable/);
      const shop = postingFetch(world.m.app);
      assert.deepEqual(await deliverDueNotifications(world.p.deps, shop.fetch), { delivered: 0, failed: 0, retried: 0 }, 'not before its time');
      world.p.clock.now = new Date(world.p.clock.now.getTime() + retryDelayMs(1));
      assert.deepEqual(await deliverDueNotifications(world.p.deps, shop.fetch), { delivered: 1, failed: 0, retried: 0 });
      assert.equal((await rows())[0]!.state, 'delivered');
      assert.equal(retryDelayMs(2), 2 * retryDelayMs(1));
      assert.equal(retryDelayMs(30), 15 * 60_000, 'capped');

      // The shop refuses (a 4xx: it will not accept it later either) → given up at once, not retried.
      await world.p.deps.db.insertInto('payment_notifications').values({ merchant_id: 'shop-1', kind: 'payment', ref: silent.transactionId, event: 'paid', state: 'pending', attempts: 0, next_attempt_at: world.p.clock.now.toISOString(), last_error: null, created_at: world.p.clock.now.toISOString(), updated_at: world.p.clock.now.toISOString() }).execute();
      const refusing = async () => new Response(JSON.stringify({ code: 'MERCHANT_ORDER_NOT_FOUND', message: 'no order' }), { status: 404 });
      assert.deepEqual(await deliverDueNotifications(world.p.deps, refusing), { delivered: 0, failed: 1, retried: 0 });
      const failed = (await rows()).find((r) => r.ref === silent.transactionId)!;
      assert.deepEqual([failed.state, failed.last_error], ['failed', 'HTTP 404 MERCHANT_ORDER_NOT_FOUND']);

      // Unreachable for a day: given up (the shop still learns the state when it asks).
      const dayAgo = new Date(world.p.clock.now.getTime() - 24 * 3_600_000).toISOString();
      await world.p.deps.db.updateTable('payment_notifications').set({ state: 'pending', next_attempt_at: dayAgo, created_at: dayAgo }).where('ref', '=', bought.transactionId).execute();
      assert.deepEqual(await deliverDueNotifications(world.p.deps, down), { delivered: 0, failed: 1, retried: 0 });
      assert.equal((await rows()).find((r) => r.ref === bought.transactionId)!.state, 'failed');
    });
  });
}

/** fetch for the payment server's notifications, into the merchant app, remembering what was posted. */
function postingFetch(app: FastifyInstance): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      calls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      // The merchant app serves at its root; the contract's URL may carry a base path.
      const path = url.pathname.replace(/^\/base\//, '/');
      const res = await app.inject({ method: (init?.method ?? 'GET') as 'POST', url: path, payload: init?.body as string, headers: { 'content-type': 'application/json' } });
      return new Response(res.body, { status: res.statusCode, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') } });
    },
  };
}
