// Merchant webhooks (issue 6): events from a database outbox, delivered to a
// real HTTP receiver with an injected clock. A paid order gives one
// order.paid, signed so that both our verifier and `openssl dgst -hmac`
// accept it; a failing endpoint is retried after the backoff and given up
// after 3 days (then `redeliver` queues it again); two senders at once send
// once; an endpoint added later gets no older event; an event exists only
// when its state change committed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import type { MerchantDatabase } from '../../src/merchant/db.ts';
import { claimDue, deliverDueOnce, GIVE_UP_AFTER_MS, LEASE_MS, MAX_RETRY_MS, type WebhookDeliveryDeps } from '../../src/merchant/webhook-delivery.ts';
import { addEndpoint, listDeliveries, redeliver, removeEndpoint } from '../../src/merchant/webhook-endpoints.ts';
import { enqueueEvent, enqueueOrderRefunded, verifyWebhookSignature, type WebhookPayload } from '../../src/merchant/webhooks.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { openssl } from '../cli/helpers.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { startTestMerchant, type TestMerchant } from './harness.ts';
import { buy, postReceipt, startWorld } from './purchase-client.ts';
import { startReceiver, type Receiver } from './webhook-receiver.ts';

type Ctx = { after: (fn: () => Promise<void> | void) => void };
const SECOND = 1000;

/** Delivery deps on the merchant's database and clock; jitter pinned to its middle, so a delay is exactly 10 s · 2^(n−1). */
function senderOf(m: TestMerchant, db: Kysely<MerchantDatabase> = m.deps.db): WebhookDeliveryDeps {
  return { db, clock: m.deps.clock, random: () => 0.5 };
}

async function receiverFor(ctx: Ctx, otherwise?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(otherwise);
  ctx.after(() => r.close());
  return r;
}

async function merchant(t: TestDatabase, ctx: Ctx): Promise<TestMerchant> {
  const m = await startTestMerchant(t);
  ctx.after(() => m.close());
  return m;
}

async function endpoint(m: TestMerchant, url: string) {
  return value(await addEndpoint({ db: m.deps.db, clock: m.deps.clock }, { url, description: 'shop backend' }));
}

/** An event queued in its own committed transaction. */
async function queued(m: TestMerchant, data: object = { transactionId: 'tx-1' }) {
  return m.deps.db.transaction().execute((trx) => enqueueEvent(trx, 'order.paid', data, m.deps.clock()));
}

async function events(db: Kysely<MerchantDatabase>) {
  return db.selectFrom('merchant_webhook_events').selectAll().orderBy('created_at').orderBy('event_id').execute();
}

async function delivery(db: Kysely<MerchantDatabase>, eventId: string) {
  return db.selectFrom('merchant_webhook_deliveries').selectAll().where('event_id', '=', eventId).executeTakeFirstOrThrow();
}

function header(r: { headers: Record<string, string | string[] | undefined> }, name: string): string {
  const v = r.headers[name.toLowerCase()];
  assert.equal(typeof v, 'string', `header ${name}`);
  return v as string;
}

for (const t of testDatabases()) {
  void describe(`merchant webhooks (${t.name})`, () => {
    void test('a paid order → one order.paid, the stored bytes, signed: verifyWebhookSignature and openssl accept it; delivered once', async (ctx) => {
      const world = await startWorld(t, ctx);
      const receiver = await receiverFor(ctx);
      const ep = await endpoint(world.m, receiver.url);
      assert.match(ep.secret, /^whsec_[A-Za-z0-9_-]{43}$/);

      const bought = await buy(world);
      world.m.clock.now = new Date(PKI_NOW.getTime() + 60 * SECOND);
      assert.equal((await postReceipt(world, bought.transactionId, { receipt: bought.receipt })).statusCode, 200);
      // The same receipt again, and the payment server's copy: the order was paid once, so one event.
      assert.equal((await postReceipt(world, bought.transactionId, { receipt: bought.receipt })).statusCode, 200);
      const stored = await events(world.m.deps.db);
      assert.equal(stored.length, 1);
      const event = stored[0]!;
      assert.match(event.event_id, /^evt_[0-9a-f]{32}$/);

      const sender = senderOf(world.m);
      assert.deepEqual(await deliverDueOnce(sender), { attempted: 1, delivered: 1, retrying: 0, failed: 0 });
      assert.equal(receiver.received.length, 1);
      const got = receiver.received[0]!;
      assert.equal(got.path, '/hooks/quittance');
      assert.equal(got.body, event.payload, 'the exact stored bytes');
      assert.equal(header(got, 'content-type'), 'application/json');
      assert.equal(header(got, 'Quittance-Event-Id'), event.event_id);
      assert.equal(header(got, 'Quittance-Event-Type'), 'order.paid');
      const body = JSON.parse(got.body) as WebhookPayload<Record<string, unknown>>;
      assert.deepEqual(body, {
        id: event.event_id,
        type: 'order.paid',
        created: world.m.clock.now.toISOString(),
        data: { transactionId: bought.transactionId, amount: 'JPY:5', paymentMode: 'ecash', paidAt: world.m.clock.now.toISOString() },
      });

      // Our verifier, at the receiver's clock…
      const signature = header(got, 'Quittance-Signature');
      const verified = verifyWebhookSignature(ep.secret, signature, got.body, world.m.clock.now);
      assert.deepEqual(verified, { ok: true, timestamp: world.m.clock.now.getTime() / 1000 });
      // …and OpenSSL, from the documented recipe: HMAC-SHA256 keyed with the secret string over "<t>.<body>".
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
      assert.ok(m, signature);
      const mac = openssl(['dgst', '-sha256', '-hmac', ep.secret], `${m[1]}.${got.body}`);
      assert.equal(mac.status, 0, mac.stderr);
      assert.equal(mac.stdout.trim().split('= ').pop(), m[2]);

      // Delivered: not sent again.
      assert.deepEqual(await deliverDueOnce(sender), { attempted: 0, delivered: 0, retrying: 0, failed: 0 });
      const row = await delivery(world.m.deps.db, event.event_id);
      assert.deepEqual([row.state, Number(row.attempts), Number(row.last_status), row.delivered_at], ['delivered', 1, 200, world.m.clock.now.toISOString()]);
      assert.equal(receiver.received.length, 1);
    });

    void test('the receiver answers 500, then 200: retried after the 10 s backoff with the same body, then delivered', async (ctx) => {
      const m = await merchant(t, ctx);
      const receiver = await receiverFor(ctx);
      receiver.answers.push({ status: 500 });
      const ep = await endpoint(m, receiver.url);
      const { eventId } = await queued(m);
      const sender = senderOf(m);

      assert.deepEqual(await deliverDueOnce(sender), { attempted: 1, delivered: 0, retrying: 1, failed: 0 });
      let row = await delivery(m.deps.db, eventId);
      assert.deepEqual([row.state, Number(row.attempts), Number(row.last_status), row.last_error], ['pending', 1, 500, 'HTTP 500']);
      assert.equal(row.next_attempt_at, new Date(PKI_NOW.getTime() + 10 * SECOND).toISOString());

      m.clock.now = new Date(PKI_NOW.getTime() + 9 * SECOND);
      assert.equal((await deliverDueOnce(sender)).attempted, 0, 'not before the backoff');
      m.clock.now = new Date(PKI_NOW.getTime() + 10 * SECOND);
      assert.deepEqual(await deliverDueOnce(sender), { attempted: 1, delivered: 1, retrying: 0, failed: 0 });
      row = await delivery(m.deps.db, eventId);
      assert.deepEqual([row.state, Number(row.attempts), Number(row.last_status), row.last_error], ['delivered', 2, 200, null]);

      assert.equal(receiver.received.length, 2);
      const [first, second] = receiver.received as [Receiver['received'][number], Receiver['received'][number]];
      assert.equal(second.body, first.body);
      assert.equal(header(second, 'Quittance-Event-Id'), eventId);
      // Each attempt is signed at its own time; the first one's signature is now 10 s old, still within tolerance.
      assert.ok(verifyWebhookSignature(ep.secret, header(second, 'Quittance-Signature'), second.body, m.clock.now).ok);
      assert.notEqual(header(second, 'Quittance-Signature'), header(first, 'Quittance-Signature'));
    });

    void test('the receiver is down for more than 3 days: backoff doubles up to 1 h, then failed; redeliver queues it again and it is delivered', async (ctx) => {
      const m = await merchant(t, ctx);
      const receiver = await receiverFor(ctx, 'drop');
      const ep = await endpoint(m, receiver.url);
      const { eventId } = await queued(m);
      const sender = senderOf(m);

      const gaps: number[] = [];
      let row = await delivery(m.deps.db, eventId);
      while (row.state === 'pending') {
        const due = Date.parse(row.next_attempt_at);
        gaps.push(due - m.clock.now.getTime());
        m.clock.now = new Date(due);
        await deliverDueOnce(sender);
        row = await delivery(m.deps.db, eventId);
      }
      assert.equal(row.state, 'failed');
      assert.match(row.last_error ?? '', /^TypeError/);
      assert.equal(Number(row.attempts), receiver.received.length);
      // 0 (due at once), then 10 s, 20 s, 40 s … doubling, never above an hour.
      assert.deepEqual(gaps.slice(0, 6), [0, 10, 20, 40, 80, 160].map((s) => s * SECOND));
      assert.ok(gaps.every((g) => g <= MAX_RETRY_MS));
      assert.equal(gaps[gaps.length - 1], MAX_RETRY_MS);
      // It gave up at the first failure 3 days after it was queued, not before.
      const lastAttempt = m.clock.now.getTime();
      assert.ok(lastAttempt - PKI_NOW.getTime() >= GIVE_UP_AFTER_MS);
      assert.ok(lastAttempt - gaps[gaps.length - 1]! - PKI_NOW.getTime() < GIVE_UP_AFTER_MS);
      assert.equal((await deliverDueOnce(sender)).attempted, 0, 'a failed delivery is not sent again by itself');

      receiver.otherwise = { status: 204 };
      const again = value(await redeliver({ db: m.deps.db, clock: m.deps.clock }, eventId));
      assert.deepEqual(again, { eventId, requeued: 1, alreadyPending: 0 });
      row = await delivery(m.deps.db, eventId);
      assert.deepEqual([row.state, Number(row.attempts), row.next_attempt_at], ['pending', 0, m.clock.now.toISOString()]);
      assert.deepEqual(await deliverDueOnce(sender), { attempted: 1, delivered: 1, retrying: 0, failed: 0 });
      const last = receiver.received[receiver.received.length - 1]!;
      assert.ok(verifyWebhookSignature(ep.secret, header(last, 'Quittance-Signature'), last.body, m.clock.now).ok);
      // Redelivering a delivered event sends it once more (the receiver deduplicates by id); an unknown event is refused.
      assert.equal(value(await redeliver({ db: m.deps.db, clock: m.deps.clock }, eventId)).requeued, 1);
      const unknown = await redeliver({ db: m.deps.db, clock: m.deps.clock }, 'evt_00000000000000000000000000000000');
      assert.equal(!unknown.ok && unknown.code, 'MERCHANT_WEBHOOK_EVENT_NOT_FOUND');
    });

    void test('two delivery passes at once (two stores on one database): each event is POSTed once', async (ctx) => {
      const m = await merchant(t, ctx);
      // Slow answers: a pass that did not see the other's lease would send while the first POST is in flight.
      const receiver = await receiverFor(ctx, { status: 200, delayMs: 150 });
      await endpoint(m, receiver.url);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await queued(m, { transactionId: `tx-${i}` })).eventId);
      // node:sqlite in one process: one store per file (test/helpers/db.ts); PostgreSQL: a second pool, as a second process has.
      const other = t.name === 'postgres' ? (await m.handle.reopen<MerchantDatabase>()).db : m.deps.db;
      const [a, b] = await Promise.all([deliverDueOnce(senderOf(m)), deliverDueOnce(senderOf(m, other))]);
      assert.equal(a.attempted + b.attempted, 5);
      assert.equal(a.delivered + b.delivered, 5);
      assert.deepEqual(receiver.received.map((r) => header(r, 'Quittance-Event-Id')).sort(), [...ids].sort());

      // The claim itself: two claims of the same due rows split them, never share one.
      for (let i = 0; i < 4; i++) await queued(m, { transactionId: `tx-late-${i}` });
      const [x, y] = await Promise.all([claimDue(m.deps.db, m.clock.now), claimDue(other, m.clock.now)]);
      const claimed = [...x, ...y].map((c) => c.eventId);
      assert.equal(claimed.length, 4);
      assert.equal(new Set(claimed).size, 4);
      // Leased: not due again until the lease ends, then due again (a sender that died mid-attempt).
      assert.equal((await claimDue(m.deps.db, new Date(m.clock.now.getTime() + LEASE_MS - 1))).length, 0);
      assert.equal((await claimDue(m.deps.db, new Date(m.clock.now.getTime() + LEASE_MS))).length, 4);
    });

    void test('an endpoint added after an event does not get it; a removed one gets nothing more and its pending deliveries are given up', async (ctx) => {
      const m = await merchant(t, ctx);
      const early = await receiverFor(ctx);
      const late = await receiverFor(ctx);
      await endpoint(m, early.url);
      const first = await queued(m, { transactionId: 'tx-before' });
      assert.equal(first.deliveries, 1);
      m.clock.now = new Date(PKI_NOW.getTime() + SECOND);
      const lateEp = await endpoint(m, late.url);
      const second = await queued(m, { transactionId: 'tx-after' });
      assert.equal(second.deliveries, 2);
      await deliverDueOnce(senderOf(m));
      assert.deepEqual(early.received.map((r) => header(r, 'Quittance-Event-Id')).sort(), [first.eventId, second.eventId].sort());
      assert.deepEqual(late.received.map((r) => header(r, 'Quittance-Event-Id')), [second.eventId]);
      // Redelivering the older event does not reach the newer endpoint either.
      value(await redeliver({ db: m.deps.db, clock: m.deps.clock }, first.eventId));
      await deliverDueOnce(senderOf(m));
      assert.equal(late.received.length, 1);

      late.otherwise = { status: 503 };
      const third = await queued(m, { transactionId: 'tx-third' });
      await deliverDueOnce(senderOf(m));
      const removed = value(await removeEndpoint({ db: m.deps.db, clock: m.deps.clock }, lateEp.endpointId));
      assert.equal(removed.abandoned, 1);
      const given = (await listDeliveries(m.deps.db, { eventId: third.eventId })).find((d) => d.endpointId === lateEp.endpointId)!;
      assert.deepEqual([given.state, given.lastError], ['failed', 'endpoint removed']);
      const fourth = await queued(m, { transactionId: 'tx-fourth' });
      assert.equal(fourth.deliveries, 1);
      m.clock.now = new Date(m.clock.now.getTime() + 3600 * SECOND);
      await deliverDueOnce(senderOf(m));
      assert.equal(late.received.length, 2, 'one refused attempt of the third event, nothing after the removal');
      const again = await removeEndpoint({ db: m.deps.db, clock: m.deps.clock }, lateEp.endpointId);
      assert.equal(!again.ok && again.code, 'MERCHANT_WEBHOOK_ENDPOINT_NOT_FOUND');
    });

    void test('a state change rolled back leaves no event; a refused receipt none; the order.paid insert failing leaves the order unpaid', async (ctx) => {
      const world = await startWorld(t, ctx);
      const receiver = await receiverFor(ctx);
      await endpoint(world.m, receiver.url);
      const db = world.m.deps.db;

      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await enqueueEvent(trx, 'order.paid', { transactionId: 'tx-rolled-back' }, world.m.clock.now);
          throw new Error('the state change failed');
        }),
        /the state change failed/,
      );
      assert.deepEqual(await events(db), []);
      assert.deepEqual(await db.selectFrom('merchant_webhook_deliveries').selectAll().execute(), []);

      const bought = await buy(world);
      const other = await buy(world);
      assert.equal((await postReceipt(world, bought.transactionId, { receipt: other.receipt })).statusCode, 422);
      assert.deepEqual(await events(db), []);

      // The outbox insert fails inside the transaction that marks the order PAID: both or neither.
      if (t.name === 'sqlite') await sql`create trigger refuse_events before insert on merchant_webhook_events begin select raise(abort, 'refused by the test'); end`.execute(db);
      else await sql`alter table merchant_webhook_events add constraint refuse_events check (type <> 'order.paid') not valid`.execute(db);
      assert.equal((await postReceipt(world, bought.transactionId, { receipt: bought.receipt })).statusCode, 500);
      const unpaid = await db.selectFrom('merchant_orders').select('payment_state').where('transaction_id', '=', bought.transactionId).executeTakeFirstOrThrow();
      assert.equal(unpaid.payment_state, 'UNPAID');
      assert.deepEqual(await events(db), []);
      if (t.name === 'sqlite') await sql`drop trigger refuse_events`.execute(db);
      else await sql`alter table merchant_webhook_events drop constraint refuse_events`.execute(db);

      assert.equal((await postReceipt(world, bought.transactionId, { receipt: bought.receipt })).statusCode, 200);
      const after = await events(db);
      assert.deepEqual(after.map((e) => [e.type, (JSON.parse(e.payload) as WebhookPayload<{ transactionId: string }>).data.transactionId]), [['order.paid', bought.transactionId]]);
    });

    void test('order.refunded: one event per permit, with this refund and the total refunded; remitted → completed adds none', async (ctx) => {
      const m = await merchant(t, ctx);
      const receiver = await receiverFor(ctx);
      await endpoint(m, receiver.url);
      const refund = { transaction_id: 'tx-r', request_id: 'rq-1', permit_id: 'pm-1', currency: 'JPY', amount: 300n };
      await m.deps.db
        .insertInto('merchant_orders')
        .values({
          transaction_id: 'tx-r', purchaser_id: 'alice', order_id: 'o-1', order_hash: 'h', purchaser_kind: 'certified', currency: 'JPY', total: 1000n,
          payment_mode: 'ecash', payment_state: 'PAID', order_jws: '{}', invoice_jws: '{}', invoice_hash: 'ih', payment_server_id: 'pay-1', payment_server_chain: '[]',
          bill_time: PKI_NOW.toISOString(), payment_due_time: PKI_NOW.toISOString(), refund_deadline: PKI_NOW.toISOString(), created_at: PKI_NOW.toISOString(),
          refund_held: 700n, refunded: 700n, paid_at: PKI_NOW.toISOString(),
        })
        .execute();
      const first = await m.deps.db.transaction().execute((trx) => enqueueOrderRefunded(trx, refund, 'remitted', m.clock.now));
      const again = await m.deps.db.transaction().execute((trx) => enqueueOrderRefunded(trx, refund, 'completed', m.clock.now));
      assert.deepEqual([first.created, again.created], [true, false]);
      await deliverDueOnce(senderOf(m));
      assert.equal(receiver.received.length, 1);
      const body = JSON.parse(receiver.received[0]!.body) as WebhookPayload;
      assert.deepEqual(body.data, { transactionId: 'tx-r', requestId: 'rq-1', permitId: 'pm-1', amount: 'JPY:300', refunded: 'JPY:700', state: 'remitted' });
      assert.equal(body.type, 'order.refunded');
    });
  });
}

void describe('verifyWebhookSignature (for shops)', () => {
  const secret = 'whsec_test-secret-for-the-verifier';
  const body = '{"id":"evt_1","type":"order.paid","created":"2026-01-01T00:00:00.000Z","data":{"amount":"JPY:5"}}';
  const now = new Date('2026-01-01T00:00:10.000Z');
  const t = Math.floor(now.getTime() / 1000);
  const good = (at = t, key = secret, bytes = body) => openssl(['dgst', '-sha256', '-hmac', key], `${at}.${bytes}`).stdout.trim().split('= ').pop()!;

  void test('accepts a signature made by openssl with the secret string, also as bytes and among several v1', () => {
    assert.deepEqual(verifyWebhookSignature(secret, `t=${t},v1=${good()}`, body, now), { ok: true, timestamp: t });
    assert.ok(verifyWebhookSignature(secret, `t=${t},v1=${good()}`, new TextEncoder().encode(body), now).ok);
    assert.ok(verifyWebhookSignature(secret, `t=${t}, v1=${'0'.repeat(64)}, v1=${good()}, v2=zzz`, body, now).ok);
  });

  void test('a tampered body, a wrong secret, another time in the header: MERCHANT_WEBHOOK_SIGNATURE_INVALID', () => {
    const invalid = (h: string, b = body) => {
      const r = verifyWebhookSignature(secret, h, b, now);
      assert.equal(!r.ok && r.code, 'MERCHANT_WEBHOOK_SIGNATURE_INVALID', h);
    };
    invalid(`t=${t},v1=${good()}`, body.replace('JPY:5', 'JPY:9'));
    invalid(`t=${t},v1=${good()}`, `${body} `);
    invalid(`t=${t},v1=${good(t, 'whsec_another-secret')}`);
    invalid(`t=${t - 1},v1=${good()}`);
    // Every single flipped bit of the body fails.
    const bytes = new TextEncoder().encode(body);
    for (let i = 0; i < bytes.length; i += 7) {
      const flipped = bytes.slice();
      flipped[i]! ^= 1;
      const r = verifyWebhookSignature(secret, `t=${t},v1=${good()}`, flipped, now);
      assert.equal(r.ok, false, `byte ${i}`);
    }
  });

  void test('an old (replayed) or far-future timestamp: MERCHANT_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE, even with a valid signature', () => {
    const old = t - 301;
    const r = verifyWebhookSignature(secret, `t=${old},v1=${good(old)}`, body, now);
    assert.equal(!r.ok && r.code, 'MERCHANT_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE');
    const future = t + 301;
    const f = verifyWebhookSignature(secret, `t=${future},v1=${good(future)}`, body, now);
    assert.equal(!f.ok && f.code, 'MERCHANT_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE');
    assert.ok(verifyWebhookSignature(secret, `t=${t - 300},v1=${good(t - 300)}`, body, now).ok, 'at the edge of the default 300 s');
    const strict = verifyWebhookSignature(secret, `t=${t - 60},v1=${good(t - 60)}`, body, now, 30);
    assert.equal(!strict.ok && strict.code, 'MERCHANT_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE');
  });

  void test('malformed headers: MERCHANT_WEBHOOK_SIGNATURE_MALFORMED; wrong argument types throw', () => {
    for (const h of [undefined, null, '', 'v1=abc', `t=${t}`, `t=${t},v1=${good().toUpperCase()}`, `t=abc,v1=${good()}`, `t=${t},t=${t},v1=${good()}`, 'garbage', `t=${t},v1=${good()},${'x'.repeat(1100)}`]) {
      const r = verifyWebhookSignature(secret, h, body, now);
      assert.equal(!r.ok && r.code, 'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED', String(h));
    }
    assert.throws(() => verifyWebhookSignature('', `t=${t},v1=${good()}`, body, now), TypeError);
    assert.throws(() => verifyWebhookSignature(secret, `t=${t},v1=${good()}`, JSON.parse(body) as string, now), TypeError);
    assert.throws(() => verifyWebhookSignature(secret, `t=${t},v1=${good()}`, body, new Date(Number.NaN)), TypeError);
  });
});
