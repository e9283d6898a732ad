// The shop integration API end to end (issue 6), with REAL parties on
// loopback (test/wallet/purchase-world.ts): the shop's backend creates an
// order over HTTP with its API key, hands out the payment URI, the shopper's
// wallet buys exactly the offer (shown in the invoice like catalogue lines),
// pays the payment server, and the shop API then shows the order PAID. The
// same URI cannot be bought twice; a storefront cart URI buys catalogue
// articles; an offer view altered on its way cannot make the wallet pay less
// for the shop's offer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApiKey } from '../../src/merchant/api-keys.ts';
import type { MerchantDatabase } from '../../src/merchant/db.ts';
import { CreatedShopOrder, OfferView } from '../../src/protocol/messages/shop.ts';
import { formatPaymentUri, parsePaymentUri } from '../../src/protocol/payment-uri.ts';
import { buy, type BuyPrompt } from '../../src/wallet/buy.ts';
import { testDatabases, type TestDatabase, type TestHandle } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { fund, startWorld, type World } from '../wallet/purchase-world.ts';

/** startWorld opens the payment server's database, then the merchant's: keep the handles to reach the shop's. */
function spying(t: TestDatabase): { t: TestDatabase; handles: TestHandle<unknown>[] } {
  const handles: TestHandle<unknown>[] = [];
  return {
    handles,
    t: {
      name: t.name,
      open: async <DB>() => {
        const h = await t.open<DB>();
        handles.push(h as TestHandle<unknown>);
        return h;
      },
    },
  };
}

async function shopWorld(t: TestDatabase, ctx: { after: (fn: () => Promise<unknown>) => void }): Promise<{ world: World; key: string; merchantDb: TestHandle<MerchantDatabase>['db'] }> {
  const spy = spying(t);
  const world = await startWorld(spy.t, ctx);
  const merchantDb = (spy.handles[1] as TestHandle<MerchantDatabase>).db;
  const { key } = await createApiKey(merchantDb, { name: 'shop backend', now: new Date() });
  await fund(world, 15n);
  return { world, key, merchantDb };
}

async function shopApi(world: World, key: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  return fetch(new URL(path, world.merchantUrl), {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

const OFFER_LINES = [
  { article: 'ENGRAVING', name: 'Engraving "For Hanako"', quantity: 2, unitPrice: 'JPY:3' },
  { article: 'WRAP', name: 'Gift wrap', quantity: 1, unitPrice: 'JPY:1' },
];

async function unspent(world: World): Promise<number> {
  const rows = await world.wallet.db.selectFrom('wallet_coins').select('value').where('state', '=', 'unspent').execute();
  return rows.reduce((s, r) => s + Number(r.value), 0);
}

for (const t of testDatabases()) {
  void describe(`shop API with a real wallet and payment server (${t.name})`, () => {
    void test('the shop creates an order, the wallet buys its payment URI, the shop API shows it PAID; the URI cannot be bought twice', async (ctx) => {
      const { world, key } = await shopWorld(t, ctx);
      const res = await shopApi(world, key, 'POST', '/v1/shop/orders', { lines: OFFER_LINES, reference: 'web order 77' });
      assert.equal(res.status, 201);
      const created = CreatedShopOrder.parse(await res.json());
      assert.equal(created.amount, 'JPY:7');
      const uri = value(parsePaymentUri(created.paymentUri));
      assert.ok(uri.kind === 'offer');
      assert.equal(uri.shop, world.merchantUrl);

      const prompts: BuyPrompt[] = [];
      const deps = { ...world.deps, confirm: async (p: BuyPrompt) => (prompts.push(p), true) };
      const before = await unspent(world);
      const outcome = value(await buy(world.wallet, { merchantUrl: uri.shop, items: [], offer: uri.offerId, anonymous: false, mode: 'ecash' }, deps));
      assert.equal(outcome.receipt.amountReceived, 'JPY:7');
      assert.equal(await unspent(world), before - 7);
      // The shopper saw the certified shop, then the offer's lines in the invoice, as the shop priced them.
      assert.deepEqual(prompts.map((p) => p.kind), ['merchant', 'invoice']);
      const invoice = prompts[1]!;
      assert.ok(invoice.kind === 'invoice');
      assert.deepEqual(invoice.invoice.lines, OFFER_LINES);

      const view = (await (await shopApi(world, key, 'GET', `/v1/shop/orders/${created.offerId}`)).json()) as { state: string; reference: string; order: { transactionId: string; paymentState: string; state: string; amount: string } };
      assert.deepEqual([view.state, view.reference, view.order.transactionId, view.order.paymentState, view.order.state, view.order.amount], ['taken', 'web order 77', outcome.transactionId, 'PAID', 'PAID', 'JPY:7']);

      // Again: the wallet reads the offer as taken and orders nothing; nothing is paid.
      const purchases = (await world.wallet.db.selectFrom('wallet_purchases').select('purchase_id').execute()).length;
      const again = await buy(world.wallet, { merchantUrl: uri.shop, items: [], offer: uri.offerId, anonymous: false, mode: 'ecash' }, world.deps);
      assert.equal(again.ok, false);
      assert.equal(!again.ok && again.code, 'MERCHANT_OFFER_TAKEN');
      assert.equal(await unspent(world), before - 7);
      assert.equal((await world.wallet.db.selectFrom('wallet_purchases').select('purchase_id').execute()).length, purchases);
    });

    void test('an offer view altered on its way: the wallet orders the altered lines, the shop refuses them (MERCHANT_OFFER_MISMATCH), nothing is paid', async (ctx) => {
      const { world, key, merchantDb } = await shopWorld(t, ctx);
      const created = CreatedShopOrder.parse(await (await shopApi(world, key, 'POST', '/v1/shop/orders', { lines: OFFER_LINES })).json());
      world.hooks.set(`GET /v1/offers/${created.offerId}`, async (_url, _init, forward) => {
        const real = OfferView.parse(await (await forward()).json());
        const cheaper = { ...real, lines: [{ ...OFFER_LINES[0]!, unitPrice: 'JPY:1' }, OFFER_LINES[1]!], amount: 'JPY:3' };
        return new Response(JSON.stringify(cheaper), { status: 200, headers: { 'content-type': 'application/json' } });
      });
      const before = await unspent(world);
      const r = await buy(world.wallet, { merchantUrl: world.merchantUrl, items: [], offer: created.offerId, anonymous: false, mode: 'ecash' }, world.deps);
      assert.equal(!r.ok && r.code, 'MERCHANT_OFFER_MISMATCH');
      assert.equal(await unspent(world), before);
      assert.equal((await merchantDb.selectFrom('merchant_orders').select('transaction_id').execute()).length, 0);
      const offer = await merchantDb.selectFrom('merchant_offers').select('state').where('offer_id', '=', created.offerId).executeTakeFirstOrThrow();
      assert.equal(offer.state, 'open');
    });

    void test('a storefront cart URI (items=) buys catalogue articles at catalogue prices', async (ctx) => {
      const { world, merchantDb } = await shopWorld(t, ctx);
      const uri = value(parsePaymentUri(formatPaymentUri({ kind: 'items', shop: world.merchantUrl, items: [{ article: 'ARTICLE-A', quantity: 1 }, { article: 'ARTICLE-C', quantity: 2 }] })));
      assert.ok(uri.kind === 'items');
      const outcome = value(await buy(world.wallet, { merchantUrl: uri.shop, items: uri.items, anonymous: true, mode: 'ecash' }, world.deps));
      assert.equal(outcome.receipt.amountReceived, 'JPY:5');
      const row = await merchantDb.selectFrom('merchant_orders').select(['payment_state', 'total']).where('transaction_id', '=', outcome.transactionId).executeTakeFirstOrThrow();
      assert.deepEqual([row.payment_state, Number(row.total)], ['PAID', 5]);
    });
  });
}
