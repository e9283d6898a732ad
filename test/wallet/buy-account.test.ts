// `wallet buy --mode account` against real parties on loopback (issue 4): the
// purse registered to the wallet's certified identity pays the invoice, the
// receipt says so, the coins are not touched; and a payment the payment
// server refuses for good locks nothing (coins back, purchase ACCEPTED, a
// resume pays it once the cause is gone).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { merchantAccount, setMerchantStatus } from '../../src/payment/merchants.ts';
import { buy, resumePurchases } from '../../src/wallet/buy.ts';
import { registerPurse } from '../../src/wallet/purse.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, balanceOf, creditReserve } from '../payment/emoney-client.ts';
import { fund, ITEMS, startWorld, type World } from './purchase-world.ts';

async function fundPurse(world: World, minor: bigint): Promise<string> {
  const purse = value(await registerPurse(world.wallet, world.payUrl, world.deps));
  await creditReserve(world.payDeps, purse.purseKey, 'JPY', minor);
  return purse.purseKey;
}

const merchantTakings = (world: World) => balanceOf(world.payDeps.db, merchantAccount('shop-1', 'JPY'));

async function unspentCoins(world: World): Promise<bigint> {
  const rows = await world.wallet.db.selectFrom('wallet_coins').select('value').where('state', '=', 'unspent').execute();
  return rows.reduce((s, r) => s + BigInt(r.value), 0n);
}

async function purchaseRow(world: World) {
  return world.wallet.db.selectFrom('wallet_purchases').selectAll().executeTakeFirstOrThrow();
}

/** Intercepts the payment (170) once: `before` runs, then the request goes through. */
function before170(world: World, path: string, before: () => Promise<void>): void {
  let done = false;
  world.hooks.set(`POST ${path}`, async (_url, _init, forward) => {
    if (!done) {
      done = true;
      await before();
    }
    return forward();
  });
}

for (const t of testDatabases()) {
  void describe(`wallet buy --mode account (${t.name})`, () => {
    test('identified: the purse pays, the receipt is in mode account, coins untouched, the shop is paid and the books balance', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 8n);
      const purseKey = await fundPurse(world, 10n);
      const r = value(await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'account' }, world.deps));
      assert.equal(r.state, 'COMPLETED');
      assert.equal(r.receipt.mode, 'account');
      assert.equal(r.receipt.amountReceived, 'JPY:5');
      assert.equal(await balanceOf(world.payDeps.db, ledgerAccount.reserve(purseKey)), 5n);
      assert.equal(await merchantTakings(world), 5n);
      assert.equal(await unspentCoins(world), 8n);
      const row = await purchaseRow(world);
      assert.equal(row.payment_mode, 'account');
      await assertBooks(world.payDeps.db);
    });

    test('anonymous with mode account is refused before anything is signed or sent', async (ctx) => {
      const world = await startWorld(t, ctx);
      let sent = 0;
      world.hooks.set('POST /v1/hello', async (_u, _i, forward) => {
        sent++;
        return forward();
      });
      const r = await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: true, mode: 'account' }, world.deps);
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_MODE_UNAVAILABLE');
      assert.equal(sent, 0);
    });

    test('a purse holding less than the invoice: WALLET_INSUFFICIENT_FUNDS before the shopper accepts; nothing is paid', async (ctx) => {
      const world = await startWorld(t, ctx);
      const purseKey = await fundPurse(world, 4n);
      const prompts: string[] = [];
      const r = await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'account' }, { ...world.deps, confirm: async (p) => (prompts.push(p.kind), true) });
      assert.equal(!r.ok && r.code, 'WALLET_INSUFFICIENT_FUNDS');
      assert.deepEqual(prompts, ['merchant']);
      assert.equal(await balanceOf(world.payDeps.db, ledgerAccount.reserve(purseKey)), 4n);
      assert.equal(await world.payDeps.db.selectFrom('payment_payments').select('payment_id').executeTakeFirst(), undefined);
    });

    test('the account payment answer is lost: the resume repeats the identical request and is charged once', async (ctx) => {
      const world = await startWorld(t, ctx);
      const purseKey = await fundPurse(world, 10n);
      const sent: string[] = [];
      let lose = true;
      world.hooks.set('POST /v1/payments/account', async (_url, init, forward) => {
        sent.push(String(init?.body));
        const res = await forward();
        if (lose) {
          lose = false;
          await res.arrayBuffer();
          throw new TypeError('fetch failed', { cause: new Error('connection reset') });
        }
        return res;
      });
      const r = await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'account' }, world.deps);
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
      assert.equal((await purchaseRow(world)).state, 'PAYING');
      const resumed = value(await resumePurchases(world.wallet, world.deps));
      assert.deepEqual(resumed.failed, []);
      assert.equal(sent.length, 2);
      assert.equal(sent[1], sent[0]);
      assert.equal(await balanceOf(world.payDeps.db, ledgerAccount.reserve(purseKey)), 5n);
      assert.equal(await merchantTakings(world), 5n);
      await assertBooks(world.payDeps.db);
    });

    for (const mode of ['ecash', 'account'] as const) {
      test(`${mode}: a payment refused for good (the merchant's contract suspended) locks nothing; after reactivation a resume pays once`, async (ctx) => {
        const world = await startWorld(t, ctx);
        await fund(world, 16n);
        const purseKey = await fundPurse(world, 10n);
        const path = mode === 'ecash' ? '/v1/payments/ecash' : '/v1/payments/account';
        before170(world, path, async () => {
          value(await setMerchantStatus(world.payDeps.db, 'shop-1', 'suspended', PKI_NOW));
        });
        const r = await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode }, world.deps);
        assert.equal(!r.ok && r.code, 'PAY_MERCHANT_NOT_ACCEPTED');
        const row = await purchaseRow(world);
        assert.equal(row.state, 'ACCEPTED');
        assert.equal(row.payment_request, null);
        assert.equal(row.last_error, 'PAY_MERCHANT_NOT_ACCEPTED');
        assert.equal(await unspentCoins(world), 16n, 'every coin is spendable again');
        assert.deepEqual(await world.wallet.db.selectFrom('wallet_coins').select('coin_pub').where('state', '=', 'pending').execute(), []);
        assert.equal(await merchantTakings(world), 0n);

        value(await setMerchantStatus(world.payDeps.db, 'shop-1', 'active', PKI_NOW));
        const resumed = value(await resumePurchases(world.wallet, world.deps));
        assert.deepEqual(resumed.failed, []);
        assert.equal(resumed.resumed[0]!.receipt.mode, mode);
        assert.equal(await merchantTakings(world), 5n);
        assert.equal(await balanceOf(world.payDeps.db, ledgerAccount.reserve(purseKey)), mode === 'account' ? 5n : 10n);
        assert.equal(await unspentCoins(world), mode === 'ecash' ? 11n : 16n);
        await assertBooks(world.payDeps.db);
      });
    }

    test('a refused e-money payment whose coin the payment server reports spent elsewhere: that coin stays spent, the others come back', async (ctx) => {
      const world = await startWorld(t, ctx);
      // 4 + 2 + 1: JPY:5 is paid with two coins (4 and 2).
      await fund(world, 7n);
      before170(world, '/v1/payments/ecash', async () => {
        value(await setMerchantStatus(world.payDeps.db, 'shop-1', 'suspended', PKI_NOW));
      });
      // The payment server answers for the first coin asked about: spent (by another copy of this wallet, say).
      let first: string | undefined;
      world.hooks.set('GET /v1/coins/:pub', async (url, _init, forward) => {
        const pub = url.pathname.split('/').pop()!;
        first ??= pub;
        if (pub !== first) return forward();
        return new Response(JSON.stringify({ coinPub: pub, state: 'spent', spentAt: PKI_NOW.toISOString(), spentBy: 'swap' }), { status: 200, headers: { 'content-type': 'application/json' } });
      });
      const r = await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, world.deps);
      assert.equal(!r.ok && r.code, 'PAY_MERCHANT_NOT_ACCEPTED');
      assert.match(!r.ok ? r.message : '', /already spent elsewhere and are lost/);
      const lost = await world.wallet.db.selectFrom('wallet_coins').select(['coin_pub', 'value', 'spent_in']).where('state', '=', 'spent').execute();
      assert.deepEqual(lost.map((c) => c.coin_pub), [first]);
      assert.equal(await unspentCoins(world), 7n - BigInt(lost[0]!.value));
    });

    test('our own payment paid but the wallet is told "refused" (a concurrent identical copy was refused): it asks again and keeps the change', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 8n);
      let first = true;
      const sent: string[] = [];
      world.hooks.set('POST /v1/payments/ecash', async (_url, init, forward) => {
        sent.push(String(init?.body));
        const res = await forward();
        if (!first) return res;
        first = false;
        assert.equal(res.status, 201);
        // What the server told the twin that raced this copy across the due time.
        return new Response(JSON.stringify({ code: 'PAY_INVOICE_EXPIRED', message: 'the invoice was due by …' }), { status: 422, headers: { 'content-type': 'application/json' } });
      });
      const r = value(await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, world.deps));
      assert.equal(r.state, 'COMPLETED');
      assert.equal(r.change, 'JPY:3');
      assert.equal(sent.length, 2);
      assert.equal(sent[1], sent[0], 'asked again with the identical request');
      assert.equal(await unspentCoins(world), 3n, 'the change the server signed is in the wallet');
      assert.equal(await merchantTakings(world), 5n);
      await assertBooks(world.payDeps.db);
    });

    test('mode account: the payment went through but the wallet is told "refused" (an identical copy, e.g. from a restored wallet, paid first): it asks again, the replay gives the receipt, charged once', async (ctx) => {
      const world = await startWorld(t, ctx);
      const purseKey = await fundPurse(world, 10n);
      let first = true;
      world.hooks.set('POST /v1/payments/account', async (_url, init, forward) => {
        if (!first) return forward();
        first = false;
        // A copy of this wallet (same seed: the same purse, the same request) paid first.
        const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
        const other = await fetch(new URL('/v1/payments/account', world.payUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        assert.equal(other.status, 201);
        return new Response(JSON.stringify({ code: 'PAY_REQUEST_CONFLICT', message: 'already paid by another payment' }), { status: 422, headers: { 'content-type': 'application/json' } });
      });
      const r = value(await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'account' }, world.deps));
      assert.equal(r.receipt.mode, 'account');
      assert.equal(await balanceOf(world.payDeps.db, ledgerAccount.reserve(purseKey)), 5n);
      assert.equal(await merchantTakings(world), 5n);
      await assertBooks(world.payDeps.db);
    });
  });
}
