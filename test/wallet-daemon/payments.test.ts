// Paying a payment URI through the wallet daemon, against a real merchant and
// payment server on loopback (test/wallet/purchase-world.ts): the trusted
// display (the verified shop, then the invoice) waits for the page's answers;
// OK twice ends in a verified receipt that the history shows; Cancel, a
// tampered invoice, a shop certified by another CA or an unanswered prompt
// end with nothing paid.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { merchantAccount } from '../../src/payment/merchants.ts';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import { HELLO_RESPONSE_TYP } from '../../src/protocol/documents/index.ts';
import { signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { fingerprintSha256, formatFingerprint } from '../../src/protocol/x509/index.ts';
import type { SessionView } from '../../src/wallet-daemon/sessions.ts';
import { makeLeaf, makeRoot } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { balanceOf } from '../payment/emoney-client.ts';
import { fund, pki, SHOP, startWorld, type World } from '../wallet/purchase-world.ts';
import { payUri, startDaemon, worldDeps, type Daemon } from './daemon-world.ts';

const takings = (world: World) => balanceOf(world.payDeps.db, merchantAccount('shop-1', 'JPY'));

async function unspent(world: World): Promise<bigint> {
  const rows = await world.wallet.db.selectFrom('wallet_coins').select('value').where('state', '=', 'unspent').execute();
  return rows.reduce((s, r) => s + BigInt(r.value), 0n);
}

async function purchases(world: World): Promise<number> {
  return (await world.wallet.db.selectFrom('wallet_purchases').select('purchase_id').execute()).length;
}

async function start(d: Daemon, world: World, body: Record<string, unknown> = {}): Promise<string> {
  const res = await d.call('POST', '/api/payments', { uri: payUri(world), ...body });
  assert.equal(res.statusCode, 202, res.body);
  const v = res.json<SessionView>();
  assert.equal(v.step, 'checking');
  return v.sessionId;
}

async function answer(d: Daemon, id: string, accept: boolean, step: 'merchant' | 'invoice') {
  return d.call('POST', `/api/payments/${id}/answer`, { accept, step });
}

/** A hook that answers 120 with the same hello payload signed by a shop certified by another CA. */
async function foreignHello(): Promise<(url: URL, init: RequestInit | undefined, forward: () => Promise<Response>) => Promise<Response>> {
  // Same party id and name, a root of another name: the path ends at no anchor the wallet holds.
  const root = await makeRoot({ commonName: 'Impostor Root' });
  const impostor = await makeLeaf(root, { role: 'merchant', partyId: 'shop-1', displayName: 'Tokyo On-line Mail Order Dealer' });
  return async (_url, _init, forward) => {
    const real = (await (await forward()).json()) as GeneralJws;
    const payload: unknown = JSON.parse(new TextDecoder().decode(decodeBase64url(real.payload)));
    const forged = await signDocument({ payload, typ: HELLO_RESPONSE_TYP, privateKey: impostor.keys.privateKey, alg: 'EdDSA', x5c: impostor.chain });
    return new Response(JSON.stringify(forged), { status: 200, headers: { 'content-type': 'application/json' } });
  };
}

for (const t of testDatabases()) {
  void describe(`wallet daemon: paying a payment URI (${t.name})`, () => {
    test('OK to the verified shop, OK to the invoice: a verified receipt, the purchase in the history with its order sheet, invoice and receipt', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 16n);
      const d = await startDaemon(worldDeps(world), ctx);
      const id = await start(d, world);

      const m = await d.until(id, 'merchant');
      assert.equal(m.step, 'merchant');
      if (m.step !== 'merchant') return;
      // The trusted display: the certified identity, marked verified, with the CA it chains to.
      assert.deepEqual(
        { verified: m.merchant.verified, name: m.merchant.displayName, id: m.merchant.partyId, role: m.merchant.role, url: m.merchant.url },
        { verified: true, name: 'Tokyo On-line Mail Order Dealer', id: 'shop-1', role: 'merchant', url: world.merchantUrl },
      );
      assert.equal(m.merchant.fingerprint, formatFingerprint(await fingerprintSha256(SHOP.der)));
      assert.equal(m.merchant.ca.rootFingerprint, formatFingerprint(await fingerprintSha256(pki.root.der)));
      assert.equal(m.merchant.ca.issuer, m.merchant.issuer);
      assert.match(m.merchant.ca.issuer, /Quittance Test Root/);
      assert.equal(m.transactionId, null);

      const a1 = await answer(d, id, true, 'merchant');
      assert.equal(a1.statusCode, 200, a1.body);
      const inv = await d.until(id, 'invoice');
      if (inv.step !== 'invoice') return assert.fail(inv.step);
      assert.equal(inv.invoice.amount, 'JPY:5');
      assert.deepEqual(inv.invoice.lines.map((l) => [l.article, l.quantity]), [['ARTICLE-A', 1], ['ARTICLE-C', 2]]);
      assert.deepEqual([inv.invoice.shop.id, inv.invoice.paymentServer.id], ['shop-1', 'pay-1']);
      assert.equal(inv.merchant.partyId, 'shop-1', 'the invoice is shown with the shop accepted before');
      assert.equal(await purchases(world), 0, 'nothing is stored before the invoice is accepted');

      const a2 = await answer(d, id, true, 'invoice');
      assert.equal(a2.statusCode, 200, a2.body);
      assert.equal(a2.json<SessionView>().step, 'paying');
      const done = await d.until(id, 'done');
      if (done.step !== 'done') return assert.fail(done.step);
      assert.equal(done.outcome.receipt.amountReceived, 'JPY:5');
      assert.equal(done.outcome.receipt.recipient.id, 'pay-1');
      assert.equal(done.outcome.state, 'COMPLETED');
      assert.equal(done.transactionId, done.outcome.transactionId);
      assert.equal(await unspent(world), 11n);
      assert.equal(await takings(world), 5n);

      const history = await d.call('GET', '/api/purchases');
      assert.deepEqual(history.json<{ purchases: { transactionId: string; state: string; amount: string }[] }>().purchases.map((p) => [p.transactionId, p.state, p.amount]), [[done.transactionId, 'COMPLETED', 'JPY:5']]);
      const detail = (await d.call('GET', `/api/purchases/${done.transactionId}`)).json<{ orderSheet: { total: string; lines: unknown[] }; invoice: { amount: string; paymentServer: { fingerprint: string } }; receipt: { amountReceived: string }; refunds: unknown[] }>();
      assert.equal(detail.orderSheet.total, 'JPY:5');
      assert.equal(detail.orderSheet.lines.length, 2);
      assert.equal(detail.invoice.amount, 'JPY:5');
      assert.match(detail.invoice.paymentServer.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.equal(detail.receipt.amountReceived, 'JPY:5');
      assert.deepEqual(detail.refunds, []);
      const balance = (await d.call('GET', '/api/balance')).json<{ balances: { currency: string; amount: string }[] }>();
      assert.deepEqual(balance.balances.map((b) => [b.currency, b.amount]), [['JPY', 'JPY:11']]);
      // The session is over: another answer is refused and changes nothing.
      const late = await answer(d, id, true, 'invoice');
      assert.equal(late.statusCode, 409);
      assert.equal(late.json<{ code: string }>().code, 'WALLETD_SESSION_NOT_WAITING');
    });

    for (const at of ['merchant', 'invoice'] as const) {
      test(`Cancel at the ${at}: the session is cancelled, nothing is stored or paid`, async (ctx) => {
        const world = await startWorld(t, ctx);
        await fund(world, 16n);
        const d = await startDaemon(worldDeps(world), ctx);
        const id = await start(d, world);
        await d.until(id, 'merchant');
        if (at === 'invoice') {
          assert.equal((await answer(d, id, true, 'merchant')).statusCode, 200);
          await d.until(id, 'invoice');
        }
        const res = await answer(d, id, false, at);
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json<SessionView>().step, 'cancelled');
        const end = await d.until(id, 'cancelled');
        if (end.step !== 'cancelled') return assert.fail(end.step);
        assert.equal(end.reason, 'declined');
        assert.equal(end.transactionId, null);
        assert.equal(await purchases(world), 0);
        assert.equal(await unspent(world), 16n);
        assert.equal(await takings(world), 0n);
      });
    }

    test('an invoice altered on the way: the hard stop with the signature check code, never shown, nothing paid', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 16n);
      world.hooks.set('POST /v1/orders', async (_url, _init, forward) => {
        const body = (await (await forward()).json()) as { invoice: GeneralJws };
        const invoice = JSON.parse(new TextDecoder().decode(decodeBase64url(body.invoice.payload))) as Record<string, unknown>;
        body.invoice = { ...body.invoice, payload: encodeBase64url(new TextEncoder().encode(JSON.stringify({ ...invoice, amount: 'JPY:1' }))) };
        return new Response(JSON.stringify(body), { status: 201, headers: { 'content-type': 'application/json' } });
      });
      const d = await startDaemon(worldDeps(world), ctx);
      const id = await start(d, world);
      await d.until(id, 'merchant');
      assert.equal((await answer(d, id, true, 'merchant')).statusCode, 200);
      const end = await d.until(id, 'failed', 'invoice');
      if (end.step !== 'failed') return assert.fail(`the forged invoice was shown: ${JSON.stringify(end)}`);
      assert.equal(end.code, 'PROTO_JWS_SIGNATURE_INVALID');
      assert.equal(await purchases(world), 0);
      assert.equal(await unspent(world), 16n);
      assert.equal(await takings(world), 0n);
    });

    test('a shop whose certificate our CA did not issue: the hard stop at the hello, before anything is shown', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 16n);
      world.hooks.set('POST /v1/hello', await foreignHello());
      const d = await startDaemon(worldDeps(world), ctx);
      const id = await start(d, world);
      const end = await d.until(id, 'failed', 'merchant');
      if (end.step !== 'failed') return assert.fail(`the impostor was shown: ${JSON.stringify(end)}`);
      assert.equal(end.code, 'PROTO_CERT_UNTRUSTED_ROOT');
      assert.equal(end.version, 2, 'checking, then failed: no prompt in between');
      assert.equal(await purchases(world), 0);
      assert.equal(await unspent(world), 16n);
    });

    test('a payment URI naming a shop offer goes to the shop for its lines: an offer it does not know stops with its code, nothing ordered', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 16n);
      const d = await startDaemon(worldDeps(world), ctx);
      const res = await d.call('POST', '/api/payments', { uri: `quittance://pay?shop=${encodeURIComponent(world.merchantUrl)}&offer=of-unknown-0001` });
      assert.equal(res.statusCode, 202, res.body);
      const id = res.json<SessionView>().sessionId;
      assert.deepEqual(res.json<SessionView>().request, { shop: world.merchantUrl, items: [], offer: 'of-unknown-0001', mode: 'ecash', anonymous: false });
      await d.until(id, 'merchant');
      await answer(d, id, true, 'merchant');
      const end = await d.until(id, 'failed');
      assert.equal(end.step === 'failed' && end.code, 'MERCHANT_OFFER_NOT_FOUND');
      assert.equal(await purchases(world), 0);
      assert.equal(await unspent(world), 16n);
    });

    test('too little money: the hard stop after the shop is accepted, with the wallet code; nothing ordered or paid', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 2n);
      const d = await startDaemon(worldDeps(world), ctx);
      const id = await start(d, world);
      await d.until(id, 'merchant');
      await answer(d, id, true, 'merchant');
      const end = await d.until(id, 'failed');
      assert.equal(end.step === 'failed' && end.code, 'WALLET_INSUFFICIENT_FUNDS');
      assert.equal(await purchases(world), 0);
      assert.equal(await unspent(world), 2n);
    });

    test('an answer for another step than the one waiting is refused and the prompt stays; an unanswered prompt expires as Cancel', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 16n);
      const PROMPT_TTL = 777_000;
      const expiries: (() => void)[] = [];
      const d = await startDaemon(
        worldDeps(world, {
          promptTtlMs: PROMPT_TTL,
          // Prompt expiry is fired by the test; long-poll waits run on real timers.
          schedule: (ms, fn) => {
            if (ms === PROMPT_TTL) {
              expiries.push(fn);
              return () => {};
            }
            const timer = setTimeout(fn, ms);
            timer.unref();
            return () => clearTimeout(timer);
          },
        }),
        ctx,
      );
      const id = await start(d, world);
      const m = await d.until(id, 'merchant');
      const wrong = await answer(d, id, true, 'invoice');
      assert.equal(wrong.statusCode, 409);
      assert.equal(wrong.json<{ code: string }>().code, 'WALLETD_SESSION_NOT_WAITING');
      const still = (await d.call('GET', `/api/payments/${id}`)).json<SessionView>();
      assert.deepEqual([still.step, still.version], ['merchant', m.version]);
      assert.equal(expiries.length, 1);
      expiries[0]!();
      const end = await d.until(id, 'cancelled');
      assert.equal(end.step === 'cancelled' && end.reason, 'expired');
      assert.equal(await purchases(world), 0);
      const late = await answer(d, id, true, 'merchant');
      assert.equal(late.statusCode, 409);
    });

    test('sessions are bounded: one purchase waiting at its prompt, a second is refused with 429 until it ends', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 16n);
      const d = await startDaemon(worldDeps(world, { maxRunning: 1 }), ctx);
      const first = await start(d, world);
      await d.until(first, 'merchant');
      const second = await d.call('POST', '/api/payments', { uri: payUri(world) });
      assert.equal(second.statusCode, 429);
      assert.equal(second.json<{ code: string }>().code, 'WALLETD_TOO_MANY_SESSIONS');
      assert.equal(d.sessions.list().length, 1);
      const declined = (await answer(d, first, false, 'merchant')).json<SessionView>();
      assert.equal(declined.step, 'cancelled');
      // The next change is buy() returning: from then on the slot is free.
      const ended = (await d.call('GET', `/api/payments/${first}?after=${declined.version}&wait=10`)).json<SessionView>();
      assert.ok(ended.version > declined.version);
      const third = await d.call('POST', '/api/payments', { uri: payUri(world) });
      assert.equal(third.statusCode, 202, third.body);
      assert.equal((await d.call('GET', '/api/payments')).json<{ sessions: SessionView[] }>().sessions.length, 2);
    });
  });
}
