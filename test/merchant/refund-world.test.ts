// A refund end to end between the merchant and the real test payment server
// (test/payment/harness.ts): a purchase paid with coins, a repayment request
// at the shop (1110 → 1140), the shopper claims the permit at the payment
// server with fresh envelopes (1150 + 1170 → 1180) and acknowledges it (1190),
// and the shop learns each step from the payment server's signed state
// (1210 → 1220): PARTIALLY_REFUNDED, then REFUNDED by a second permit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sweepRefundsOnce } from '../../src/merchant/repayment-state.ts';
import { REMITTANCE_REQUEST_TYP, REPAYMENT_PERMIT_TYP, REPAYMENT_RECEIPT_TYP, REPAYMENT_REQUEST_TYP, type JwsGeneral, type RepaymentPermit } from '../../src/protocol/documents/index.ts';
import { countersign, signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { RepaymentAnswer } from '../../src/protocol/messages/merchant.ts';
import { remittanceEnvelopesHash } from '../../src/protocol/messages/payment.ts';
import { testDatabases } from '../helpers/db.ts';
import { prepareCoins } from '../payment/emoney-client.ts';
import { ADMIN_TOKEN } from './harness.ts';
import { buy, hashOf, payloadOf, startWorld, type World } from './purchase-client.ts';

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
  });
}

