// The operator's read-only routes (src/payment/routes/admin.ts, issue 6):
// each answers the database's data, refuses without or with a wrong operator
// token, pages with a cursor that loses and repeats nothing, and its CLI twin
// (`quittance payment payments|reserves|settlements|notifications|keys|merchants`,
// `quittance audit`) prints the very same data — on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { runSettlements } from '../../src/payment/settlement.ts';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { cli, tempDir } from '../cli/helpers.ts';
import { testDatabases, type TestHandle } from '../helpers/db.ts';
import { assertRefused } from './emoney-client.ts';
import { accept, SHOP } from './purchase-env.ts';
import { claimOf, paidFromPurse, paidWithCoins, permitFor, postRepayment, registeredPurse } from './repayment-env.ts';
import { ADMIN_TOKEN, setUpSettlement, type SettleEnv } from './settlement-env.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

const ROUTES = ['payments', 'reserves', 'denominations', 'merchants', 'settlements', 'notifications', 'audit'] as const;
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

function get(env: SettleEnv, url: string, headers: Record<string, string> = AUTH): Promise<LightMyRequestResponse> {
  return env.p.app.inject({ method: 'GET', url, headers });
}

async function getJson<T>(env: SettleEnv, url: string): Promise<T> {
  const res = await get(env, url);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  return res.json<T>();
}

/** A URL another store in this process can open: the test's PostgreSQL schema goes into the connection options. */
function urlOf(h: TestHandle<PaymentDatabase>): string {
  if (h.options.schema === undefined) return h.url;
  const u = new URL(h.url);
  u.searchParams.set('options', `-c search_path=${h.options.schema}`);
  return u.toString();
}

/**
 * Five payments of shop-1 (5 and 3 yen paid, 2 yen refunded in full, 4 yen
 * from a purse, 7 yen only accepted), a partial refund of 2 on the first, a
 * settlement sent, and the merchant notified (to an address nobody answers).
 */
async function world(t: Parameters<typeof setUpSettlement>[0], ctx: Ctx) {
  const env = await setUpSettlement(t, ctx);
  await env.p.deps.db.updateTable('payment_merchants').set({ notify_url: 'http://127.0.0.1:9/' }).where('merchant_id', '=', SHOP.id).execute();
  const a = await paidWithCoins(env, env.alice, 5);
  await paidWithCoins(env, env.alice, 3);
  const full = await paidWithCoins(env, env.alice, 2);
  for (const [invoice, yen] of [[a.invoice, 2], [full.invoice, 2]] as const) {
    const claim = await claimOf(env, permitFor(env, invoice, { amount: `JPY:${yen}` }), env.alice);
    const res = await postRepayment(env, claim.body);
    assert.equal(res.statusCode, 201, res.body);
  }
  const purse = await registeredPurse(env, env.alice, 50, 10);
  await paidFromPurse(env, env.alice, purse, 4);
  const accepted = await accept(env, env.alice, { amount: 'JPY:7', lines: [{ article: 'A', name: 'ARTICLE A', quantity: 7, unitPrice: 'JPY:1' }] });
  assert.equal(accepted.res.statusCode, 201, accepted.res.body);
  const run = await runSettlements(env.p.deps, fetch, { merchantId: SHOP.id });
  assert.deepEqual(run.outcomes.map((o) => [o.outcome, o.amount]), [['sent', 'JPY:10']]);
  return { env, purse, fullTx: full.invoice.transactionId, acceptedTx: accepted.invoice.transactionId, aTx: a.invoice.transactionId };
}

type Payment = { paymentId: string; transactionId: string; amount: string; mode: string; state: string; refunded: string; paidAt: string | null; settlementId: string | null; createdAt: string };

for (const t of testDatabases()) {
  void describe(`payment operator routes (${t.name})`, () => {
    void test('every route refuses without a token and with a wrong one, before it looks at the query', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      for (const r of ROUTES) {
        assertRefused(await get(env, `/v1/admin/${r}`, {}), 401, 'HTTP_AUTH_REQUIRED');
        assertRefused(await get(env, `/v1/admin/${r}?limit=0`, { authorization: 'Bearer qt_not-the-operator-token-000000' }), 401, 'HTTP_AUTH_INVALID');
        assertRefused(await get(env, `/v1/admin/${r}`, { authorization: `Basic ${ADMIN_TOKEN}` }), 401, 'HTTP_AUTH_INVALID');
      }
      // A server with no operator token configured lets nobody in.
      env.p.deps.config = { ...env.p.deps.config, adminTokenHashes: [] };
      assertRefused(await get(env, '/v1/admin/payments'), 401, 'HTTP_AUTH_INVALID');
    });

    void test('payments (fig. 13): states, refunded, paid at, newest first; the cursor pages through all of them once; bad queries are 400', async (ctx: Ctx) => {
      const { env, fullTx, acceptedTx, aTx } = await world(t, ctx);
      const rows = await env.p.deps.db.selectFrom('payment_payments').selectAll().execute();
      assert.equal(rows.length, 5);
      const all = (await getJson<{ payments: Payment[]; next?: string }>(env, '/v1/admin/payments')).payments;
      assert.deepEqual(all.map((p) => p.paymentId).sort(), rows.map((r) => r.payment_id).sort());
      const byTx = new Map(all.map((p) => [p.transactionId, p]));
      assert.equal(byTx.get(fullTx)!.state, 'REPAYMENT_COMPLETION');
      assert.equal(byTx.get(fullTx)!.refunded, 'JPY:2');
      assert.equal(byTx.get(aTx)!.state, 'PAID');
      assert.equal(byTx.get(aTx)!.refunded, 'JPY:2');
      assert.equal(byTx.get(aTx)!.amount, 'JPY:5');
      assert.match(byTx.get(aTx)!.settlementId!, /^st-/);
      assert.equal(byTx.get(acceptedTx)!.state, 'RECEPTION_ACCEPTED');
      assert.equal(byTx.get(acceptedTx)!.paidAt, null);
      assert.equal(byTx.get(acceptedTx)!.settlementId, null);
      assert.deepEqual(all.map((p) => p.mode).sort(), ['account', 'ecash', 'ecash', 'ecash', 'ecash']);
      // Newest first: (createdAt, paymentId) descending (the test clock stands still, so the ids break the tie).
      const keys = all.map((p) => `${p.createdAt}~${p.paymentId}`);
      assert.deepEqual(keys, [...keys].sort().reverse());

      // Pages of two: 2 + 2 + 1, nothing lost, nothing twice, in the same order.
      const paged: string[] = [];
      let url = '/v1/admin/payments?limit=2';
      for (let i = 0; i < 10; i++) {
        const page = await getJson<{ payments: Payment[]; next?: string }>(env, url);
        paged.push(...page.payments.map((p) => p.paymentId));
        if (page.next === undefined) break;
        assert.equal(page.payments.length, 2);
        url = `/v1/admin/payments?limit=2&before=${encodeURIComponent(page.next)}`;
      }
      assert.deepEqual(paged, all.map((p) => p.paymentId));

      for (const q of ['limit=0', 'limit=501', 'limit=x', 'before=not-a-cursor', 'before=2026-01-01T00:00:00Z~a~b', 'color=red']) {
        assertRefused(await get(env, `/v1/admin/payments?${q}`), 400, 'HTTP_SCHEMA_INVALID');
      }
    });

    void test('reserves with balances (the purse names its shopper), keys, merchants, settlements, notifications and the audit answer the data', async (ctx: Ctx) => {
      const { env, purse } = await world(t, ctx);
      const reserves = (await getJson<{ reserves: { reservePub: string; balance: string; paid?: string; purseOf: string | null }[] }>(env, '/v1/admin/reserves')).reserves;
      assert.equal(reserves.length, 2);
      const p = reserves.find((r) => r.reservePub === purse.pub)!;
      assert.deepEqual([p.purseOf, p.paid, p.balance], ['alice', 'JPY:4', 'JPY:6']);
      const plain = reserves.find((r) => r.reservePub !== purse.pub)!;
      assert.equal(plain.purseOf, null);
      // The same figures the wallet's own GET /v1/reserves/:pub shows.
      const own = await env.p.app.inject({ method: 'GET', url: `/v1/reserves/${plain.reservePub}` });
      assert.deepEqual({ ...plain, purseOf: undefined }, { ...own.json<object>(), purseOf: undefined });

      const keys = (await getJson<{ keys: { value: string; state: string }[] }>(env, '/v1/admin/denominations')).keys;
      const stored = await env.p.deps.db.selectFrom('payment_denomination_keys').select('denomination_id').execute();
      assert.equal(keys.length, stored.length);
      assert.ok(keys.length > 0 && keys.every((k) => k.state === 'active'));
      // Past every withdrawal window, the keys are listed as deposit-only.
      const later = new Date(Math.max(...(await env.p.deps.db.selectFrom('payment_denomination_keys').select('withdraw_until').execute()).map((r) => Date.parse(r.withdraw_until))) + 1000);
      env.p.clock.now = later;
      assert.ok((await getJson<{ keys: { state: string }[] }>(env, '/v1/admin/denominations')).keys.every((k) => k.state === 'deposit-only'));

      const merchants = (await getJson<{ merchants: { merchantId: string; payoutAccount: string; status: string }[] }>(env, '/v1/admin/merchants')).merchants;
      assert.deepEqual(merchants.map((m) => [m.merchantId, m.payoutAccount, m.status]), [[SHOP.id, env.shopAccount, 'active']]);

      const settlements = (await getJson<{ settlements: { merchantId: string; amount: string; state: string; payoutAccount: string }[] }>(env, '/v1/admin/settlements')).settlements;
      assert.deepEqual(settlements.map((s) => [s.merchantId, s.amount, s.state, s.payoutAccount]), [[SHOP.id, 'JPY:10', 'sent', env.shopAccount]]);

      const notifications = (await getJson<{ notifications: { kind: string; event: string; state: string }[] }>(env, '/v1/admin/notifications')).notifications;
      const outbox = await env.p.deps.db.selectFrom('payment_notifications').selectAll().execute();
      assert.ok(outbox.length >= 6, `outbox: ${outbox.length}`);
      assert.equal(notifications.length, outbox.length);
      assert.equal(notifications.filter((n) => n.kind === 'payment' && n.event === 'paid').length, 4);
      assert.equal(notifications.filter((n) => n.kind === 'repayment' && n.event === 'remitted').length, 2);
      await env.p.deps.db.updateTable('payment_notifications').set({ state: 'failed', last_error: 'HTTP 410' }).where('kind', '=', 'repayment').execute();
      const failed = (await getJson<{ notifications: { kind: string; lastError: string }[] }>(env, '/v1/admin/notifications?state=failed')).notifications;
      assert.deepEqual(failed.map((n) => [n.kind, n.lastError]), [['repayment', 'HTTP 410'], ['repayment', 'HTTP 410']]);
      assert.equal((await getJson<{ notifications: unknown[] }>(env, '/v1/admin/notifications?limit=1')).notifications.length, 1);
      assertRefused(await get(env, '/v1/admin/notifications?state=lost'), 400, 'HTTP_SCHEMA_INVALID');

      type Audit = { ok: boolean; checks: { name: string; ok: boolean; problems: string[] }[] };
      const sound = await getJson<Audit>(env, '/v1/admin/audit');
      assert.equal(sound.ok, true, JSON.stringify(sound.checks.filter((c) => !c.ok)));
      assert.ok(sound.checks.some((c) => c.name === 'refunds' && c.ok));
      // Money made out of nothing on the float account: the ledger check names it.
      await env.p.deps.db.updateTable('payment_ledger_accounts').set((eb) => ({ credits_posted: eb('credits_posted', '+', 1n) })).where('id', '=', 'float:JPY').execute();
      const broken = await getJson<Audit>(env, '/v1/admin/audit');
      assert.equal(broken.ok, false);
      assert.equal(broken.checks.find((c) => c.name === 'ledger')!.ok, false);
    });

    void test('the CLI twins print the same data as the routes (JSON), and readable lines', async (ctx: Ctx) => {
      const { env, fullTx } = await world(t, ctx);
      const tmp = tempDir();
      ctx.after(async () => tmp.remove());
      const url = urlOf(env.p.handle);
      writeFileSync(join(tmp.dir, 'payment.json'), JSON.stringify({ ...env.p.deps.config, db: url }));
      const run = async (argv: string[]) => {
        const r = await cli(['payment', ...argv, '--data', tmp.dir, '--json'], {});
        assert.equal(r.code, 0, r.err);
        return JSON.parse(r.out) as unknown;
      };
      assert.deepEqual(await run(['payments']), await getJson(env, '/v1/admin/payments'));
      const first = (await getJson<{ next: string }>(env, '/v1/admin/payments?limit=2')).next;
      assert.deepEqual(await run(['payments', '--limit', '2', '--before', first]), await getJson(env, `/v1/admin/payments?limit=2&before=${encodeURIComponent(first)}`));
      assert.deepEqual(await run(['reserves']), await getJson(env, '/v1/admin/reserves'));
      assert.deepEqual(await run(['settlements']), await getJson(env, '/v1/admin/settlements'));
      assert.deepEqual(await run(['notifications', '--state', 'pending']), await getJson(env, '/v1/admin/notifications?state=pending'));
      assert.deepEqual(await run(['merchants']), await getJson(env, '/v1/admin/merchants'));
      // `payment keys` runs on the real clock, the route on the server's: with --all / all=true, the same keys and windows.
      const keys = (await run(['keys', '--all'])) as { keys: { denominationId: string; withdrawUntil: string }[] };
      const routeKeys = await getJson<{ keys: { denominationId: string; withdrawUntil: string }[] }>(env, '/v1/admin/denominations?all=true');
      assert.ok(routeKeys.keys.length > 0);
      assert.deepEqual(keys.keys.map((k) => [k.denominationId, k.withdrawUntil]), routeKeys.keys.map((k) => [k.denominationId, k.withdrawUntil]));
      const audit = await cli(['audit', '--db', url, '--json'], {});
      assert.equal(audit.code, 0, audit.out);
      assert.deepEqual(JSON.parse(audit.out), await getJson(env, '/v1/admin/audit'));

      const text = await cli(['payment', 'payments', '--data', tmp.dir], {});
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, new RegExp(`${fullTx}\\s+JPY:2 ecash\\s+REPAYMENT_COMPLETION\\s+refunded JPY:2`));
      assert.equal(text.out.trim().split('\n').length, 5);
      const more = await cli(['payment', 'payments', '--data', tmp.dir, '--limit', '4'], {});
      assert.match(more.out, /^more: --before \S+~\S+$/m);
      const bad = await cli(['payment', 'payments', '--data', tmp.dir, '--limit', '0'], {});
      assert.equal(bad.code, 2);
      assert.match(bad.err, /--limit/);
    });
  });
}
