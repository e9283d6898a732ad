// GET /v1/reserves/:reservePub (long polling until a load is credited),
// GET /v1/loading and the `loading` accounts of the signed key list. Loads
// come from a real bank listening on 127.0.0.1:0, through the loader.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { createApp } from '../../src/payment/app.ts';
import { checkLedger, ledgerAccount, postTransfer } from '../../src/payment/ledger.ts';
import { pollOnce } from '../../src/payment/loader.ts';
import { RESERVE_POLLS_PER_MINUTE } from '../../src/payment/routes/reserves.ts';
import { accountIdFromBody } from '../../src/protocol/messages/bank.ts';
import { ReserveView } from '../../src/protocol/messages/payment.ts';
import { bearer, fundAccount, open, startTestBank } from '../bank/harness.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { startTestPayment, type TestPayment } from './harness.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

const reserveKey = () => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;

async function world(ctx: Ctx, t: TestDatabase, config: Parameters<typeof startTestPayment>[1] = {}) {
  const bank = await startTestBank(t);
  ctx.after(() => bank.close());
  const bankUrl = await bank.app.listen({ port: 0, host: '127.0.0.1' });
  const pay = await startTestPayment(t, config);
  ctx.after(() => pay.close());
  const payJpy = await open(bank, 'pay-1', 'JPY', { kind: 'payment' });
  const alice = await open(bank, 'alice');
  await fundAccount(bank, alice.id, 'JPY:10000');
  pay.deps.bankLink = { url: bankUrl, token: payJpy.token, accounts: [{ currency: 'JPY', accountId: payJpy.id }] };
  let n = 0;
  const load = async (subject: string, amount: string) => {
    const res = await bank.app.inject({
      method: 'POST',
      url: '/v1/transfers',
      headers: bearer(alice.token),
      payload: { transferId: `load-${++n}`, from: alice.id, to: payJpy.id, amount, subject },
    });
    assert.equal(res.statusCode, 201, res.body);
  };
  return { bank, pay, payJpy, load };
}

const get = (pay: TestPayment, url: string) => pay.app.inject({ method: 'GET', url });

for (const t of testDatabases()) {
  void describe(`GET /v1/reserves (${t.name})`, () => {
    void test('unknown reserve: 404 PAY_RESERVE_UNKNOWN; after a load: credited, withdrawn and balance', async (ctx) => {
      const w = await world(ctx, t);
      const pub = reserveKey();
      const unknown = await get(w.pay, `/v1/reserves/${pub}`);
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().code, 'PAY_RESERVE_UNKNOWN');

      await w.load(pub, 'JPY:3000');
      await w.load(pub, 'JPY:1000');
      assert.equal((await pollOnce(w.pay.deps, fetch)).credited, 2);
      const res = await get(w.pay, `/v1/reserves/${pub}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      const view = ReserveView.parse(res.json());
      assert.deepEqual({ ...view, createdAt: '' }, { reservePub: pub, currency: 'JPY', credited: 'JPY:4000', withdrawn: 'JPY:0', balance: 'JPY:4000', createdAt: '' });

      // A withdrawal as the withdrawal code books it: its row and reserve → float.
      const db = w.pay.deps.db;
      const now = w.pay.clock.now;
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('payment_withdrawals').values({ reserve_pub: pub, request_id: 'req-0123456789abcdef', request_hash: 'h', currency: 'JPY', amount: 2500n, created_at: now.toISOString() }).execute();
        await trx.insertInto('payment_ledger_accounts').values({ id: ledgerAccount.float('JPY'), currency: 'JPY', kind: 'float', debits_posted: 0n, credits_posted: 0n, debits_pending: 0n, credits_pending: 0n, created_at: now.toISOString() }).execute();
        assert.ok(await postTransfer(trx, { id: `withdraw:${pub}:req-0123456789abcdef`, debit: ledgerAccount.reserve(pub), credit: ledgerAccount.float('JPY'), currency: 'JPY', amount: 2500n, reason: 'withdraw' }, now));
      });
      assert.deepEqual(await checkLedger(db), []);
      const after = ReserveView.parse((await get(w.pay, `/v1/reserves/${pub}`)).json());
      assert.deepEqual([after.credited, after.withdrawn, after.balance], ['JPY:4000', 'JPY:2500', 'JPY:1500']);
    });

    void test('long poll: answers once the load is credited; a smaller target answers at once', async (ctx) => {
      const w = await world(ctx, t);
      const pub = reserveKey();
      const waiting = get(w.pay, `/v1/reserves/${pub}?wait=20&credited=JPY:3000`);
      await w.load(pub, 'JPY:3000');
      // The loader runs while the request waits; it looks at the database, not at memory.
      assert.equal((await pollOnce(w.pay.deps, fetch)).credited, 1);
      const res = await waiting;
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().credited, 'JPY:3000');

      const now = await get(w.pay, `/v1/reserves/${pub}?wait=20&credited=JPY:100`);
      assert.equal(now.json().credited, 'JPY:3000');
      // A target not reached within the wait: the reserve as it is.
      const short = await get(w.pay, `/v1/reserves/${pub}?wait=1&credited=JPY:5000`);
      assert.equal(short.statusCode, 200);
      assert.equal(short.json().credited, 'JPY:3000');
      // A target in another currency can never be met: answered at once with the reserve.
      const other = await get(w.pay, `/v1/reserves/${pub}?wait=20&credited=EUR:1.00`);
      assert.equal(other.json().currency, 'JPY');
      // Still unknown after the wait: 404.
      const none = await get(w.pay, `/v1/reserves/${reserveKey()}?wait=1`);
      assert.equal(none.statusCode, 404);
      assert.equal(none.json().code, 'PAY_RESERVE_UNKNOWN');
    });

    void test('malformed key, amount or wait: 400 HTTP_SCHEMA_INVALID', async (ctx) => {
      const w = await world(ctx, t);
      for (const url of [
        '/v1/reserves/not-a-key',
        `/v1/reserves/${'A'.repeat(44)}`,
        `/v1/reserves/${reserveKey()}?credited=JPY:1.5`,
        `/v1/reserves/${reserveKey()}?wait=601`,
        `/v1/reserves/${reserveKey()}?wait=-1`,
        `/v1/reserves/${reserveKey()}?other=1`,
      ]) {
        const res = await get(w.pay, url);
        assert.equal(res.statusCode, 400, url);
        assert.equal(res.json().code, 'HTTP_SCHEMA_INVALID', url);
      }
    });

    void test('closing the server ends a waiting poll and closes its connection', async (ctx) => {
      const pay = await startTestPayment(t);
      ctx.after(() => pay.close());
      // A second app on the same deps, with a hook that tells when the request has arrived.
      const app = createApp(pay.deps);
      let arrived!: () => void;
      const received = new Promise<void>((r) => (arrived = r));
      app.addHook('onRequest', async () => arrived());
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const waiting = fetch(`${url}/v1/reserves/${reserveKey()}?wait=30`);
      await received;
      const closed = app.close();
      const res = await waiting;
      assert.equal(res.status, 404);
      assert.equal((await res.json()).code, 'PAY_RESERVE_UNKNOWN');
      // Without it the kept-alive socket would hold close() up until the keep-alive timeout.
      assert.equal(res.headers.get('connection'), 'close');
      await closed;
    });
  });

  void describe(`GET /v1/reserves is rate limited per client address (${t.name})`, () => {
    void test(`after ${RESERVE_POLLS_PER_MINUTE} polls in a minute: 429 HTTP_RATE_LIMITED before any read; other clients and other endpoints go on`, async (ctx) => {
      const pay = await startTestPayment(t, { currencies: [{ maxValue: 'JPY:2' }] });
      ctx.after(() => pay.close());
      // The app on a store that counts its queries: a refused poll must not reach the database.
      let reads = 0;
      const app = createApp({ ...pay.deps, db: pay.deps.db.withPlugin({ transformQuery: (a) => (reads++, a.node), transformResult: async (a) => a.result }) });
      ctx.after(() => app.close());
      const pub = reserveKey();
      const poll = (remoteAddress: string, query = '') => app.inject({ method: 'GET', url: `/v1/reserves/${pub}${query}`, remoteAddress });
      for (let i = 0; i < RESERVE_POLLS_PER_MINUTE; i++) {
        const res = await poll('192.0.2.7');
        assert.equal(res.statusCode, 404, `poll ${i + 1}: ${res.body}`);
      }
      const before = reads;
      const refused = await poll('192.0.2.7', '?wait=30');
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json().code, 'HTTP_RATE_LIMITED');
      assert.ok(refused.headers['retry-after'] !== undefined);
      assert.equal(reads, before, 'a refused poll reads nothing');
      // Another address is not limited, nor is another endpoint for the limited one.
      assert.equal((await poll('192.0.2.8')).statusCode, 404);
      assert.equal((await app.inject({ method: 'GET', url: '/v1/loading', remoteAddress: '192.0.2.7' })).statusCode, 503);
    });
  });

  void describe(`GET /v1/loading and the key list's loading accounts (${t.name})`, () => {
    void test('without a bank link: 503 PAY_LOADING_UNAVAILABLE and no loading in the key list; with one: the accounts in both', async (ctx) => {
      const pay = await startTestPayment(t, { currencies: [{ maxValue: 'JPY:2' }] });
      ctx.after(() => pay.close());
      const none = await get(pay, '/v1/loading');
      assert.equal(none.statusCode, 503);
      assert.equal(none.json().code, 'PAY_LOADING_UNAVAILABLE');
      const payload = async () => JSON.parse(Buffer.from((await get(pay, '/v1/keys')).json<{ payload: string }>().payload, 'base64url').toString('utf8')) as { loading?: unknown; keys: unknown[] };
      assert.equal((await payload()).loading, undefined);

      const account = accountIdFromBody('000000000001');
      pay.deps.bankLink = { url: 'http://127.0.0.1:1', token: 'qbh_0123456789abcdef', accounts: [{ currency: 'JPY', accountId: account }] };
      const linked = await get(pay, '/v1/loading');
      assert.equal(linked.statusCode, 200);
      assert.deepEqual(linked.json(), { accounts: [{ currency: 'JPY', bankAccount: account }] });
      // The cached signed list is not reused: it now names the account.
      assert.deepEqual((await payload()).loading, [{ currency: 'JPY', bankAccount: account }]);
    });
  });
}

