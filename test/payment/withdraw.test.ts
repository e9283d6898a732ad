// Withdrawal (issue 3, payment server): coins signed against a loaded
// reserve, the reserve debited once however often the request comes, and
// every refusal leaving the books and tables as they were.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { testDatabases } from '../helpers/db.ts';
import {
  assertBooks,
  assertRefused,
  balanceOf,
  creditReserve,
  EMONEY_CONFIG,
  finalizeCoins,
  keyFor,
  newRequestId,
  openWallet,
  postWithdraw,
  prepareCoins,
  reserveKeys,
  snapshot,
  withdrawRequest,
  type TestWallet,
} from './emoney-client.ts';
import { startTestPayment } from './harness.ts';

const DAY = 86_400_000;

/** The modulus of a wallet key as 256 big-endian bytes. */
function modulusBytes(w: TestWallet, amount: string): Buffer {
  return Buffer.from(keyFor(w, amount).publicKey.n.toString(16).padStart(512, '0'), 'hex');
}

for (const t of testDatabases()) {
  void describe(`payment withdrawal (${t.name})`, () => {
    async function setUp(ctx: { after: (fn: () => Promise<void>) => void }, credit = 15n) {
      const p = await startTestPayment(t, EMONEY_CONFIG);
      ctx.after(() => p.close());
      const w = await openWallet(p);
      const reserve = await reserveKeys(w);
      if (credit > 0n) await creditReserve(p.deps, reserve.pub, 'JPY', credit);
      return { p, w, reserve, db: p.deps.db };
    }

    void test('withdraws coins that verify (RFC 9474 and OpenSSL); the reserve pays, the float grows, the books balance', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const pending = await prepareCoins(w, ['JPY:8', 'JPY:4', 'JPY:2', 'JPY:1']);
      const res = await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope)));
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['idempotent-replay'], undefined);
      const coins = await finalizeCoins(pending, res);
      assert.deepEqual(
        coins.map((c) => c.value),
        [8n, 4n, 2n, 1n],
      );
      assert.equal(await balanceOf(db, ledgerAccount.reserve(reserve.pub)), 0n);
      assert.equal(await balanceOf(db, ledgerAccount.float('JPY')), 15n);
      const envelopes = await db.selectFrom('payment_issued_envelopes').select(['source', 'position', 'value']).orderBy('position').execute();
      assert.deepEqual(envelopes, [
        { source: 'withdraw', position: 0, value: 8n },
        { source: 'withdraw', position: 1, value: 4n },
        { source: 'withdraw', position: 2, value: 2n },
        { source: 'withdraw', position: 3, value: 1n },
      ]);
      await assertBooks(db);
    });

    void test('the same withdrawal again: the same signatures, 200 with idempotent-replay, debited once', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx, 20n);
      const pending = await prepareCoins(w, ['JPY:8', 'JPY:1']);
      const request = await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope));
      const first = await postWithdraw(p, request);
      assert.equal(first.statusCode, 201, first.body);
      const before = await snapshot(db);
      const again = await postWithdraw(p, request);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());
      assert.deepEqual(await snapshot(db), before);
      assert.equal(await balanceOf(db, ledgerAccount.reserve(reserve.pub)), 11n);
      await finalizeCoins(pending, again);
      await assertBooks(db);
    });

    void test('copies of one withdrawal sent at once: one 201, the rest replays, debited once', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx, 20n);
      const pending = await prepareCoins(w, ['JPY:8', 'JPY:4']);
      const request = await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope));
      const answers = await Promise.all(Array.from({ length: 8 }, () => postWithdraw(p, request)));
      assert.deepEqual(
        answers.map((a) => a.statusCode).sort(),
        [200, 200, 200, 200, 200, 200, 200, 201],
        answers.map((a) => a.body).join('\n'),
      );
      for (const a of answers) assert.deepEqual(a.json(), answers[0]!.json());
      assert.equal(await balanceOf(db, ledgerAccount.reserve(reserve.pub)), 8n);
      assert.equal((await db.selectFrom('payment_withdrawals').selectAll().execute()).length, 1);
      await finalizeCoins(pending, answers[0]!);
      await assertBooks(db);
    });

    void test('two different withdrawals racing for one balance: exactly one is paid', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx, 8n);
      const a = await prepareCoins(w, ['JPY:8']);
      const b = await prepareCoins(w, ['JPY:4', 'JPY:4']);
      const [ra, rb] = await Promise.all([
        postWithdraw(p, await withdrawRequest(reserve, newRequestId(), a.map((c) => c.envelope))),
        postWithdraw(p, await withdrawRequest(reserve, newRequestId(), b.map((c) => c.envelope))),
      ]);
      const codes = [ra.statusCode, rb.statusCode].sort();
      assert.deepEqual(codes, [201, 409], `${ra.body}\n${rb.body}`);
      assertRefused(ra.statusCode === 409 ? ra : rb, 409, 'PAY_RESERVE_INSUFFICIENT');
      assert.equal(await balanceOf(db, ledgerAccount.reserve(reserve.pub)), 0n);
      assert.equal((await db.selectFrom('payment_issued_envelopes').selectAll().execute()).length, ra.statusCode === 201 ? 1 : 2);
      await assertBooks(db);
    });

    void test('the same request id with another body: 422 PAY_REQUEST_CONFLICT, nothing changes', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const requestId = newRequestId();
      const first = await prepareCoins(w, ['JPY:4']);
      assert.equal((await postWithdraw(p, await withdrawRequest(reserve, requestId, first.map((c) => c.envelope)))).statusCode, 201);
      const before = await snapshot(db);
      const other = await prepareCoins(w, ['JPY:2']);
      assertRefused(await postWithdraw(p, await withdrawRequest(reserve, requestId, other.map((c) => c.envelope))), 422, 'PAY_REQUEST_CONFLICT');
      assert.deepEqual(await snapshot(db), before);
      await assertBooks(db);
    });

    void test('a signature by another key, or over other bytes: 403 PAY_RESERVE_SIGNATURE_INVALID, nothing changes', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const before = await snapshot(db);
      const pending = await prepareCoins(w, ['JPY:8']);
      const envelopes = pending.map((c) => c.envelope);
      // Signed by another reserve key, presented as this reserve's.
      const thief = await reserveKeys(w, 1);
      const forged = { ...(await withdrawRequest(thief, newRequestId(), envelopes)), reservePub: reserve.pub };
      assertRefused(await postWithdraw(p, forged), 403, 'PAY_RESERVE_SIGNATURE_INVALID');
      // A genuine signature, the envelope swapped afterwards.
      const genuine = await withdrawRequest(reserve, newRequestId(), envelopes);
      const other = await prepareCoins(w, ['JPY:8']);
      assertRefused(await postWithdraw(p, { ...genuine, envelopes: other.map((c) => c.envelope) }), 403, 'PAY_RESERVE_SIGNATURE_INVALID');
      assert.deepEqual(await snapshot(db), before);
    });

    void test('more than the reserve holds: 409 PAY_RESERVE_INSUFFICIENT, nothing signed or debited', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx, 10n);
      const before = await snapshot(db);
      const pending = await prepareCoins(w, ['JPY:8', 'JPY:4']);
      assertRefused(await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope))), 409, 'PAY_RESERVE_INSUFFICIENT');
      assert.deepEqual(await snapshot(db), before);
      assert.deepEqual(await db.selectFrom('payment_issued_envelopes').selectAll().execute(), []);
      assert.equal(await balanceOf(db, ledgerAccount.reserve(reserve.pub)), 10n);
      await assertBooks(db);
    });

    void test('a reserve nothing was loaded into: 404 PAY_RESERVE_UNKNOWN', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const before = await snapshot(db);
      const empty = await reserveKeys(w, 5);
      const pending = await prepareCoins(w, ['JPY:1']);
      assertRefused(await postWithdraw(p, await withdrawRequest(empty, newRequestId(), pending.map((c) => c.envelope))), 404, 'PAY_RESERVE_UNKNOWN');
      assert.deepEqual(await snapshot(db), before);
    });

    void test('an unknown denomination: 404 PAY_DENOMINATION_UNKNOWN; one of another currency: 422 PAY_CURRENCY_MISMATCH', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const before = await snapshot(db);
      const [coin] = await prepareCoins(w, ['JPY:8']);
      const unknown = { ...coin!.envelope, denominationId: encodeBase64url(randomBytes(32)) };
      assertRefused(await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), [unknown])), 404, 'PAY_DENOMINATION_UNKNOWN');
      const [euro] = await prepareCoins(w, ['EUR:0.01']);
      assertRefused(await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), [coin!.envelope, euro!.envelope])), 422, 'PAY_CURRENCY_MISMATCH');
      assert.deepEqual(await snapshot(db), before);
    });

    void test('a key past its withdrawUntil: 409 PAY_DENOMINATION_NOT_WITHDRAWABLE, nothing changes', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const before = await snapshot(db);
      const pending = await prepareCoins(w, ['JPY:8']);
      p.clock.now = new Date(Date.parse(keyFor(w, 'JPY:8').withdrawUntil) + 1000);
      assertRefused(await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope))), 409, 'PAY_DENOMINATION_NOT_WITHDRAWABLE');
      assert.deepEqual(await snapshot(db), before);
      // Still inside the window a day earlier.
      p.clock.now = new Date(Date.parse(keyFor(w, 'JPY:8').withdrawUntil) - DAY);
      assert.equal((await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope)))).statusCode, 201);
    });

    void test('an envelope longer than the modulus, equal to n or above it: 422 PAY_ENVELOPE_INVALID, nothing changes', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const before = await snapshot(db);
      const [good] = await prepareCoins(w, ['JPY:8']);
      const id = keyFor(w, 'JPY:8').denominationId;
      const n = modulusBytes(w, 'JPY:8');
      const bad = [
        Buffer.concat([Buffer.from([0]), Buffer.from(good!.blinding.blindedMsg)]), // 257 bytes, the same integer
        n,
        Buffer.alloc(256, 0xff),
      ];
      for (const b of bad) {
        const envelopes = [good!.envelope, { denominationId: id, blindedMessage: encodeBase64url(b) }];
        assertRefused(await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), envelopes)), 422, 'PAY_ENVELOPE_INVALID');
      }
      assert.deepEqual(await snapshot(db), before);
    });

    void test('an envelope signed before, in another request: 409 PAY_ENVELOPE_REUSED, nothing changes', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const pending = await prepareCoins(w, ['JPY:4', 'JPY:2']);
      assert.equal((await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope)))).statusCode, 201);
      const before = await snapshot(db);
      const [fresh] = await prepareCoins(w, ['JPY:1']);
      assertRefused(await postWithdraw(p, await withdrawRequest(reserve, newRequestId(), [fresh!.envelope, pending[1]!.envelope])), 409, 'PAY_ENVELOPE_REUSED');
      // From another reserve too: an envelope is signed once, whoever pays.
      const other = await reserveKeys(w, 1);
      await creditReserve(p.deps, other.pub, 'JPY', 4n);
      const afterLoad = await snapshot(db);
      assertRefused(await postWithdraw(p, await withdrawRequest(other, newRequestId(), [pending[0]!.envelope])), 409, 'PAY_ENVELOPE_REUSED');
      assert.deepEqual(await snapshot(db), afterLoad);
      assert.notDeepEqual(afterLoad, before);
      await assertBooks(db);
    });

    void test('two requests sharing an envelope sent at once: one is signed, the other 409 PAY_ENVELOPE_REUSED', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const [shared, a, b] = await prepareCoins(w, ['JPY:4', 'JPY:2', 'JPY:1']);
      const answers = await Promise.all([
        postWithdraw(p, await withdrawRequest(reserve, newRequestId(), [a!.envelope, shared!.envelope])),
        postWithdraw(p, await withdrawRequest(reserve, newRequestId(), [shared!.envelope, b!.envelope])),
      ]);
      assert.deepEqual(
        answers.map((r) => r.statusCode).sort(),
        [201, 409],
        answers.map((r) => r.body).join('\n'),
      );
      assertRefused(answers.find((r) => r.statusCode === 409)!, 409, 'PAY_ENVELOPE_REUSED');
      assert.equal((await db.selectFrom('payment_issued_envelopes').selectAll().execute()).length, 2);
      assert.equal((await db.selectFrom('payment_withdrawals').selectAll().execute()).length, 1);
      await assertBooks(db);
    });

    void test('malformed requests: 400 HTTP_SCHEMA_INVALID and nothing changes', async (ctx) => {
      const { p, w, reserve, db } = await setUp(ctx);
      const before = await snapshot(db);
      const pending = await prepareCoins(w, ['JPY:8']);
      const good = await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope));
      const other = await reserveKeys(w, 1);
      const cases: [string, unknown, string?][] = [
        ['unknown field', { ...good, amount: 'JPY:8' }],
        ['unknown field in an envelope', { ...good, envelopes: [{ ...good.envelopes[0]!, value: 8 }] }],
        ['requestId a number', { ...good, requestId: 1234567890 }],
        ['envelopes an object', { ...good, envelopes: good.envelopes[0] }],
        ['no envelopes', { ...good, envelopes: [] }],
        ['the same envelope twice', { ...good, envelopes: [good.envelopes[0], good.envelopes[0]] }],
        ['signature missing', { requestId: good.requestId, reservePub: good.reservePub, envelopes: good.envelopes }],
        ['blinded message not base64url', { ...good, envelopes: [{ ...good.envelopes[0]!, blindedMessage: '!'.repeat(342) }] }],
        ['path and body name different reserves', good, other.pub],
        ['a path that is no key', good, 'not-a-key'],
      ];
      for (const [name, body, path] of cases) {
        const res = await postWithdraw(p, body, path ?? reserve.pub);
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(res.json<{ code: string }>().code, 'HTTP_SCHEMA_INVALID', name);
      }
      assert.deepEqual(await snapshot(db), before);
    });
  });
}
