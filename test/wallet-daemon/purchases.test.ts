// The wallet daemon after the purchase, against real parties on loopback:
// refunds (also one the shop must approve first), the evidence download that
// the protocol's verifier proves, the wallet's status with its certificate
// checked against the CA's CRL, and a load into coins.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { merchantAccount } from '../../src/payment/merchants.ts';
import { verifyBundle } from '../../src/protocol/evidence.ts';
import { accountIdFromBody } from '../../src/protocol/messages/bank.ts';
import type { RefundOutcome } from '../../src/wallet/refund.ts';
import type { DaemonStatus, PurchaseView } from '../../src/wallet-daemon/views.ts';
import { testDatabases } from '../helpers/db.ts';
import { balanceOf, creditReserve } from '../payment/emoney-client.ts';
import { ALICE, fund, pki, purchase, startWorld, type World } from '../wallet/purchase-world.ts';
import { startDaemon, worldDeps } from './daemon-world.ts';

const takings = (world: World) => balanceOf(world.payDeps.db, merchantAccount('shop-1', 'JPY'));

async function unspent(world: World): Promise<bigint> {
  const rows = await world.wallet.db.selectFrom('wallet_coins').select('value').where('state', '=', 'unspent').execute();
  return rows.reduce((s, r) => s + BigInt(r.value), 0n);
}

async function refundRows(world: World): Promise<number> {
  return (await world.wallet.db.selectFrom('wallet_refunds').select('request_id').execute()).length;
}

for (const t of testDatabases()) {
  void describe(`wallet daemon: after the purchase (${t.name})`, () => {
    test('a partial refund through the API: fresh coins, the permit in the purchase; bad requests change nothing; the evidence download is proven by the verifier', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 8n);
      const tx = (await purchase(world)).transactionId;
      const d = await startDaemon(worldDeps(world), ctx);

      for (const [body, status, code] of [
        [{ amount: 'JPY:9' }, 422, 'WALLET_REFUND_TOO_MUCH'],
        [{ amount: 'EUR:1' }, 422, 'WALLET_REFUND_TOO_MUCH'],
        [{ amount: 'JPY:1.5' }, 400, 'PROTO_AMOUNT_TOO_MANY_DECIMALS'],
        [{ amount: 'lots' }, 400, 'PROTO_AMOUNT_MALFORMED'],
        [{ amount: 'JPY:1', to: 'mallory' }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ reason: '' }, 400, 'HTTP_SCHEMA_INVALID'],
      ] as const) {
        const r = await d.call('POST', `/api/purchases/${tx}/refunds`, body);
        assert.deepEqual([r.statusCode, r.json<{ code: string }>().code], [status, code], `${JSON.stringify(body)}: ${r.body}`);
      }
      const unknown = await d.call('POST', '/api/purchases/no-such-tx/refunds', {});
      assert.deepEqual([unknown.statusCode, unknown.json<{ code: string }>().code], [404, 'WALLET_PURCHASE_NOT_FOUND']);
      assert.equal(await refundRows(world), 0, 'refused requests store nothing');
      assert.equal(await unspent(world), 3n);

      const res = await d.call('POST', `/api/purchases/${tx}/refunds`, { amount: 'JPY:2', reason: 'one article returned' });
      assert.equal(res.statusCode, 201, res.body);
      const r = res.json<RefundOutcome>();
      assert.deepEqual([r.state, r.amount, r.transactionId], ['COMPLETED', 'JPY:2', tx]);
      assert.equal(await unspent(world), 5n);
      assert.equal(await takings(world), 3n);

      const view = (await d.call('GET', `/api/purchases/${tx}`)).json<PurchaseView>();
      assert.equal(view.refunds.length, 1);
      const f = view.refunds[0]!;
      assert.deepEqual([f.state, f.amount, f.request.reason, f.request.amount], ['COMPLETED', 'JPY:2', 'one article returned', 'JPY:2']);
      assert.equal(f.permit?.amount, 'JPY:2');
      assert.equal(f.permit?.recipientId, 'alice');
      assert.equal(f.permit?.permitId, f.permitId);

      const ev = await d.call('GET', `/api/purchases/${tx}/evidence`);
      assert.equal(ev.statusCode, 200);
      assert.match(String(ev.headers['content-disposition']), new RegExp(`^attachment; filename="quittance-evidence-${tx}\\.json"$`));
      assert.match(String(ev.headers['content-type']), /^application\/json/);
      const proven = await verifyBundle(JSON.parse(ev.body), { trustAnchors: [pki.root.der] });
      assert.ok(proven.ok, proven.ok ? '' : `${proven.code}: ${proven.message}`);
      assert.equal(proven.value.proven, true);
      assert.equal(proven.value.transactionId, tx);
      assert.equal(proven.value.refunded, 'JPY:2');
      const none = await d.call('GET', '/api/purchases/no-such-tx/evidence');
      assert.deepEqual([none.statusCode, none.json<{ code: string }>().code], [404, 'WALLET_PURCHASE_NOT_FOUND']);
    });

    test('a refund the shop must approve: 201 AWAITING_APPROVAL, then the resume route claims it', async (ctx) => {
      const world = await startWorld(t, ctx);
      await fund(world, 8n);
      const tx = (await purchase(world)).transactionId;
      // The shop permits at once, but the wallet is told to wait (as with refundsNeedApproval).
      world.hooks.set(`POST /v1/orders/${tx}/repayments`, async (_url, _init, forward) => {
        const real = (await (await forward()).json()) as { requestId: string; transactionId: string };
        return new Response(JSON.stringify({ requestId: real.requestId, transactionId: real.transactionId, state: 'awaiting-approval' }), { status: 200, headers: { 'content-type': 'application/json' } });
      });
      const d = await startDaemon(worldDeps(world), ctx);
      const res = await d.call('POST', `/api/purchases/${tx}/refunds`, { reason: 'broken' });
      assert.equal(res.statusCode, 201, res.body);
      const waiting = res.json<RefundOutcome>();
      assert.deepEqual([waiting.state, waiting.amount], ['AWAITING_APPROVAL', 'JPY:5']);
      assert.equal(await unspent(world), 3n);

      const resumed = await d.call('POST', `/api/refunds/${waiting.requestId}/resume`);
      assert.equal(resumed.statusCode, 200, resumed.body);
      assert.deepEqual([resumed.json<RefundOutcome>().state, resumed.json<RefundOutcome>().requestId], ['COMPLETED', waiting.requestId]);
      assert.equal(await unspent(world), 8n);
      assert.equal(await takings(world), 0n);
      const again = await d.call('POST', `/api/refunds/${waiting.requestId}/resume`);
      assert.deepEqual([again.statusCode, again.json<{ code: string }>().code], [404, 'WALLET_REFUND_NOT_FOUND']);
    });

    test("status: the wallet's identity and its certificate checked against the CA's CRL now — valid, revoked, or unknown when the CA is unreachable", async (ctx) => {
      const world = await startWorld(t, ctx);
      let crl: 'good' | 'revoking' | 'down' = 'good';
      const revoking = await pki.crl(pki.root, { revoked: [ALICE.der] });
      const fetchFn: typeof fetch = async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        if (url.pathname === '/v1/ca/crl' && crl === 'revoking') return new Response(revoking.slice(), { status: 200 });
        if (url.pathname === '/v1/ca/crl' && crl === 'down') throw new TypeError('fetch failed', { cause: new Error('connection refused') });
        return world.deps.fetch(input, init);
      };
      const d = await startDaemon(worldDeps(world, { fetch: fetchFn }), ctx);
      const status = async () => {
        const r = await d.call('GET', '/api/status');
        assert.equal(r.statusCode, 200, r.body);
        return r.json<DaemonStatus>();
      };
      const s = await status();
      assert.equal(s.walletId, world.wallet.walletId);
      assert.deepEqual([s.identity?.status, s.identity?.partyId, s.identity?.displayName], ['approved', 'alice', 'Alice']);
      assert.equal(s.identity?.notAfter, ALICE.cert.notAfter.toISOString());
      assert.deepEqual(s.certificate, { state: 'valid' });
      crl = 'revoking';
      assert.deepEqual([(await status()).certificate?.state, (await status()).certificate?.code], ['revoked', 'PROTO_CERT_REVOKED']);
      crl = 'down';
      assert.deepEqual([(await status()).certificate?.state, (await status()).certificate?.code], ['unknown', 'WALLET_CA_UNREACHABLE']);
    });

    test('a load into coins from the page: the transfer to the account the payment server names, the credit, the withdrawal', async (ctx) => {
      const world = await startWorld(t, ctx);
      const loadAccount = accountIdFromBody('PAYLOADS0JPY');
      const shopper = accountIdFromBody('SHOPPER00001');
      world.payDeps.bankLink = { url: 'http://bank.test/', token: 'bank-token-of-the-payment-server', accounts: [{ currency: 'JPY', accountId: loadAccount }] };
      const transfers: { from: string; to: string; amount: string; subject: string }[] = [];
      // The bank: the transfer is booked and the payment server's loader credits the reserve named in its subject.
      world.hooks.set('POST /v1/transfers', async (url, init) => {
        assert.equal(url.origin, 'http://bank.test');
        assert.equal(new Headers(init?.headers).get('authorization'), 'Bearer shopper-bank-token');
        const body = JSON.parse(String(init?.body)) as { transferId: string; from: string; to: string; amount: string; subject: string };
        transfers.push({ from: body.from, to: body.to, amount: body.amount, subject: body.subject });
        await creditReserve(world.payDeps, body.subject, 'JPY', BigInt(body.amount.slice(4)));
        return new Response(JSON.stringify({ ...body, createdAt: new Date().toISOString() }), { status: 201, headers: { 'content-type': 'application/json' } });
      });
      const without = await startDaemon(worldDeps(world), ctx);
      const refused = await without.call('POST', '/api/loads', { amount: 'JPY:12', into: 'coins' });
      assert.deepEqual([refused.statusCode, refused.json<{ code: string }>().code], [409, 'WALLETD_LOADING_NOT_CONFIGURED']);

      const d = await startDaemon(worldDeps(world, { loading: { bank: { bankUrl: 'http://bank.test/', account: shopper, token: 'shopper-bank-token' }, paymentUrl: world.payUrl } }), ctx);
      for (const [body, code] of [
        [{ amount: 'JPY:0', into: 'coins' }, 'WALLETD_AMOUNT_NOT_POSITIVE'],
        [{ amount: 'JPY:-3', into: 'coins' }, 'PROTO_AMOUNT_MALFORMED'],
        [{ amount: 'JPY:3', into: 'pocket' }, 'HTTP_SCHEMA_INVALID'],
        [{ amount: 'JPY:3', into: 'coins', paymentUrl: 'ftp://pay.test/' }, 'HTTP_SCHEMA_INVALID'],
      ] as const) {
        const r = await d.call('POST', '/api/loads', body);
        assert.deepEqual([r.statusCode, r.json<{ code: string }>().code], [400, code], r.body);
      }
      assert.deepEqual(transfers, [], 'nothing reached the bank');

      const res = await d.call('POST', '/api/loads', { amount: 'JPY:12', into: 'coins' });
      assert.equal(res.statusCode, 201, res.body);
      const out = res.json<{ reservePub: string; amount: string; coins: number }>();
      assert.equal(out.amount, 'JPY:12');
      assert.deepEqual(transfers, [{ from: shopper, to: loadAccount, amount: 'JPY:12', subject: out.reservePub }]);
      const balance = (await d.call('GET', '/api/balance')).json<{ balances: { amount: string; coins: number }[] }>();
      assert.deepEqual(balance.balances.map((b) => [b.amount, b.coins]), [['JPY:12', out.coins]]);
      const coins = (await d.call('GET', '/api/coins?state=unspent')).json<{ coins: unknown[] }>();
      assert.equal(coins.coins.length, out.coins);
      const badState = await d.call('GET', '/api/coins?state=stolen');
      assert.equal(badState.statusCode, 400);
      const resumed = await d.call('POST', '/api/loads/resume', {});
      assert.deepEqual(resumed.json(), { coins: { resumed: [], failed: [] }, purses: { resumed: [], failed: [] } });
    });
  });
}
