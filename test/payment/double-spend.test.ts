// A coin is spent once (DESIGN §4, §6): the primary key of
// payment_spent_coins, written in the spending transaction, decides. A spent
// coin presented again, alone or with others, or by 20 swaps at once, gets
// PAY_COIN_SPENT and nothing of the losing requests takes effect.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { testDatabases } from '../helpers/db.ts';
import {
  assertBooks,
  assertRefused,
  balanceOf,
  EMONEY_CONFIG,
  finalizeCoins,
  newRequestId,
  openWallet,
  postSwap,
  prepareCoins,
  snapshot,
  swapRequest,
  withdrawCoins,
} from './emoney-client.ts';
import { startTestPayment } from './harness.ts';

const RACERS = 20;

for (const t of testDatabases()) {
  void describe(`payment double spending (${t.name})`, () => {
    async function setUp(ctx: { after: (fn: () => Promise<void>) => void }) {
      const p = await startTestPayment(t, EMONEY_CONFIG);
      ctx.after(() => p.close());
      const w = await openWallet(p);
      return { p, w, db: p.deps.db };
    }

    void test('a spent coin in a new swap, alone or beside an unspent one: 409 PAY_COIN_SPENT, nothing changes', async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      const [four, two] = await withdrawCoins(w, ['JPY:4', 'JPY:2']);
      const first = await prepareCoins(w, ['JPY:2', 'JPY:2']);
      assert.equal((await postSwap(p, await swapRequest(newRequestId(), [four!], first.map((c) => c.envelope)))).statusCode, 201);
      const before = await snapshot(db);

      const again = await prepareCoins(w, ['JPY:4']);
      const alone = newRequestId();
      assertRefused(await postSwap(p, await swapRequest(alone, [four!], again.map((c) => c.envelope))), 409, 'PAY_COIN_SPENT');
      const beside = await prepareCoins(w, ['JPY:4', 'JPY:2']);
      const mixed = newRequestId();
      assertRefused(await postSwap(p, await swapRequest(mixed, [two!, four!], beside.map((c) => c.envelope))), 409, 'PAY_COIN_SPENT');

      assert.deepEqual(await snapshot(db), before);
      assert.equal(await db.selectFrom('payment_swaps').select('swap_id').where('swap_id', 'in', [alone, mixed]).executeTakeFirst(), undefined);
      assert.equal(await db.selectFrom('payment_spent_coins').select('coin_pub').where('coin_pub', '=', two!.coinPub).executeTakeFirst(), undefined);
      await assertBooks(db);
    });

    void test(`${RACERS} swaps of one coin at once: exactly one succeeds, the others 409 PAY_COIN_SPENT and leave their other coins unspent`, async (ctx) => {
      const { p, w, db } = await setUp(ctx);
      // One contested 8, and for each racer an uncontested 1 spent beside it.
      const [eight, ...ones] = await withdrawCoins(w, ['JPY:8', ...Array.from({ length: RACERS }, () => 'JPY:1')]);
      const racers = [];
      for (const one of ones) {
        const pending = await prepareCoins(w, ['JPY:8', 'JPY:1']);
        racers.push({ pending, request: await swapRequest(newRequestId(), [eight!, one], pending.map((c) => c.envelope)) });
      }
      const answers = await Promise.all(racers.map((r) => postSwap(p, r.request)));

      const won = answers.flatMap((a, i) => (a.statusCode >= 200 && a.statusCode < 300 ? [i] : []));
      assert.equal(won.length, 1, answers.map((a) => `${a.statusCode} ${a.body}`).join('\n'));
      const winner = won[0]!;
      for (const [i, a] of answers.entries()) if (i !== winner) assertRefused(a, 409, 'PAY_COIN_SPENT');
      await finalizeCoins(racers[winner]!.pending, answers[winner]!);

      const winnerId = racers[winner]!.request.swapId;
      assert.deepEqual(
        (await db.selectFrom('payment_spent_coins').select(['coin_pub', 'spent_ref']).orderBy('coin_pub').execute()).map((r) => r.spent_ref),
        [winnerId, winnerId],
      );
      assert.deepEqual(
        (await db.selectFrom('payment_swaps').select('swap_id').execute()).map((r) => r.swap_id),
        [winnerId],
      );
      const swapEnvelopes = await db.selectFrom('payment_issued_envelopes').select('source_id').where('source', '=', 'swap').execute();
      assert.deepEqual(
        swapEnvelopes.map((e) => e.source_id),
        [winnerId, winnerId],
      );
      assert.equal(await balanceOf(db, ledgerAccount.float('JPY')), 8n + BigInt(RACERS));
      await assertBooks(db);
    });
  });
}
