// Swap (change, issue 3): coins in, freshly signed coins of the same total
// out, in one transaction; forged, stolen, unbalanced or malformed swaps are
// refused with their codes and leave everything as it was.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { blindSign } from '../../src/crypto/blind-signer.ts';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { CoinStateView } from '../../src/protocol/messages/payment.ts';
import { blind, blindingFactorFromSeed, finalize } from '../../src/protocol/rfc9474.ts';
import { deriveCoin } from '../../src/wallet/derive.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import {
  assertBooks,
  assertRefused,
  denominationPrivateKey,
  balanceOf,
  EMONEY_CONFIG,
  finalizeCoins,
  keyFor,
  newRequestId,
  openWallet,
  postSwap,
  prepareCoins,
  snapshot,
  swapRequest,
  withdrawCoins,
  type HeldCoin,
  type TestWallet,
} from './emoney-client.ts';
import { startTestPayment, type TestPayment } from './harness.ts';

async function coinState(p: TestPayment, coinPub: string): Promise<CoinStateView> {
  const res = await p.app.inject({ method: 'GET', url: `/v1/coins/${coinPub}` });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  return CoinStateView.parse(res.json());
}

/** A coin of `amount` whose denomination signature was made with the private key of `signerAmount`'s denomination. */
async function coinSignedBy(w: TestWallet, amount: string, signerAmount: string): Promise<HeldCoin> {
  const claimed = keyFor(w, amount);
  const signer = keyFor(w, signerAmount);
  const privateKey = await denominationPrivateKey(signerAmount);
  const derived = await deriveCoin(w.seed, w.next++);
  const b = value(await blind(signer.publicKey, derived.publicKeyBytes, value(blindingFactorFromSeed(signer.publicKey, derived.blindingSeed))));
  const sig = value(await finalize(signer.publicKey, derived.publicKeyBytes, value(blindSign(privateKey, b.blindedMsg)), b.inv));
  return { coinPub: encodeBase64url(derived.publicKeyBytes), denominationId: claimed.denominationId, denominationSignature: encodeBase64url(sig), value: claimed.value, currency: claimed.currency, privateKey: derived.privateKey };
}

for (const t of testDatabases()) {
  void describe(`payment swap (${t.name})`, () => {
    async function setUp(ctx: { after: (fn: () => Promise<void>) => void }) {
      const p = await startTestPayment(t, EMONEY_CONFIG);
      ctx.after(() => p.close());
      const w = await openWallet(p);
      return { p, w, db: p.deps.db };
    }

    void test('an 8 for 4 + 2 + 1 + 1: new coins verify, the old one is spent, the float stays, the books balance', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [eight] = await withdrawCoins(w, ['JPY:8']);
      assert.deepEqual(await coinState(p, eight!.coinPub), { coinPub: eight!.coinPub, state: 'unspent' });
      const pending = await prepareCoins(w, ['JPY:4', 'JPY:2', 'JPY:1', 'JPY:1']);
      const swapId = newRequestId();
      const res = await postSwap(p, await swapRequest(swapId, [eight!], pending.map((c) => c.envelope)));
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json<{ requestId: string }>().requestId, swapId);
      const change = await finalizeCoins(pending, res);
      assert.deepEqual(await coinState(p, eight!.coinPub), {
        coinPub: eight!.coinPub,
        state: 'spent',
        spentAt: p.clock.now.toISOString(),
        spentBy: 'swap',
        denominationId: eight!.denominationId,
      });
      for (const c of change) assert.equal((await coinState(p, c.coinPub)).state, 'unspent');
      assert.deepEqual(await db.selectFrom('payment_spent_coins').select(['coin_pub', 'spent_by', 'spent_ref', 'value']).execute(), [
        { coin_pub: eight!.coinPub, spent_by: 'swap', spent_ref: swapId, value: 8n },
      ]);
      assert.equal(await balanceOf(db, ledgerAccount.float('JPY')), 8n);
      await assertBooks(db);

      // The change is spendable in turn.
      const more = await prepareCoins(w, ['JPY:4', 'JPY:1']);
      const res2 = await postSwap(p, await swapRequest(newRequestId(), [change[0]!, change[3]!], more.map((c) => c.envelope)));
      assert.equal(res2.statusCode, 201, res2.body);
      await finalizeCoins(more, res2);
      await assertBooks(db);
    });

    void test('the same swap again: the same signatures, 200 with idempotent-replay, nothing else changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const coins = await withdrawCoins(w, ['JPY:4', 'JPY:2']);
      const pending = await prepareCoins(w, ['JPY:2', 'JPY:2', 'JPY:2']);
      const request = await swapRequest(newRequestId(), coins, pending.map((c) => c.envelope));
      const first = await postSwap(p, request);
      assert.equal(first.statusCode, 201, first.body);
      const before = await snapshot(db);
      const again = await postSwap(p, request);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());
      assert.deepEqual(await snapshot(db), before);
      await finalizeCoins(pending, again);
      await assertBooks(db);
    });

    void test('copies of one swap sent at once: one 201, the rest replays with the same signatures', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const coins = await withdrawCoins(w, ['JPY:4', 'JPY:1']);
      const pending = await prepareCoins(w, ['JPY:2', 'JPY:2', 'JPY:1']);
      const request = await swapRequest(newRequestId(), coins, pending.map((c) => c.envelope));
      const answers = await Promise.all(Array.from({ length: 8 }, () => postSwap(p, request)));
      assert.deepEqual(
        answers.map((a) => a.statusCode).sort(),
        [200, 200, 200, 200, 200, 200, 200, 201],
        answers.map((a) => a.body).join('\n'),
      );
      for (const a of answers) assert.deepEqual(a.json(), answers[0]!.json());
      await finalizeCoins(pending, answers[0]!);
      assert.equal((await db.selectFrom('payment_swaps').selectAll().execute()).length, 1);
      await assertBooks(db);
    });

    void test('the same swap id with another body: 422 PAY_REQUEST_CONFLICT, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [a, b] = await withdrawCoins(w, ['JPY:2', 'JPY:2']);
      const swapId = newRequestId();
      const first = await prepareCoins(w, ['JPY:1', 'JPY:1']);
      assert.equal((await postSwap(p, await swapRequest(swapId, [a!], first.map((c) => c.envelope)))).statusCode, 201);
      const before = await snapshot(db);
      const second = await prepareCoins(w, ['JPY:1', 'JPY:1']);
      assertRefused(await postSwap(p, await swapRequest(swapId, [b!], second.map((c) => c.envelope))), 422, 'PAY_REQUEST_CONFLICT');
      assert.deepEqual(await snapshot(db), before);
      assert.equal((await coinState(p, b!.coinPub)).state, 'unspent');
    });

    void test('a forged coin (another denomination signed it, or random bytes): 403 PAY_COIN_FORGED, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [genuine] = await withdrawCoins(w, ['JPY:4']);
      // A 4 signed by the 4-key, passed off as an 8.
      const upgraded = await coinSignedBy(w, 'JPY:8', 'JPY:4');
      const n = keyFor(w, 'JPY:8').publicKey.n;
      const random = { ...upgraded, denominationSignature: encodeBase64url(Buffer.from((BigInt(`0x${randomBytes(256).toString('hex')}`) % n).toString(16).padStart(512, '0'), 'hex')) };
      const before = await snapshot(db);
      for (const forged of [upgraded, random]) {
        const pending = await prepareCoins(w, ['JPY:8', 'JPY:4']);
        const res = await postSwap(p, await swapRequest(newRequestId(), [genuine!, forged], pending.map((c) => c.envelope)));
        assertRefused(res, 403, 'PAY_COIN_FORGED');
        assert.match(res.json<{ message: string }>().message, /^coin 1:/);
      }
      // A genuine coin with another coin's signature.
      const stolenSig = { ...upgraded, denominationSignature: genuine!.denominationSignature, denominationId: genuine!.denominationId, value: 4n };
      const pending = await prepareCoins(w, ['JPY:4']);
      assertRefused(await postSwap(p, await swapRequest(newRequestId(), [stolenSig], pending.map((c) => c.envelope))), 403, 'PAY_COIN_FORGED');
      assert.deepEqual(await snapshot(db), before);
      assert.equal((await coinState(p, genuine!.coinPub)).state, 'unspent');
    });

    void test('a coin signature by the wrong key, or over another swap: 403 PAY_COIN_SIGNATURE_INVALID, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [a, b] = await withdrawCoins(w, ['JPY:4', 'JPY:2']);
      const before = await snapshot(db);
      const pending = await prepareCoins(w, ['JPY:4']);
      // Someone who knows coin a (it is public once shown) but holds b's key only.
      const thief = { ...a!, privateKey: b!.privateKey };
      assertRefused(await postSwap(p, await swapRequest(newRequestId(), [thief], pending.map((c) => c.envelope))), 403, 'PAY_COIN_SIGNATURE_INVALID');
      // A genuine signature moved to other envelopes.
      const genuine = await swapRequest(newRequestId(), [a!], pending.map((c) => c.envelope));
      const other = await prepareCoins(w, ['JPY:2', 'JPY:2']);
      assertRefused(await postSwap(p, { ...genuine, envelopes: other.map((c) => c.envelope) }), 403, 'PAY_COIN_SIGNATURE_INVALID');
      assert.deepEqual(await snapshot(db), before);
    });

    void test('coins and envelopes of different totals: 422 PAY_SWAP_UNBALANCED, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [four] = await withdrawCoins(w, ['JPY:4']);
      const before = await snapshot(db);
      for (const amounts of [['JPY:4', 'JPY:1'], ['JPY:2', 'JPY:1']]) {
        const pending = await prepareCoins(w, amounts);
        assertRefused(await postSwap(p, await swapRequest(newRequestId(), [four!], pending.map((c) => c.envelope))), 422, 'PAY_SWAP_UNBALANCED');
      }
      assert.deepEqual(await snapshot(db), before);
    });

    void test('envelopes in another currency: 422 PAY_CURRENCY_MISMATCH, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [one] = await withdrawCoins(w, ['JPY:1']);
      const before = await snapshot(db);
      const pending = await prepareCoins(w, ['EUR:0.01']);
      assertRefused(await postSwap(p, await swapRequest(newRequestId(), [one!], pending.map((c) => c.envelope))), 422, 'PAY_CURRENCY_MISMATCH');
      assert.deepEqual(await snapshot(db), before);
    });

    void test('a coin past its depositUntil: 409 PAY_DENOMINATION_NOT_DEPOSITABLE, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [two] = await withdrawCoins(w, ['JPY:2']);
      const pending = await prepareCoins(w, ['JPY:1', 'JPY:1']);
      const request = await swapRequest(newRequestId(), [two!], pending.map((c) => c.envelope));
      const before = await snapshot(db);
      p.clock.now = new Date(Date.parse(keyFor(w, 'JPY:2').depositUntil) + 1000);
      assertRefused(await postSwap(p, request), 409, 'PAY_DENOMINATION_NOT_DEPOSITABLE');
      assert.deepEqual(await snapshot(db), before);
    });

    void test('malformed swaps (one coin twice, unknown fields, wrong types): 400 HTTP_SCHEMA_INVALID, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [two] = await withdrawCoins(w, ['JPY:2']);
      const pending = await prepareCoins(w, ['JPY:2', 'JPY:2']);
      const good = await swapRequest(newRequestId(), [two!], pending.slice(0, 1).map((c) => c.envelope));
      const twice = await swapRequest(newRequestId(), [two!, two!], pending.map((c) => c.envelope));
      const before = await snapshot(db);
      const cases: [string, unknown][] = [
        ['the same coin twice', twice],
        ['unknown field', { ...good, fee: 'JPY:0' }],
        ['unknown field in a coin', { ...good, coins: [{ ...good.coins[0]!, value: 2 }] }],
        ['swapId too short', { ...good, swapId: 'short' }],
        ['coins not an array', { ...good, coins: good.coins[0] }],
        ['no coins', { ...good, coins: [] }],
        ['coin signature of the wrong length', { ...good, coins: [{ ...good.coins[0]!, coinSignature: good.coins[0]!.coinSignature.slice(2) }] }],
        ['not an object', [good]],
      ];
      for (const [name, body] of cases) {
        const res = await postSwap(p, body);
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(res.json<{ code: string }>().code, 'HTTP_SCHEMA_INVALID', name);
      }
      assert.deepEqual(await snapshot(db), before);
    });

    void test('GET /v1/coins/:coinPub: a key never seen is unspent; a malformed one 400', async (ctx) => {
      const { p } = await setUp(ctx);
      const pub = encodeBase64url((await deriveCoin(new Uint8Array(32).fill(1), 0)).publicKeyBytes);
      assert.deepEqual(await coinState(p, pub), { coinPub: pub, state: 'unspent' });
      const res = await p.app.inject({ method: 'GET', url: '/v1/coins/xyz' });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json<{ code: string }>().code, 'HTTP_SCHEMA_INVALID');
    });
  });
}
