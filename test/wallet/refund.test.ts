// `wallet refund` against real parties on loopback (issue 5, messages 1110–1200):
// the merchant permits, the payment server pays back (fresh coins, or the
// purse), the shopper's receipt closes it; partial refunds never exceed what
// was paid; a crash between any two steps is finished by --resume with the
// identical requests, and no coin is lost or paid twice.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { merchantAccount } from '../../src/payment/merchants.ts';
import { buy } from '../../src/wallet/buy.ts';
import { purchaseDetail } from '../../src/wallet/purchases.ts';
import { registerPurse } from '../../src/wallet/purse.ts';
import { refund, resumeRefunds, type RefundDeps } from '../../src/wallet/refund.ts';
import { LEAF_NOT_AFTER } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, balanceOf, creditReserve } from '../payment/emoney-client.ts';
import { fund, ITEMS, startWorld, type World } from './purchase-world.ts';

const jpy = (minor: bigint) => ({ currency: 'JPY', minor });

function refundDeps(world: World): RefundDeps {
  const d = world.deps;
  return { now: d.now, fetch: d.fetch, seed: d.seed, passphrase: d.passphrase, confirm: async () => true };
}

async function unspent(world: World): Promise<bigint> {
  const rows = await world.wallet.db.selectFrom('wallet_coins').select('value').where('state', '=', 'unspent').execute();
  return rows.reduce((s, r) => s + BigInt(r.value), 0n);
}

const takings = (world: World) => balanceOf(world.payDeps.db, merchantAccount('shop-1', 'JPY'));

/** A purchase of ITEMS (JPY:5) paid with coins from JPY:8; returns its transaction id. */
async function bought(world: World, opts: { anonymous?: boolean; mode?: 'ecash' | 'account' } = {}): Promise<string> {
  const r = value(await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: opts.anonymous ?? false, mode: opts.mode ?? 'ecash' }, world.deps));
  return r.transactionId;
}

for (const t of testDatabases()) {
  void describe(`wallet refund (${t.name})`, () => {
    for (const anonymous of [false, true]) {
      test(`${anonymous ? 'anonymous' : 'identified'}: refund 2 of 5, then the rest; fresh coins verified; a third refund is refused; the books balance`, async (ctx) => {
        const world = await startWorld(t, ctx);
        await fund(world, 8n);
        const tx = await bought(world, { anonymous });
        assert.equal(await unspent(world), 3n);
        assert.equal(await takings(world), 5n);

        const first = value(await refund(world.wallet, { transactionId: tx, amount: jpy(2n), reason: 'one article returned' }, refundDeps(world)));
        assert.equal(first.state, 'COMPLETED');
        assert.equal(first.amount, 'JPY:2');
        assert.equal(await unspent(world), 5n);
        assert.equal(await takings(world), 3n);

        const rest = value(await refund(world.wallet, { transactionId: tx, reason: 'the rest' }, refundDeps(world)));
        assert.equal(rest.amount, 'JPY:3');
        assert.equal(await unspent(world), 8n);
        assert.equal(await takings(world), 0n);

        const more = await refund(world.wallet, { transactionId: tx, amount: jpy(1n), reason: 'greedy' }, refundDeps(world));
        assert.equal(!more.ok && more.code, 'WALLET_REFUND_TOO_MUCH');
        const shown = value(await purchaseDetail(world.wallet, tx));
        assert.deepEqual(shown.refunds.map((f) => [f.amount, f.state, f.reason]), [['JPY:2', 'COMPLETED', 'one article returned'], ['JPY:3', 'COMPLETED', 'the rest']]);
        await assertBooks(world.payDeps.db);
      });
    }

    test('mode account: the refund goes back into the purse', async (ctx) => {
      const world = await startWorld(t, ctx);
      const purse = value(await registerPurse(world.wallet, world.payUrl, world.deps));
      await creditReserve(world.payDeps, purse.purseKey, 'JPY', 10n);
      const tx = await bought(world, { mode: 'account' });
      assert.equal(await balanceOf(world.payDeps.db, ledgerAccount.reserve(purse.purseKey)), 5n);
      const r = value(await refund(world.wallet, { transactionId: tx, reason: 'changed my mind' }, refundDeps(world)));
      assert.equal(r.state, 'COMPLETED');
      assert.equal(await balanceOf(world.payDeps.db, ledgerAccount.reserve(purse.purseKey)), 10n);
      assert.equal(await takings(world), 0n);
      await assertBooks(world.payDeps.db);
    });

    test('a permit left unclaimed past its due time: the claim is refused, the payment server knows no claim of it, the refund is dropped with its planned coins and may be asked again', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 8n);
      const tx = await bought(world);
      // The shopper declines to claim now; the permit stays PERMITTED.
      const declined = await refund(world.wallet, { transactionId: tx, reason: 'later' }, { ...refundDeps(world), confirm: async () => false });
      assert.equal(!declined.ok && declined.code, 'WALLET_CANCELLED');
      // Eight days later at the payment server (the permit was due in seven).
      const realClock = world.payDeps.clock;
      world.payDeps.clock = () => new Date(realClock().getTime() + 8 * 86_400_000);
      const resumed = value(await resumeRefunds(world.wallet, refundDeps(world)));
      assert.deepEqual(resumed.failed.map((f) => f.code), ['WALLET_REFUND_EXPIRED']);
      const row = await world.wallet.db.selectFrom('wallet_refunds').select(['state', 'last_error', 'coins_request_id']).executeTakeFirstOrThrow();
      assert.equal(row.state, 'REFUSED');
      assert.match(row.last_error ?? '', /^WALLET_REFUND_EXPIRED: /);
      assert.deepEqual(await world.wallet.db.selectFrom('wallet_coins').select('coin_pub').where('state', '=', 'pending').execute(), []);
      assert.equal(await unspent(world), 3n);
      assert.equal(await takings(world), 5n, 'nothing was paid back');
      // Nothing to resume any more; the amount may be asked for again.
      assert.deepEqual(value(await resumeRefunds(world.wallet, refundDeps(world))), { resumed: [], failed: [] });
      await assertBooks(world.payDeps.db);
    });

    test('the claim was paid but its answer lost, and the certificates have expired since: the repeated claim still gets the coins', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 8n);
      const tx = await bought(world);
      let lose = true;
      world.hooks.set('POST /v1/repayments', async (_url, _init, forward) => {
        const res = await forward();
        if (lose) {
          lose = false;
          await res.arrayBuffer();
          throw new TypeError('fetch failed', { cause: new Error('connection reset') });
        }
        return res;
      });
      const r = await refund(world.wallet, { transactionId: tx, reason: 'broken' }, refundDeps(world));
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
      assert.equal(await takings(world), 0n, 'the refund was paid');
      // At the payment server, every certificate on the permit has expired by now.
      world.payDeps.clock = () => new Date(LEAF_NOT_AFTER.getTime() + 1000);
      const resumed = value(await resumeRefunds(world.wallet, refundDeps(world)));
      // The receipt (1190) cannot be verified any more; the money is what matters.
      assert.deepEqual(resumed.failed.map((f) => f.code), ['PAY_DOCUMENT_SIGNATURE_INVALID']);
      const row = await world.wallet.db.selectFrom('wallet_refunds').select(['state']).executeTakeFirstOrThrow();
      assert.equal(row.state, 'REMITTED');
      assert.equal(await unspent(world), 8n, 'the refunded coins are in the wallet');
      await assertBooks(world.payDeps.db);
    });

    for (const lost of ['POST /v1/repayments', 'POST /v1/repayments/:permit/receipt'] as const) {
      test(`the answer to ${lost} is lost: --resume sends the identical request; the same coins, paid back once`, async (ctx) => {
        const world = await startWorld(t, ctx);
        await fund(world, 8n);
        const tx = await bought(world);
        const sent: string[] = [];
        let lose = true;
        const hook = async (_url: URL, init: RequestInit | undefined, forward: () => Promise<Response>) => {
          sent.push(String(init?.body));
          const res = await forward();
          if (lose) {
            lose = false;
            await res.arrayBuffer();
            throw new TypeError('fetch failed', { cause: new Error('connection reset') });
          }
          return res;
        };
        world.hooks.set(lost === 'POST /v1/repayments' ? lost : 'POST /v1/repayments/:permit/receipt', hook);
        const r = await refund(world.wallet, { transactionId: tx, reason: 'broken' }, refundDeps(world));
        assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
        const resumed = value(await resumeRefunds(world.wallet, refundDeps(world)));
        assert.deepEqual(resumed.failed, []);
        assert.equal(resumed.resumed[0]!.state, 'COMPLETED');
        assert.equal(sent.length, 2);
        assert.equal(sent[1], sent[0], 'the repeat is byte-identical');
        assert.equal(await unspent(world), 8n);
        assert.equal(await takings(world), 0n);
        await assertBooks(world.payDeps.db);
      });
    }
  });
}
