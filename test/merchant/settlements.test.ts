// The shop's read side of settlement (src/merchant/settlement-reports.ts):
// against the real test payment server and bank it fetches its signed
// reports with a query signed by its key, checks and stores them; a report
// signed by another payment server, or naming another shop, is refused and
// nothing is stored. `quittance merchant settlements` shows them.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decryptPrivateKey } from '../../src/crypto/index.ts';
import { fetchSettlementReports, storedSettlementReports } from '../../src/merchant/settlement-reports.ts';
import { runSettlements } from '../../src/payment/settlement.ts';
import { SETTLEMENT_QUERY_TYP, SETTLEMENT_REPORT_TYP, SettlementQueryCall, type SettlementReport } from '../../src/protocol/documents/index.ts';
import { signDocument } from '../../src/protocol/jws.ts';
import { x509 } from '../../src/protocol/x509/index.ts';
import { cli, initCaDir, issue, PASS, tempDir } from '../cli/helpers.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { certifiedSigner, PAY, SHOP } from '../payment/purchase-env.ts';
import { claimOf, paidWithCoins, permitFor, postRepayment } from '../payment/repayment-env.ts';
import { setUpSettlement, type SettleEnv } from '../payment/settlement-env.ts';
import { startTestMerchant } from './harness.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

/** The shop reaches the test payment server's settlement routes in-process. */
function into(env: SettleEnv): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const res = await env.settleApp.inject({ method: (init?.method ?? 'GET') as 'POST', url: url.pathname, headers: { 'content-type': 'application/json' }, payload: String(init?.body ?? '') });
    return new Response(res.body, { status: res.statusCode, headers: { 'content-type': 'application/json' } });
  };
}

const answering = (body: unknown): typeof fetch => async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

async function shopOf(t: Parameters<typeof setUpSettlement>[0], ctx: Ctx, env: SettleEnv, fetchImpl: typeof fetch) {
  const m = await startTestMerchant(t, {
    parties: { shop: env.merchant, paymentChain: env.p.deps.signer.x5c, root: env.p.pki.root.der, crls: () => env.p.pki.crls() },
    fetch: fetchImpl,
  });
  ctx.after(() => m.close());
  return m;
}

function reportOf(env: SettleEnv, over: Partial<SettlementReport> = {}): SettlementReport {
  return {
    typ: SETTLEMENT_REPORT_TYP,
    settlementId: 'st-00000000000000000000000000000001',
    shop: SHOP,
    paymentServer: PAY,
    currency: 'JPY',
    amount: 'JPY:5',
    payoutAccount: env.shopAccount,
    items: [{ transactionId: 'tx-1', kind: 'payment', amount: 'JPY:5' }],
    time: env.p.clock.now.toISOString(),
    ...over,
  };
}

for (const t of testDatabases()) {
  void describe(`merchant settlement reports (${t.name})`, () => {
    void test('the shop fetches, checks and stores its signed report (payments − refund); fetching again stores nothing new', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      const a = await paidWithCoins(env, env.alice, 5);
      await paidWithCoins(env, env.alice, 3);
      const claim = await claimOf(env, permitFor(env, a.invoice, { amount: 'JPY:2' }), env.alice);
      assert.equal((await postRepayment(env, claim.body)).statusCode, 201);
      const run = await runSettlements(env.p.deps, fetch);
      assert.equal(run.outcomes[0]!.outcome, 'sent');

      const m = await shopOf(t, ctx, env, into(env));
      const r = value(await fetchSettlementReports(m.deps));
      assert.equal(r.stored, 1);
      assert.equal(r.reports.length, 1);
      assert.equal(r.reports[0]!.settlementId, run.outcomes[0]!.settlementId);
      assert.equal(r.reports[0]!.amount, 'JPY:6');
      assert.equal(r.reports[0]!.items.length, 3);
      assert.deepEqual(await storedSettlementReports(m.deps.db), r.reports);
      const again = value(await fetchSettlementReports(m.deps));
      assert.equal(again.stored, 0);
      assert.equal((await storedSettlementReports(m.deps.db)).length, 1);
    });

    void test('a report signed by another payment server, or naming another shop, is refused and nothing is stored', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      const other = await env.p.pki.leaf({ role: 'payment', partyId: 'pay-2', displayName: 'Other Pay' });
      const forged = await signDocument({ payload: reportOf(env, { paymentServer: { id: 'pay-2', name: 'Other Pay' } }), ...certifiedSigner(other, SETTLEMENT_REPORT_TYP) });
      const m1 = await shopOf(t, ctx, env, answering({ reports: [forged], more: false }));
      const r1 = await fetchSettlementReports(m1.deps);
      assert.equal(r1.ok, false);
      assert.equal(!r1.ok && r1.code, 'MERCHANT_SETTLEMENT_REPORT_INVALID');
      assert.match(!r1.ok ? r1.message : '', /signed by pay-2, not by pay-1/);
      assert.deepEqual(await storedSettlementReports(m1.deps.db), []);

      const payLeaf = { keys: { privateKey: env.p.deps.signer.privateKey }, chain: env.p.deps.signer.x5c } as Parameters<typeof certifiedSigner>[0];
      const good = await signDocument({ payload: reportOf(env, { settlementId: 'st-00000000000000000000000000000002' }), ...certifiedSigner(payLeaf, SETTLEMENT_REPORT_TYP) });
      const elsewhere = await signDocument({ payload: reportOf(env, { shop: { id: 'shop-2', name: 'Shop 2' } }), ...certifiedSigner(payLeaf, SETTLEMENT_REPORT_TYP) });
      const m2 = await shopOf(t, ctx, env, answering({ reports: [good, elsewhere], more: false }));
      const r2 = await fetchSettlementReports(m2.deps);
      assert.equal(!r2.ok && r2.code, 'MERCHANT_SETTLEMENT_REPORT_INVALID');
      assert.deepEqual(await storedSettlementReports(m2.deps.db), []);
    });
  });
}

function chainDer(pem: string): Uint8Array[] {
  return x509.PemConverter.decodeWithHeaders(pem).map((b) => new Uint8Array(b.rawData));
}

void describe('quittance merchant settlements', () => {
  const tmp = tempDir();
  const ca = join(tmp.dir, 'ca');
  const data = join(tmp.dir, 'merchant');
  let answer: (query: unknown) => Promise<unknown> = async () => ({ reports: [], more: false });
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        const out = req.method === 'POST' && req.url === '/v1/settlements/query' ? await answer(JSON.parse(body)) : { code: 'NOT_FOUND', message: '' };
        res.writeHead(req.url === '/v1/settlements/query' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      })();
    });
  });
  let sign: (payload: unknown) => Promise<unknown>;
  let signOther: (payload: unknown) => Promise<unknown>;
  let shopId = '';
  let payId = '';

  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await initCaDir(ca);
    shopId = (await issue(ca, 'merchant', 'Tokyo On-line Mail Order Dealer', join(tmp.dir, 'shop'))).partyId;
    payId = (await issue(ca, 'payment', 'Quittance Pay', join(tmp.dir, 'pay'))).partyId;
    await issue(ca, 'payment', 'Other Pay', join(tmp.dir, 'other'));
    const signerOf = async (dir: string) => {
      const key = value(await decryptPrivateKey(readFileSync(join(dir, 'key.pem'), 'utf8'), PASS));
      const x5c = chainDer(readFileSync(join(dir, 'chain.pem'), 'utf8'));
      return (payload: unknown) => signDocument({ payload, typ: SETTLEMENT_REPORT_TYP, privateKey: key.privateKey, alg: 'EdDSA', x5c });
    };
    sign = await signerOf(join(tmp.dir, 'pay'));
    signOther = await signerOf(join(tmp.dir, 'other'));
    const init = await cli([
      'merchant', 'init', '--data', data,
      '--cert', join(tmp.dir, 'shop', 'chain.pem'), '--key', join(tmp.dir, 'shop', 'key.pem'),
      '--payment-url', `http://127.0.0.1:${port}`, '--payment-cert', join(tmp.dir, 'pay', 'chain.pem'),
    ]);
    assert.equal(init.code, 0, init.err);
  });
  after(() => {
    server.close();
    tmp.remove();
  });

  const report = (over: Record<string, unknown> = {}) => ({
    typ: SETTLEMENT_REPORT_TYP,
    settlementId: 'st-0123456789abcdef0123456789abcdef',
    shop: { id: shopId, name: 'Tokyo On-line Mail Order Dealer' },
    paymentServer: { id: payId, name: 'Quittance Pay' },
    currency: 'JPY',
    amount: 'JPY:3000',
    payoutAccount: 'QB07277690082177',
    items: [
      { transactionId: 'tx-a', kind: 'payment', amount: 'JPY:4000' },
      { transactionId: 'tx-a', kind: 'refund', permitId: 'pm-1', amount: 'JPY:1000' },
    ],
    time: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString(),
    ...over,
  });

  void test('a report signed by another payment server: exit 1, MERCHANT_SETTLEMENT_REPORT_INVALID, nothing shown', async () => {
    answer = async () => ({ reports: [await signOther(report({ settlementId: 'st-ffffffffffffffffffffffffffffffff' }))], more: false });
    const r = await cli(['merchant', 'settlements', '--data', data]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /^MERCHANT_SETTLEMENT_REPORT_INVALID: /);
  });

  void test('the report signed by its payment server is shown (text and JSON); the query was signed by the shop', async () => {
    let seen: unknown;
    answer = async (q) => {
      seen = q;
      return { reports: [await sign(report())], more: false };
    };
    const r = await cli(['merchant', 'settlements', '--data', data]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^st-0123456789abcdef0123456789abcdef {2}\S+ {2}JPY:3000 {2}to QB07277690082177 {2}\(2 items\)$/m);
    assert.match(r.out, /^ {4}- {5}JPY:1000 {2}tx-a {2}\(refund pm-1\)$/m);
    assert.match(r.out, /\(1 new\)/);
    const call = SettlementQueryCall.parse(seen);
    const payload = JSON.parse(Buffer.from(call.request.payload, 'base64url').toString('utf8')) as { typ: string; shopId: string; paymentServerId: string };
    assert.deepEqual([payload.typ, payload.shopId, payload.paymentServerId], [SETTLEMENT_QUERY_TYP, shopId, payId]);
    const j = await cli(['merchant', 'settlements', '--data', data, '--json']);
    assert.equal(j.code, 0, j.err);
    const out = JSON.parse(j.out) as { stored: number; settlements: { settlementId: string; amount: string }[] };
    assert.equal(out.stored, 0);
    assert.deepEqual(out.settlements.map((s) => [s.settlementId, s.amount]), [['st-0123456789abcdef0123456789abcdef', 'JPY:3000']]);
  });
});
