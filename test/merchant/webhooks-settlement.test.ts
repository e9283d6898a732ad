// settlement.paid (settlement-watch.ts): the shop learns of a settlement from
// the payment server's signed report — fetched by `merchant serve` on its
// own, or by the CLI — and announces each stored report once, to the
// endpoints that existed when the report was stored. A report that fails its
// check is not stored and announces nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fetchSettlementReports } from '../../src/merchant/settlement-reports.ts';
import { announceSettlements, runSettlementWatch, watchSettlementsOnce } from '../../src/merchant/settlement-watch.ts';
import { deliverDueOnce, runWebhookDelivery } from '../../src/merchant/webhook-delivery.ts';
import { addEndpoint, listDeliveries } from '../../src/merchant/webhook-endpoints.ts';
import { verifyWebhookSignature, type WebhookPayload } from '../../src/merchant/webhooks.ts';
import { SETTLEMENT_REPORT_TYP, type SettlementReport } from '../../src/protocol/documents/index.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { PKI_NOW, type LeafHandle } from '../fixtures/pki.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { PAY, PKI, SHOP, startTestMerchant, type TestMerchant } from './harness.ts';
import { startReceiver, type Receiver } from './webhook-receiver.ts';

type Ctx = { after: (fn: () => Promise<void> | void) => void };
const quiet = { info: () => {}, warn: () => {} };

function report(settlementId: string, over: Partial<SettlementReport> = {}): SettlementReport {
  return {
    typ: SETTLEMENT_REPORT_TYP,
    settlementId,
    shop: { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer' },
    paymentServer: { id: 'pay-1', name: 'Quittance Pay' },
    currency: 'JPY',
    amount: 'JPY:3000',
    payoutAccount: 'QB07277690082177',
    items: [
      { transactionId: 'tx-a', kind: 'payment', amount: 'JPY:2500' },
      { transactionId: 'tx-b', kind: 'payment', amount: 'JPY:1500' },
      { transactionId: 'tx-a', kind: 'refund', permitId: 'pm-1', amount: 'JPY:1000' },
    ],
    time: PKI_NOW.toISOString(),
    ...over,
  };
}

function signed(r: SettlementReport, by: LeafHandle = PAY) {
  return signDocument({ payload: r, typ: SETTLEMENT_REPORT_TYP, privateKey: by.keys.privateKey, alg: 'EdDSA', x5c: by.chain });
}

/** The payment server's settlement query route, answering whatever the test holds. */
function paymentServer(held: { reports: unknown[] }): typeof fetch {
  return async () => new Response(JSON.stringify({ reports: held.reports, more: false }), { status: 200, headers: { 'content-type': 'application/json' } });
}

async function setUp(t: TestDatabase, ctx: Ctx, config: Record<string, unknown> = {}) {
  const held: { reports: unknown[] } = { reports: [] };
  const m: TestMerchant = await startTestMerchant(t, { fetch: paymentServer(held), config });
  ctx.after(() => m.close());
  const receiver: Receiver = await startReceiver();
  ctx.after(() => receiver.close());
  const ep = value(await addEndpoint({ db: m.deps.db, clock: m.deps.clock }, { url: receiver.url }));
  // Webhooks go out over the network; the merchant's own fetch is the fake payment server.
  const sender = { db: m.deps.db, clock: m.deps.clock, fetch: globalThis.fetch, random: () => 0.5 };
  return { m, held, receiver, ep, sender };
}

async function settlementEvents(m: TestMerchant) {
  return (await m.deps.db.selectFrom('merchant_webhook_events').select(['event_id', 'payload']).where('type', '=', 'settlement.paid').orderBy('created_at').execute()).map(
    (e) => JSON.parse(e.payload) as WebhookPayload<Record<string, unknown>>,
  );
}

for (const t of testDatabases()) {
  void describe(`settlement.paid (${t.name})`, () => {
    void test('a new signed report → stored and announced once, with its amount, items and bank transfer; delivered signed', async (ctx) => {
      const { m, held, receiver, ep, sender } = await setUp(t, ctx);
      held.reports = [await signed(report('st-00000000000000000000000000000001'))];
      m.clock.now = new Date(PKI_NOW.getTime() + 60_000);
      assert.deepEqual(await watchSettlementsOnce(m.deps, quiet), { fetched: 1, announced: 1 });
      assert.deepEqual(await watchSettlementsOnce(m.deps, quiet), { fetched: 0, announced: 0 });

      const [event, ...more] = await settlementEvents(m);
      assert.equal(more.length, 0);
      assert.deepEqual(event!.data, {
        settlementId: 'st-00000000000000000000000000000001',
        amount: 'JPY:3000',
        currency: 'JPY',
        transactions: 3,
        payments: 2,
        refunds: 1,
        bankTransferId: 'st-00000000000000000000000000000001',
        payoutAccount: 'QB07277690082177',
        time: PKI_NOW.toISOString(),
      });
      assert.equal(event!.created, m.clock.now.toISOString());
      assert.deepEqual(await deliverDueOnce(sender), { attempted: 1, delivered: 1, retrying: 0, failed: 0 });
      const got = receiver.received[0]!;
      assert.equal(got.headers['quittance-event-type'], 'settlement.paid');
      assert.ok(verifyWebhookSignature(ep.secret, String(got.headers['quittance-signature']), got.body, m.clock.now).ok);
    });

    void test('a report stored by the CLI is announced by the next pass, to the endpoints that existed when it was stored', async (ctx) => {
      const { m, held, receiver, sender } = await setUp(t, ctx);
      held.reports = [await signed(report('st-00000000000000000000000000000002'))];
      m.clock.now = new Date(PKI_NOW.getTime() + 60_000);
      // `quittance merchant settlements`: fetches and stores, announces nothing itself.
      assert.equal(value(await fetchSettlementReports(m.deps)).stored, 1);
      assert.deepEqual(await settlementEvents(m), []);

      m.clock.now = new Date(PKI_NOW.getTime() + 120_000);
      const later = await startReceiver();
      ctx.after(() => later.close());
      const lateEp = value(await addEndpoint({ db: m.deps.db, clock: m.deps.clock }, { url: later.url }));
      m.clock.now = new Date(PKI_NOW.getTime() + 180_000);
      assert.equal(await announceSettlements(m.deps), 1);
      assert.equal(await announceSettlements(m.deps), 0);
      const [event] = await settlementEvents(m);
      assert.equal(event!.created, new Date(PKI_NOW.getTime() + 60_000).toISOString(), 'created when the shop learnt of it');
      await deliverDueOnce(sender);
      assert.equal(receiver.received.length, 1);
      assert.equal(later.received.length, 0);
      const to = (await listDeliveries(m.deps.db, { eventId: event!.id })).map((d) => d.endpointId);
      assert.equal(to.length, 1);
      assert.ok(!to.includes(lateEp.endpointId));
    });

    void test('a report signed by another payment server, or naming another shop, is not stored and announces nothing; what was stored before still is', async (ctx) => {
      const { m, held } = await setUp(t, ctx);
      held.reports = [await signed(report('st-00000000000000000000000000000003'))];
      assert.equal(value(await fetchSettlementReports(m.deps)).stored, 1);
      const other = await PKI.leaf({ role: 'payment', partyId: 'pay-2', displayName: 'Other Pay' });
      held.reports = [await signed(report('st-00000000000000000000000000000004'), other)];
      const warned: unknown[] = [];
      const pass = await watchSettlementsOnce(m.deps, { info: () => {}, warn: (o) => warned.push(o) });
      assert.deepEqual(pass, { fetched: 0, announced: 1 }, 'the fetch failed; the report stored earlier is announced all the same');
      assert.deepEqual(warned, [{ code: 'MERCHANT_SETTLEMENT_REPORT_INVALID' }]);
      held.reports = [await signed(report('st-00000000000000000000000000000005', { shop: { id: 'shop-2', name: 'Another shop' } }), PAY)];
      assert.deepEqual(await watchSettlementsOnce(m.deps, quiet), { fetched: 0, announced: 0 });
      // The shop's own certificate cannot pass for the payment server's either.
      held.reports = [await signed(report('st-00000000000000000000000000000006'), SHOP)];
      assert.deepEqual(await watchSettlementsOnce(m.deps, quiet), { fetched: 0, announced: 0 });
      assert.deepEqual((await settlementEvents(m)).map((e) => e.data.settlementId), ['st-00000000000000000000000000000003']);
    });

    void test('merchant serve\'s loops: the watch fetches and announces, the sender delivers, without an operator; both stop when told', async (ctx) => {
      const { m, held, receiver, sender } = await setUp(t, ctx, { webhookSweepSeconds: 1, settlementWatchSeconds: 1 });
      held.reports = [await signed(report('st-00000000000000000000000000000007'))];
      const stop = new AbortController();
      const loops = Promise.all([
        runSettlementWatch(m.deps, { signal: stop.signal, log: quiet }),
        runWebhookDelivery({ ...sender, config: m.deps.config }, { signal: stop.signal, log: quiet }),
      ]);
      try {
        while (receiver.received.length === 0) await new Promise((r) => setTimeout(r, 50));
      } finally {
        stop.abort();
        await loops;
      }
      assert.equal(receiver.received[0]!.headers['quittance-event-type'], 'settlement.paid');
      assert.equal(JSON.parse(receiver.received[0]!.body).data.settlementId, 'st-00000000000000000000000000000007');
    });
  });
}
