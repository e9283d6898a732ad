// Consolidation (src/wallet/consolidate.ts) against a REAL payment server on
// loopback (the purchase world of purchase-world.ts: denominations JPY 1, 2,
// 4, 8): a wallet holding many coins of 1 swaps them into coins of 8 until a
// payment of more than 64 coins' worth fits in 64 coins; the value never
// changes and the payment server's books stay right. A crash after the swap
// is stored — before it is sent, or after the server handled it — is resumed
// with the byte-identical request, to the same coins, spending the inputs
// once. A swap refused for good is undone without losing the untouched coins.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { merchantAccount } from '../../src/payment/merchants.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { signEd25519 } from '../../src/protocol/ed25519.ts';
import { MAX_COINS, MAX_ENVELOPES, swapSigningBytes, type SwapRequest } from '../../src/protocol/messages/payment.ts';
import { blind, blindingFactorFromSeed } from '../../src/protocol/rfc9474.ts';
import { buy } from '../../src/wallet/buy.ts';
import { chooseCoins, consolidateFor, planSwap, resumeConsolidation, spendableCoins } from '../../src/wallet/consolidate.ts';
import { deriveCoin, deriveReserve } from '../../src/wallet/derive.ts';
import { denominationKey, fetchKeyList } from '../../src/wallet/key-list.ts';
import { purchaseHistory } from '../../src/wallet/purchases.ts';
import { allocateIndices, withdrawReserve } from '../../src/wallet/withdraw.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, balanceOf, creditReserve } from '../payment/emoney-client.ts';
import { fund, startWorld, type World } from './purchase-world.ts';

const now = () => PKI_NOW;

/** Loads `n` coins of JPY:1 the way the wallet withdraws: pending coins stored with their request ids, then withdrawReserve sends them. */
async function fundOnes(world: World, n: number): Promise<void> {
  const keys = value(await fetchKeyList(world.wallet, world.payUrl, { now, fetch: world.deps.fetch }));
  const one = keys.keys.find((k) => k.currency === 'JPY' && k.value === 1n)!;
  const idx = (await world.wallet.db.transaction().execute((tx) => allocateIndices(tx, 'reserve', 1, PKI_NOW)))[0]!;
  const pub = encodeBase64url((await deriveReserve(world.seed, idx)).publicKeyBytes);
  const at = PKI_NOW.toISOString();
  const reserve = { reserve_pub: pub, derivation_index: idx, currency: 'JPY', amount: BigInt(n), payment_url: world.payUrl, bank_transfer_id: null, bank_url: null, bank_account: null, state: 'credited' as const, created_at: at, updated_at: at };
  await world.wallet.db.insertInto('wallet_reserves').values(reserve).execute();
  await creditReserve(world.payDeps, pub, 'JPY', BigInt(n));
  await world.wallet.db.transaction().execute(async (tx) => {
    const indices = await allocateIndices(tx, 'coin', n, PKI_NOW);
    for (let i = 0; i < n; i += MAX_ENVELOPES) {
      const requestId = encodeBase64url(crypto.getRandomValues(new Uint8Array(18)));
      for (const index of indices.slice(i, i + MAX_ENVELOPES)) {
        const coinPub = encodeBase64url((await deriveCoin(world.seed, index)).publicKeyBytes);
        await tx
          .insertInto('wallet_coins')
          .values({ coin_pub: coinPub, derivation_index: index, denomination_id: one.denomination_id, currency: 'JPY', value: 1n, signature: null, state: 'pending', reserve_pub: pub, request_id: requestId, spent_in: null, created_at: at, updated_at: at })
          .execute();
      }
    }
  });
  value(await withdrawReserve(world.wallet, reserve, keys.keys, { now, fetch: world.deps.fetch, seed: world.seed }));
}

type Coins = { count: number; total: bigint; byValue: Record<string, number> };

async function unspent(world: World): Promise<Coins> {
  const rows = await world.wallet.db.selectFrom('wallet_coins').select('value').where('state', '=', 'unspent').execute();
  const byValue: Record<string, number> = {};
  for (const r of rows) byValue[String(r.value)] = (byValue[String(r.value)] ?? 0) + 1;
  return { count: rows.length, total: rows.reduce((s, r) => s + BigInt(r.value), 0n), byValue };
}

async function coinsIn(world: World, state: 'pending' | 'spent'): Promise<{ coin_pub: string; spent_in: string | null; request_id: string | null }[]> {
  return world.wallet.db.selectFrom('wallet_coins').select(['coin_pub', 'spent_in', 'request_id']).where('state', '=', state).orderBy('derivation_index').execute();
}

async function serverSwaps(world: World): Promise<number> {
  return (await world.payDeps.db.selectFrom('payment_swaps').select('swap_id').execute()).length;
}

/** Coins needed to pay `amount` from what the wallet holds now (largest first). */
async function coinsNeeded(world: World, amount: bigint): Promise<number | undefined> {
  return chooseCoins(await spendableCoins(world.wallet, 'JPY', PKI_NOW, 'pay-1'), amount)?.length;
}

/** Counts (and records the bodies of) POST /v1/swap; `fail` decides whether this one is lost, and when. */
function watchSwaps(world: World, fail: () => 'before' | 'after' | undefined = () => undefined): string[] {
  const bodies: string[] = [];
  world.hooks.set('POST /v1/swap', async (_url, init, forward) => {
    bodies.push(String(init?.body));
    const f = fail();
    if (f === 'before') throw new TypeError('fetch failed: the wallet crashed before sending');
    const res = await forward();
    if (f === 'after') throw new TypeError('fetch failed: connection reset after the server answered');
    return res;
  });
  return bodies;
}

const params = (world: World, amount: bigint) => ({ paymentUrl: world.payUrl, paymentPartyId: 'pay-1', currency: 'JPY', amount });

for (const t of testDatabases()) {
  void describe(`wallet consolidation against a real payment server (on ${t.name})`, () => {
    test('buying 130 with 140 coins of 1: two swaps first (64 + 64 coins into 2 × 8 coins of 8), then one payment; value kept, books balance', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 140);
      assert.equal(await coinsNeeded(world, 130n), 130);
      const bodies = watchSwaps(world);
      const bought = value(await buy(world.wallet, { merchantUrl: world.merchantUrl, items: [{ article: 'ARTICLE A', quantity: 130 }], anonymous: false, mode: 'ecash' }, world.deps));
      assert.equal(bought.receipt.amountReceived, 'JPY:130');
      assert.equal(bodies.length, 2);
      assert.equal(await serverSwaps(world), 2);
      assert.deepEqual(await coinsIn(world, 'pending'), []);
      // Swapped coins are spent in no purchase: history does not mistake them for one.
      const swapped = (await coinsIn(world, 'spent')).filter((c) => c.spent_in === null);
      assert.equal(swapped.length, 128);
      assert.equal((await unspent(world)).total, 10n);
      assert.equal(await balanceOf(world.payDeps.db, merchantAccount('shop-1', 'JPY')), 130n);
      const history = (await purchaseHistory(world.wallet)).purchases;
      assert.deepEqual(
        history.map((p) => [p.state, p.amount]),
        [['COMPLETED', 'JPY:130']],
      );
      await assertBooks(world.payDeps.db);
    });

    test('consolidateFor alone: 140 coins of 1 become 28 (12 × 1, 16 × 8) worth the same 140, and 130 then needs 18 coins', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 140);
      assert.deepEqual(value(await consolidateFor(world.wallet, params(world, 130n), world.deps)), { swapped: 2, resumed: 0 });
      assert.deepEqual(await unspent(world), { count: 28, total: 140n, byValue: { 1: 12, 8: 16 } });
      assert.equal(await coinsNeeded(world, 130n), 18);
      assert.equal(await serverSwaps(world), 2);
      await assertBooks(world.payDeps.db);
    });

    test('nothing happens when the amount is payable in 64 coins or fewer: no swap is sent, no coin changes', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 70);
      const bodies = watchSwaps(world);
      const before = await world.wallet.db.selectFrom('wallet_coins').selectAll().orderBy('coin_pub').execute();
      assert.deepEqual(value(await consolidateFor(world.wallet, params(world, 64n), world.deps)), { swapped: 0, resumed: 0 });
      assert.deepEqual(value(await consolidateFor(world.wallet, params(world, 5n), world.deps)), { swapped: 0, resumed: 0 });
      assert.equal(bodies.length, 0);
      assert.deepEqual(await world.wallet.db.selectFrom('wallet_coins').selectAll().orderBy('coin_pub').execute(), before);
      assert.equal(await serverSwaps(world), 0);
    });

    test('more than the wallet holds: WALLET_INSUFFICIENT_FUNDS, and nothing changes', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 70);
      const bodies = watchSwaps(world);
      const r = await consolidateFor(world.wallet, params(world, 71n), world.deps);
      assert.equal(!r.ok && r.code, 'WALLET_INSUFFICIENT_FUNDS');
      assert.equal(bodies.length, 0);
      assert.deepEqual(await unspent(world), { count: 70, total: 70n, byValue: { 1: 70 } });
    });

    test('coins already of the largest denomination cannot become fewer: WALLET_TOO_MANY_COINS, and nothing changes', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 600n); // 75 coins of 8
      const bodies = watchSwaps(world);
      const r = await consolidateFor(world.wallet, params(world, 600n), world.deps);
      assert.equal(!r.ok && r.code, 'WALLET_TOO_MANY_COINS');
      assert.equal(bodies.length, 0);
      assert.deepEqual(await unspent(world), { count: 75, total: 600n, byValue: { 8: 75 } });
    });

    test('crash after the payment server swapped: the resume sends the identical request and gets the same coins; inputs spent once', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 100);
      let lose = true;
      const bodies = watchSwaps(world, () => (lose ? 'after' : undefined));
      const r = await consolidateFor(world.wallet, params(world, 70n), world.deps);
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
      // The swap is stored: 64 coins given to it, 8 new coins pending; the server has carried it out.
      const pending = await coinsIn(world, 'pending');
      assert.equal(pending.length, 8);
      assert.equal((await coinsIn(world, 'spent')).length, 64);
      assert.deepEqual(await unspent(world), { count: 36, total: 36n, byValue: { 1: 36 } });
      assert.equal(await serverSwaps(world), 1);

      // The next consolidation finishes it first, and then has nothing left to do.
      lose = false;
      assert.deepEqual(value(await consolidateFor(world.wallet, params(world, 70n), world.deps)), { swapped: 0, resumed: 1 });
      assert.equal(bodies.length, 2);
      assert.equal(bodies[1], bodies[0]);
      const swapped = await world.wallet.db
        .selectFrom('wallet_coins')
        .select('coin_pub')
        .where('coin_pub', 'in', pending.map((p) => p.coin_pub))
        .where('state', '=', 'unspent')
        .execute();
      assert.equal(swapped.length, 8);
      assert.deepEqual(await unspent(world), { count: 44, total: 100n, byValue: { 1: 36, 8: 8 } });
      assert.equal(await coinsNeeded(world, 70n), 14);
      // One swap at the server, 64 coins spent once, 8 envelopes signed once.
      assert.equal(await serverSwaps(world), 1);
      assert.equal((await world.payDeps.db.selectFrom('payment_spent_coins').select('coin_pub').execute()).length, 64);
      assert.equal((await world.payDeps.db.selectFrom('payment_issued_envelopes').select('envelope_hash').where('source', '=', 'swap').execute()).length, 8);
      await assertBooks(world.payDeps.db);
    });

    test('crash after the swap was stored but before it was sent: resumeConsolidation sends it; nothing lost', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 100);
      let crash = true;
      const bodies = watchSwaps(world, () => (crash ? 'before' : undefined));
      const r = await consolidateFor(world.wallet, params(world, 70n), world.deps);
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
      const pending = await coinsIn(world, 'pending');
      assert.equal(pending.length, 8);
      assert.equal(await serverSwaps(world), 0);

      crash = false;
      assert.deepEqual(value(await resumeConsolidation(world.wallet, world.deps)), { finished: 1, undone: [], failed: [] });
      assert.equal(bodies[1], bodies[0]);
      assert.deepEqual(await coinsIn(world, 'pending'), []);
      const unspentPubs = (await world.wallet.db.selectFrom('wallet_coins').select('coin_pub').where('state', '=', 'unspent').execute()).map((c) => c.coin_pub);
      assert.ok(pending.every((p) => unspentPubs.includes(p.coin_pub)));
      assert.deepEqual(await unspent(world), { count: 44, total: 100n, byValue: { 1: 36, 8: 8 } });
      assert.equal(await serverSwaps(world), 1);
      // A second resume has nothing to do and sends nothing.
      assert.deepEqual(value(await resumeConsolidation(world.wallet, world.deps)), { finished: 0, undone: [], failed: [] });
      assert.equal(bodies.length, 2);
      await assertBooks(world.payDeps.db);
    });

    test('a coin spent elsewhere (a restored copy of the wallet): WALLET_SWAP_REFUSED, that coin is lost, the other 63 are unspent again, the next run swaps', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 100);
      // Another copy of this wallet spends its first coin in a swap of its own.
      const victim = await world.wallet.db.selectFrom('wallet_coins').selectAll().where('state', '=', 'unspent').orderBy('derivation_index').executeTakeFirstOrThrow();
      const key = (await world.wallet.db.selectFrom('wallet_denominations').selectAll().where('denomination_id', '=', victim.denomination_id).executeTakeFirstOrThrow());
      const pk = value(await denominationKey(key));
      const fresh = await deriveCoin(world.seed, 1_000_000);
      const b = value(await blind(pk, fresh.publicKeyBytes, value(blindingFactorFromSeed(pk, fresh.blindingSeed))));
      const body = {
        swapId: encodeBase64url(crypto.getRandomValues(new Uint8Array(18))),
        coins: [{ coinPub: victim.coin_pub, denominationId: victim.denomination_id, denominationSignature: victim.signature! }],
        envelopes: [{ denominationId: key.denomination_id, blindedMessage: encodeBase64url(b.blindedMsg) }],
      };
      const sig = await signEd25519((await deriveCoin(world.seed, victim.derivation_index)).privateKey, swapSigningBytes(body));
      const other: SwapRequest = { ...body, coins: [{ ...body.coins[0]!, coinSignature: encodeBase64url(sig) }] };
      const res = await fetch(new URL('/v1/swap', world.payUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(other) });
      assert.equal(res.status, 201, await res.text());

      const r = await consolidateFor(world.wallet, params(world, 70n), world.deps);
      assert.ok(!r.ok);
      assert.equal(r.code, 'WALLET_SWAP_REFUSED');
      assert.deepEqual((r.details as { swaps: unknown[] }).swaps.map((s) => ({ ...(s as object), swapId: undefined })), [{ swapId: undefined, code: 'PAY_COIN_SPENT', lostCoins: 1, lost: 'JPY:1' }]);
      // The lost coin stays spent, the 63 others are back, the planned coins are gone.
      assert.deepEqual(await coinsIn(world, 'pending'), []);
      assert.deepEqual(
        (await coinsIn(world, 'spent')).map((c) => c.coin_pub),
        [victim.coin_pub],
      );
      assert.deepEqual(await unspent(world), { count: 99, total: 99n, byValue: { 1: 99 } });
      assert.equal(await serverSwaps(world), 1);

      // Run again: the swap is planned from what is left and goes through.
      assert.deepEqual(value(await consolidateFor(world.wallet, params(world, 70n), world.deps)), { swapped: 1, resumed: 0 });
      assert.deepEqual(await unspent(world), { count: 43, total: 99n, byValue: { 1: 35, 8: 8 } });
      await assertBooks(world.payDeps.db);
    });

    test('stored keys past their withdraw window: the key list is fetched and verified again, and the swap uses it', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fundOnes(world, 100);
      await world.wallet.db.updateTable('wallet_denominations').set({ withdraw_until: '2000-01-01T00:00:00.000Z' }).execute();
      let keyLists = 0;
      world.hooks.set('GET /v1/keys', (_url, _init, forward) => {
        keyLists++;
        return forward();
      });
      assert.deepEqual(value(await consolidateFor(world.wallet, params(world, 70n), world.deps)), { swapped: 1, resumed: 0 });
      assert.equal(keyLists, 1);
      assert.deepEqual(await unspent(world), { count: 44, total: 100n, byValue: { 1: 36, 8: 8 } });
      await assertBooks(world.payDeps.db);
    });
  });
}

void describe('planSwap', () => {
  const coin = (v: bigint, i: number) => ({ value: v, derivation_index: i });
  const VALUES = [1n, 2n, 4n, 8n];

  test('the 64 smallest coins of 1 become 8 coins of 8', () => {
    const coins = Array.from({ length: 70 }, (_, i) => coin(1n, i));
    const plan = planSwap(coins, VALUES)!;
    assert.deepEqual(
      plan.inputs.map((c) => c.derivation_index),
      Array.from({ length: 64 }, (_, i) => i),
    );
    assert.deepEqual(plan.outputs, Array<bigint>(8).fill(8n));
  });

  test('coins that are already as few as the denominations allow give no swap', () => {
    assert.equal(planSwap([coin(1n, 0), coin(2n, 1), coin(4n, 2), ...Array.from({ length: 80 }, (_, i) => coin(8n, i + 3))], VALUES), undefined);
    assert.equal(planSwap([coin(1n, 0)], VALUES), undefined);
  });

  test('property: a swap takes the smallest coins, at most 64, and gives fewer coins of exactly the same value', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(1n, 2n, 4n, 8n, 3n), { minLength: 0, maxLength: 200 }), (values) => {
        const coins = values.map((v, i) => coin(v, i));
        const plan = planSwap(coins, VALUES);
        if (plan === undefined) return;
        assert.ok(plan.inputs.length <= MAX_COINS && plan.outputs.length < plan.inputs.length);
        assert.equal(
          plan.outputs.reduce((s, v) => s + v, 0n),
          plan.inputs.reduce((s, c) => s + c.value, 0n),
        );
        const largestIn = plan.inputs.reduce((m, c) => (c.value > m ? c.value : m), 0n);
        const left = coins.filter((c) => !plan.inputs.includes(c));
        assert.ok(left.every((c) => c.value >= largestIn));
      }),
    );
  });
});
