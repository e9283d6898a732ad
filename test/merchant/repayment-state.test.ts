// The merchant learns what became of its permits, messages 1210 → 1220
// (issue 5): the payment server's signed repayment state, verified with the
// key of the payment server the order's invoice names, about this permit;
// `remitted` counts the money as refunded (PARTIALLY_REFUNDED, REFUNDED),
// `completed` adds the shopper's repayment receipt, signed by the permit's
// recipient. Answers signed by anyone else, or about another permit, amount,
// transaction or shop, are refused and change nothing. A permit the payment
// server never saw expires after its due time and frees its amount.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSettlementSweep, type SweepLog } from '../../src/merchant/settle.ts';
import { sweepRefundsOnce } from '../../src/merchant/repayment-state.ts';
import type { JwsGeneral, RepaymentPermit } from '../../src/protocol/documents/index.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { ALICE, anonymousKey, PAY, startTestMerchant, type TestMerchant } from './harness.ts';
import {
  anonymous,
  answer,
  answerWith,
  ask,
  BOB,
  certified,
  everything,
  fakePaymentServer,
  followClock,
  hashOf,
  orderRow,
  OTHER_PAY,
  PAY_OTHER_KEY,
  paidOrder,
  permitOf,
  refresh,
  refundRow,
  refusedWith,
  repaymentReceipt,
  requestFor,
  signedState,
  tampered,
  type Purchaser,
} from './refund-client.ts';

const quiet: SweepLog = { info: () => {}, warn: () => {} };
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

type Refunds = { transactionId: string; state: string; refunded: string; refunds: { requestId: string; state: string }[] };

async function setUp(t: TestDatabase, ctx: { after: (fn: () => Promise<void>) => void }, config: Parameters<typeof startTestMerchant>[1] = {}) {
  const m = await startTestMerchant(t, config);
  ctx.after(() => m.close());
  followClock(m);
  const fake = fakePaymentServer(m);
  return { m, fake };
}

/** A paid order and a permit for `amount` of it. */
async function permitted(m: TestMerchant, who: Purchaser, amount: string, transactionId?: string): Promise<{ transactionId: string; requestId: string; permit: RepaymentPermit; permitJws: JwsGeneral }> {
  const tx = transactionId ?? (await paidOrder(m, who)).transactionId;
  const request = requestFor(m, tx, { amount });
  const a = answer(await ask(m, who, request), 201);
  return { transactionId: tx, requestId: request.requestId, permit: await permitOf(a, m.clock.now), permitJws: a.permit! };
}

function refreshed(res: Awaited<ReturnType<typeof refresh>>): Refunds {
  assert.equal(res.statusCode, 200, res.body);
  return res.json<Refunds>();
}

for (const t of testDatabases()) {
  void describe(`merchant 1210 → 1220 (${t.name})`, () => {
    void test('remitted counts the refund, completed adds the shopper’s receipt; two partial refunds make the order REFUNDED', async (ctx) => {
      const { m, fake } = await setUp(t, ctx);
      const alice = certified();
      const first = await permitted(m, alice, 'JPY:1500');
      const tx = first.transactionId;

      // Not collected yet: the payment server does not know the permit; nothing changes.
      assert.equal(refreshed(await refresh(m, tx)).state, 'DURING_REPAYMENT');
      assert.deepEqual(fake.asked, [first.permit.permitId]);

      const remitted = await signedState(first.permit, { state: 'remitted' });
      answerWith(fake, first.permit, remitted);
      const r1 = refreshed(await refresh(m, tx));
      assert.deepEqual([r1.state, r1.refunded, r1.refunds[0]!.state], ['PARTIALLY_REFUNDED', 'JPY:1500', 'remitted']);
      const row1 = await refundRow(m, tx, first.requestId);
      assert.deepEqual(JSON.parse(row1.state_jws!), remitted);
      assert.equal(row1.remitted_at, PKI_NOW.toISOString());
      assert.equal(row1.receipt_jws, null);

      // The same answer again counts nothing twice.
      refreshed(await refresh(m, tx));
      assert.equal((await orderRow(m, tx)).refunded, 1500n);

      const receipt = await repaymentReceipt(alice, first.permitJws);
      const completed = await signedState(first.permit, { state: 'completed', repaymentReceipt: receipt });
      answerWith(fake, first.permit, completed);
      m.clock.now = new Date(PKI_NOW.getTime() + MINUTE_MS);
      const r2 = refreshed(await refresh(m, tx));
      assert.deepEqual([r2.state, r2.refunded, r2.refunds[0]!.state], ['PARTIALLY_REFUNDED', 'JPY:1500', 'completed']);
      const row2 = await refundRow(m, tx, first.requestId);
      assert.deepEqual(JSON.parse(row2.receipt_jws!), receipt);
      assert.deepEqual(JSON.parse(row2.state_jws!), completed);
      assert.equal(row2.remitted_at, PKI_NOW.toISOString(), 'remitted when first reported');
      assert.equal(row2.completed_at, m.clock.now.toISOString());
      // A later `remitted` does not take it back.
      answerWith(fake, first.permit, remitted);
      assert.equal(refreshed(await refresh(m, tx)).refunds[0]!.state, 'completed');

      // The rest, straight from permitted to completed, learned by the sweep.
      const second = await permitted(m, alice, 'JPY:2500', tx);
      answerWith(fake, second.permit, await signedState(second.permit, { state: 'completed', repaymentReceipt: await repaymentReceipt(alice, second.permitJws) }));
      fake.asked.length = 0;
      assert.deepEqual(await sweepRefundsOnce(m.deps, quiet), { asked: 1, changed: 1 });
      assert.deepEqual(fake.asked, [second.permit.permitId], 'completed refunds are not asked about again');
      const order = await orderRow(m, tx);
      assert.deepEqual([order.refunded, order.refund_held], [4000n, 4000n]);
      const shown = await m.app.inject({ method: 'GET', url: `/v1/admin/orders/${tx}`, headers: { authorization: 'Bearer qt_merchant-test-operator-token' } });
      assert.deepEqual([shown.json<{ state: string }>().state, shown.json<{ refunded: string }>().refunded], ['REFUNDED', 'JPY:4000']);
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:1' })), 422, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');
    });

    void test('an anonymous purchaser’s receipt is checked against its key; another key’s receipt is refused', async (ctx) => {
      const { m, fake } = await setUp(t, ctx);
      const key = anonymous(await anonymousKey());
      const p = await permitted(m, key, 'JPY:4000');
      const stranger = anonymous(await anonymousKey());
      answerWith(fake, p.permit, await signedState(p.permit, { state: 'completed', repaymentReceipt: await repaymentReceipt(stranger, p.permitJws) }));
      const bad = await refusedWith(m, () => refresh(m, p.transactionId), 502, 'MERCHANT_REPAYMENT_STATE_MISMATCH');
      assert.equal(bad.details?.field, 'repaymentReceipt');
      answerWith(fake, p.permit, await signedState(p.permit, { state: 'completed', repaymentReceipt: await repaymentReceipt(key, p.permitJws) }));
      const ok = refreshed(await refresh(m, p.transactionId));
      assert.deepEqual([ok.state, ok.refunds[0]!.state], ['REFUNDED', 'completed']);
    });

    void test('answers not signed by the invoice’s payment server, or about another permit, are refused and change nothing', async (ctx) => {
      const { m, fake } = await setUp(t, ctx);
      const alice = certified();
      const p = await permitted(m, alice, 'JPY:1500');
      const other = await permitted(m, alice, 'JPY:500', p.transactionId);
      const tx = p.transactionId;
      const expect = async (state: unknown, code: string, field?: string) => {
        fake.answers.set(p.permit.permitId, { status: 200, body: { state } });
        const body = await refusedWith(m, () => refresh(m, tx), 502, code);
        if (field !== undefined) assert.equal(body.details?.field, field, JSON.stringify(body));
        return body;
      };

      // Signers: another payment server of the CA, pay-1's party id on another key, a shopper.
      await expect(await signedState(p.permit, {}, OTHER_PAY), 'MERCHANT_REPAYMENT_STATE_INVALID');
      await expect(await signedState(p.permit, {}, PAY_OTHER_KEY), 'MERCHANT_REPAYMENT_STATE_INVALID');
      const client = await expect(await signedState(p.permit, {}, ALICE), 'MERCHANT_REPAYMENT_STATE_INVALID');
      assert.equal(client.details?.code, 'PROTO_CERT_ROLE_MISMATCH');
      // Altered after signing; another document kind signed by the payment server.
      const good = await signedState(p.permit);
      const altered = await expect(tampered(good, { ...JSON.parse(Buffer.from(good.payload, 'base64url').toString()), amount: 'JPY:4000' }), 'MERCHANT_REPAYMENT_STATE_INVALID');
      assert.equal(altered.details?.code, 'PROTO_JWS_SIGNATURE_INVALID');
      const receiptAsState = await repaymentReceipt({ id: 'pay-1', sign: async (payload, typ) => signedAs(payload, typ) }, p.permitJws);
      await expect(receiptAsState, 'MERCHANT_REPAYMENT_STATE_INVALID');
      // About another amount, permit, transaction or shop.
      await expect(await signedState(p.permit, { amount: 'JPY:1600' }), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'amount');
      await expect(await signedState(p.permit, { permitId: other.permit.permitId, amount: other.permit.amount }), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'permitId');
      await expect(await signedState(p.permit, { transactionId: 'tx-other' }), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'transactionId');
      await expect(await signedState(p.permit, { shopId: 'shop-2' }), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'shopId');
      // completed, with a receipt: by another shopper, for another permit, for another amount, not signed at all.
      const completedWith = async (receipt: unknown) => signedState(p.permit, { state: 'completed', repaymentReceipt: receipt as never });
      await expect(await completedWith(await repaymentReceipt(certified(BOB, 'bob'), p.permitJws)), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'repaymentReceipt');
      await expect(await completedWith(await repaymentReceipt(alice, other.permitJws)), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'repaymentReceipt');
      await expect(await completedWith(await repaymentReceipt(alice, p.permitJws, { permitHash: await hashOf(other.permitJws) })), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'repaymentReceipt');
      await expect(await completedWith(await repaymentReceipt(alice, p.permitJws, { amount: 'JPY:4000' })), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'repaymentReceipt');
      const forged = await repaymentReceipt(alice, p.permitJws);
      await expect(await completedWith({ payload: forged.payload, signatures: [{ ...forged.signatures[0]!, signature: forged.signatures[0]!.signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }] }), 'MERCHANT_REPAYMENT_STATE_MISMATCH', 'repaymentReceipt');
      // Not a repayment state answer at all; unreachable; an error.
      await expect('not a JWS', 'MERCHANT_REPAYMENT_STATE_INVALID');
      fake.answers.set(p.permit.permitId, { status: 200, body: '<html>' });
      await refusedWith(m, () => refresh(m, tx), 502, 'MERCHANT_PAYMENT_SERVER_UNREACHABLE');
      fake.answers.set(p.permit.permitId, { status: 500, body: { code: 'HTTP_INTERNAL', message: 'x' } });
      await refusedWith(m, () => refresh(m, tx), 502, 'MERCHANT_PAYMENT_SERVER_UNREACHABLE');
      fake.answers.set(p.permit.permitId, 'down');
      await refusedWith(m, () => refresh(m, tx), 502, 'MERCHANT_PAYMENT_SERVER_UNREACHABLE');
      // The sweep refuses the same answers, and changes nothing either.
      fake.answers.set(p.permit.permitId, { status: 200, body: { state: await signedState(p.permit, {}, OTHER_PAY) } });
      const before = await everything(m);
      assert.deepEqual(await sweepRefundsOnce(m.deps, quiet), { asked: 2, changed: 0 });
      assert.deepEqual(await everything(m), before);

      await refusedWith(m, () => refresh(m, 'tx-unknown'), 404, 'MERCHANT_ORDER_NOT_FOUND');
      await refusedWith(m, () => refresh(m, tx, null), 401, 'HTTP_AUTH_REQUIRED');
    });

    void test('a permit the payment server never saw expires after dueTime + settleMarginMinutes and frees its amount; unreachable, it stays held', async (ctx) => {
      const { m, fake } = await setUp(t, ctx);
      const alice = certified();
      const p = await permitted(m, alice, 'JPY:4000');
      const tx = p.transactionId;
      const due = Date.parse(p.permit.dueTime);
      assert.equal(due, PKI_NOW.getTime() + 7 * DAY_MS);

      // Within the margin: still held, still asked about.
      m.clock.now = new Date(due + 59 * MINUTE_MS);
      assert.deepEqual(await sweepRefundsOnce(m.deps, quiet), { asked: 1, changed: 0 });
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:4000' })), 422, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');
      // Past it, but the payment server cannot be reached: held.
      m.clock.now = new Date(due + 61 * MINUTE_MS);
      fake.answers.set(p.permit.permitId, 'down');
      await refusedWith(m, () => ask(m, alice, requestFor(m, tx, { amount: 'JPY:4000' })), 422, 'MERCHANT_REFUND_EXCEEDS_PAYMENT');
      assert.equal((await refundRow(m, tx, p.requestId)).state, 'permitted');
      // It answers that it never saw the permit: a new request expires it first and gets the whole amount.
      fake.answers.delete(p.permit.permitId);
      const again = await permitted(m, alice, 'JPY:4000', tx);
      const old = await refundRow(m, tx, p.requestId);
      assert.deepEqual([old.state, old.expired_at], ['expired', m.clock.now.toISOString()]);
      assert.equal((await orderRow(m, tx)).refund_held, 4000n);

      // The payment server paid the expired permit after all (a clock far off): recorded, counted once.
      answerWith(fake, p.permit, await signedState(p.permit, { state: 'remitted' }));
      const after = refreshed(await refresh(m, tx));
      assert.deepEqual(
        after.refunds.map((r) => [r.requestId, r.state]),
        [
          [p.requestId, 'remitted'],
          [again.requestId, 'permitted'],
        ],
      );
      const order = await orderRow(m, tx);
      assert.deepEqual([order.refunded, order.refund_held], [4000n, 8000n]);
      assert.equal(after.state, 'REFUNDED');
    });

    void test('the sweep expires a stale permit, and in the background records a remitted refund', async (ctx) => {
      const { m, fake } = await setUp(t, ctx, { config: { settleSweepSeconds: 1 } });
      const alice = certified();
      const stale = await permitted(m, alice, 'JPY:1000');
      m.clock.now = new Date(Date.parse(stale.permit.dueTime) + 61 * MINUTE_MS);
      assert.deepEqual(await sweepRefundsOnce(m.deps, quiet), { asked: 1, changed: 1 });
      assert.equal((await refundRow(m, stale.transactionId, stale.requestId)).state, 'expired');
      assert.equal((await orderRow(m, stale.transactionId)).refund_held, 0n);
      assert.deepEqual(await sweepRefundsOnce(m.deps, quiet), { asked: 0, changed: 0 }, 'expired permits are not asked about again');

      const p = await permitted(m, alice, 'JPY:1000');
      answerWith(fake, p.permit, await signedState(p.permit, { state: 'remitted' }));
      const stop = new AbortController();
      const running = runSettlementSweep(m.deps, { signal: stop.signal, log: quiet });
      try {
        while ((await refundRow(m, p.transactionId, p.requestId)).state !== 'remitted') await new Promise((r) => setTimeout(r, 100));
      } finally {
        stop.abort();
        await running;
      }
      assert.equal((await orderRow(m, p.transactionId)).refunded, 1000n);
    });
  });
}

/** Signs as the payment server (PAY) under any typ: a document it signs, presented as a repayment state. */
async function signedAs(payload: unknown, typ: string): Promise<JwsGeneral> {
  const jws = await signDocument({ payload, typ, privateKey: PAY.keys.privateKey, alg: 'EdDSA', x5c: PAY.chain });
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature })) };
}
