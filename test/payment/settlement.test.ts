// Settlement (src/payment/settlement.ts): a shop's takings paid out to its
// bank account over a real bank, with the signed report, the audit, a lost
// bank answer, a refused payout, refunds after a payout, the shop's signed
// query and the operator's endpoint.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newAccountId } from '../../src/bank/account-id.ts';
import { accountBalance, ledgerAccount } from '../../src/payment/ledger.ts';
import { merchantAccount } from '../../src/payment/merchants.ts';
import { runSettlements, settlementTransferId, startSettlementSchedule } from '../../src/payment/settlement.ts';
import { SETTLEMENT_REPORT_TYP } from '../../src/protocol/documents/index.ts';
import { testDatabases } from '../helpers/db.ts';
import { assertRefused } from './emoney-client.ts';
import { merchantBalance, PAY, SHOP } from './purchase-env.ts';
import { claimOf, paidWithCoins, permitFor, postRepayment } from './repayment-env.ts';
import { ADMIN_TOKEN, assertAudit, postQuery, reports, settlementQuery, setUpSettlement, shopBalance, type SettleEnv } from './settlement-env.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

async function refund(env: SettleEnv, invoice: Parameters<typeof permitFor>[1], yen: number) {
  const claim = await claimOf(env, permitFor(env, invoice, { amount: `JPY:${yen}` }), env.alice);
  return { claim, res: await postRepayment(env, claim.body) };
}

const settle = (env: SettleEnv, f: typeof fetch = fetch) => runSettlements(env.p.deps, f, { merchantId: SHOP.id });

const settlementRows = (env: SettleEnv) => env.p.deps.db.selectFrom('payment_settlements').selectAll().orderBy('created_at').orderBy('settlement_id').execute();

/** A fetch that delivers the request to the bank and loses its answer: the bank did it, we never learn. */
const lostAnswer: typeof fetch = async (input, init) => {
  await fetch(input, init);
  throw new TypeError('connection reset by peer');
};

for (const t of testDatabases()) {
  void describe(`settlement (${t.name})`, () => {
    void test('two payments and a refund: the payout account receives payments − refund, the signed report lists the three items, the audit passes; again pays nothing; a later payment goes in the next one', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      const a = await paidWithCoins(env, env.alice, 5);
      const b = await paidWithCoins(env, env.alice, 3);
      const r = await refund(env, a.invoice, 2);
      assert.equal(r.res.statusCode, 201, r.res.body);
      assert.equal(await shopBalance(env), 'JPY:0');

      const run = await settle(env);
      assert.deepEqual(run.errors, []);
      assert.equal(run.outcomes.length, 1);
      const o = run.outcomes[0]!;
      assert.equal(o.outcome, 'sent');
      assert.equal(o.amount, 'JPY:6');
      assert.match(o.settlementId!, /^st-[0-9a-f]{32}$/);
      assert.equal(await shopBalance(env), 'JPY:6');
      assert.equal(await merchantBalance(env), 0n);
      // The bank statement shows the transfer under the settlement id.
      const transfer = await env.bank.deps.db.selectFrom('bank_transfers').selectAll().where('transfer_id', '=', o.settlementId!).execute();
      assert.equal(transfer.length, 1);
      assert.equal(transfer[0]!.subject, `settlement ${o.settlementId!}`);

      const [report, ...none] = await reports(env);
      assert.deepEqual(none, []);
      assert.equal(report!.typ, SETTLEMENT_REPORT_TYP);
      assert.equal(report!.settlementId, o.settlementId);
      assert.deepEqual(report!.shop, SHOP);
      assert.deepEqual(report!.paymentServer, PAY);
      assert.equal(report!.amount, 'JPY:6');
      assert.equal(report!.payoutAccount, env.shopAccount);
      assert.deepEqual(
        [...report!.items].sort((x, y) => `${x.kind}${x.amount}`.localeCompare(`${y.kind}${y.amount}`)),
        [
          { transactionId: b.invoice.transactionId, kind: 'payment', amount: 'JPY:3' },
          { transactionId: a.invoice.transactionId, kind: 'payment', amount: 'JPY:5' },
          { transactionId: a.invoice.transactionId, kind: 'refund', permitId: r.claim.permit.permitId, amount: 'JPY:2' },
        ],
      );
      await assertAudit(env);

      // Again: nothing unsettled, nothing paid.
      const again = await settle(env);
      assert.deepEqual(again.outcomes.map((x) => x.outcome), ['nothing']);
      assert.equal(await shopBalance(env), 'JPY:6');
      assert.equal((await settlementRows(env)).length, 1);

      // A payment after the settlement goes in the next one, alone.
      const c = await paidWithCoins(env, env.alice, 4);
      const next = await settle(env);
      assert.deepEqual(next.outcomes.map((x) => [x.outcome, x.amount]), [['sent', 'JPY:4']]);
      assert.equal(await shopBalance(env), 'JPY:10');
      const both = await reports(env);
      assert.equal(both.length, 2);
      assert.deepEqual(both.find((x) => x.settlementId === next.outcomes[0]!.settlementId)!.items, [{ transactionId: c.invoice.transactionId, kind: 'payment', amount: 'JPY:4' }]);
      await assertAudit(env);
    });

    void test('the bank answer is lost after the hold: the settlement stays pending; the next run sends the same transfer id, the bank answers the first result, it is posted once', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      await paidWithCoins(env, env.alice, 7);
      const first = await settle(env, lostAnswer);
      assert.deepEqual(first.outcomes.map((x) => x.outcome), ['pending']);
      const id = first.outcomes[0]!.settlementId!;
      // The bank did pay; our books hold the money, not yet posted.
      assert.equal(await shopBalance(env), 'JPY:7');
      const held = await accountBalance(env.p.deps.db, merchantAccount(SHOP.id, 'JPY'));
      assert.equal(held!.pendingOut, 7n);
      assert.equal(held!.balance, 7n);
      const [row] = await settlementRows(env);
      assert.equal(row!.state, 'pending');
      assert.equal(row!.attempts, 1);
      await assertAudit(env);
      // A second run while it is pending makes no second settlement of the same items.
      const second = await settle(env);
      assert.deepEqual(second.outcomes.map((x) => [x.outcome, x.settlementId]), [['sent', id]]);
      assert.equal(await shopBalance(env), 'JPY:7');
      const transfers = await env.p.deps.db.selectFrom('payment_ledger_transfers').select(['id', 'flow']).where('id', 'like', 'settlement:%').orderBy('id').execute();
      assert.deepEqual(transfers, [
        { id: settlementTransferId(id), flow: 'pending' },
        { id: `${settlementTransferId(id)}:sent`, flow: 'post_pending' },
      ]);
      assert.equal((await settlementRows(env)).length, 1);
      assert.equal(await merchantBalance(env), 0n);
      assert.deepEqual((await settle(env)).outcomes.map((x) => x.outcome), ['nothing']);
      await assertAudit(env);
    });

    void test('an unreachable bank: pending, the hold kept, the next run pays it', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      await paidWithCoins(env, env.alice, 3);
      const down: typeof fetch = async () => {
        throw new TypeError('connect ECONNREFUSED');
      };
      const first = await settle(env, down);
      assert.equal(first.outcomes[0]!.outcome, 'pending');
      assert.equal(await shopBalance(env), 'JPY:0');
      await assertAudit(env);
      const second = await settle(env);
      assert.deepEqual(second.outcomes.map((x) => [x.outcome, x.settlementId]), [['sent', first.outcomes[0]!.settlementId]]);
      assert.equal(await shopBalance(env), 'JPY:3');
      await assertAudit(env);
    });

    void test('the schedule of payment serve: runs at start, lives through a run the bank could not answer, pays on its next run, stops when told', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      await paidWithCoins(env, env.alice, 3);
      let calls = 0;
      const flaky: typeof fetch = async (input, init) => {
        if (++calls === 1) throw new TypeError('connect ECONNREFUSED');
        return fetch(input, init);
      };
      const said: string[] = [];
      const log = { info: (_o: object, msg: string) => said.push(msg), warn: (_o: object, msg: string) => said.push(msg), error: (_o: object, msg: string) => said.push(msg) };
      const stop = new AbortController();
      // A run every 60 ms (a real server: settleEveryMinutes, whole minutes).
      const schedule = startSettlementSchedule(env.p.deps, { signal: stop.signal, everyMinutes: 0.001, log, fetch: flaky });
      try {
        // Until the run that paid has also recorded it (a stop between the two leaves it pending, for the next run).
        const sent = async () => (await settlementRows(env)).some((r) => r.state === 'sent');
        for (let i = 0; i < 200 && !(await sent()); i++) await new Promise((r) => setTimeout(r, 50));
      } finally {
        stop.abort();
      }
      await schedule;
      assert.equal(await shopBalance(env), 'JPY:3', 'paid by a later run of the schedule');
      assert.ok(calls >= 2, 'the first run failed to reach the bank, a later one did');
      const rows = await settlementRows(env);
      assert.deepEqual(rows.map((r) => [r.state, r.amount]), [['sent', 3n]], 'one settlement, sent once');
      assert.equal(said[0], 'settlement schedule started');
      assert.equal(said[said.length - 1], 'settlement schedule stopped');
      await assertAudit(env);
      const off = startSettlementSchedule(env.p.deps, { signal: new AbortController().signal, everyMinutes: 0, log });
      assert.equal(await off, undefined, 'everyMinutes 0: no schedule (only payment settle and the admin run)');
    });

    void test('a payout account that does not exist: failed, the hold voided, the items free; once corrected, the next settlement pays them', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      const db = env.p.deps.db;
      await paidWithCoins(env, env.alice, 5);
      const nowhere = newAccountId((n) => new Uint8Array(n).fill(9));
      await db.updateTable('payment_merchants').set({ payout_account: nowhere }).where('merchant_id', '=', SHOP.id).execute();
      const run = await settle(env);
      assert.equal(run.outcomes.length, 1);
      assert.equal(run.outcomes[0]!.outcome, 'failed');
      assert.match(run.outcomes[0]!.message!, /BANK_CREDITOR_NOT_FOUND/);
      const [row] = await settlementRows(env);
      assert.equal(row!.state, 'failed');
      assert.equal((await db.selectFrom('payment_payments').select('settlement_id').executeTakeFirstOrThrow()).settlement_id, null);
      const merchant = await accountBalance(db, merchantAccount(SHOP.id, 'JPY'));
      assert.equal(merchant!.available, 5n);
      assert.equal(merchant!.pendingOut, 0n);
      assert.equal((await accountBalance(db, ledgerAccount.bank('JPY')))!.pendingIn, 0n);
      await assertAudit(env);
      // The signed report of the failed settlement stays stored, but it was no payout: the shop is not shown it.
      assert.equal((await settlementRows(env))[0]!.report_jws.length > 0, true);
      assert.equal((await reports(env)).length, 0);

      await db.updateTable('payment_merchants').set({ payout_account: env.shopAccount }).where('merchant_id', '=', SHOP.id).execute();
      const next = await settle(env);
      assert.deepEqual(next.outcomes.map((x) => [x.outcome, x.amount]), [['sent', 'JPY:5']]);
      assert.notEqual(next.outcomes[0]!.settlementId, row!.settlement_id);
      assert.equal(await shopBalance(env), 'JPY:5');
      assert.deepEqual((await reports(env)).map((r) => r.settlementId), [next.outcomes[0]!.settlementId], 'only the paid one');
      await assertAudit(env);
    });

    void test('a refund after the payout is refused while there are no new takings, and paid from later takings (then deducted in the next settlement)', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      const a = await paidWithCoins(env, env.alice, 5);
      assert.equal((await settle(env)).outcomes[0]!.outcome, 'sent');
      const refused = await refund(env, a.invoice, 2);
      assertRefused(refused.res, 409, 'PAY_MERCHANT_BALANCE_INSUFFICIENT');
      await assertAudit(env);

      await paidWithCoins(env, env.alice, 3);
      const paid = await refund(env, a.invoice, 2);
      assert.equal(paid.res.statusCode, 201, paid.res.body);
      const next = await settle(env);
      assert.deepEqual(next.outcomes.map((x) => [x.outcome, x.amount]), [['sent', 'JPY:1']]);
      assert.equal(await shopBalance(env), 'JPY:6');
      const last = (await reports(env)).find((x) => x.settlementId === next.outcomes[0]!.settlementId)!;
      assert.deepEqual(last.items.map((i) => [i.kind, i.amount]).sort(), [['payment', 'JPY:3'], ['refund', 'JPY:2']]);
      await assertAudit(env);

      // Only a refund left unsettled: it comes to less than nothing, so nothing is paid and it waits.
      await paidWithCoins(env, env.alice, 1);
      assert.equal((await settle(env)).outcomes[0]!.outcome, 'sent');
      const c = await paidWithCoins(env, env.alice, 4);
      const r2 = await refund(env, c.invoice, 4);
      assert.equal(r2.res.statusCode, 201, r2.res.body);
      // The 4 was refunded right away, so payment (4) − refund (4) = 0: nothing.
      const zero = await settle(env);
      assert.deepEqual(zero.outcomes.map((x) => x.outcome), ['nothing']);
      assert.equal(await shopBalance(env), 'JPY:7');
      await assertAudit(env);
    });

    void test('no payout account, suspended: skipped and reported; no bank link: nothing runs', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      const db = env.p.deps.db;
      await paidWithCoins(env, env.alice, 2);
      await db.updateTable('payment_merchants').set({ payout_account: null }).execute();
      assert.deepEqual((await settle(env)).outcomes.map((x) => [x.outcome, x.message]), [['skipped', 'no payout account on the contract']]);
      await db.updateTable('payment_merchants').set({ payout_account: env.shopAccount, status: 'suspended' }).execute();
      assert.deepEqual((await settle(env)).outcomes.map((x) => [x.outcome, x.message]), [['skipped', 'the contract is suspended']]);
      const link = env.p.deps.bankLink;
      delete env.p.deps.bankLink;
      assert.deepEqual(await settle(env), { outcomes: [], errors: ['no bank link (quittance payment link-bank)'] });
      env.p.deps.bankLink = link;
      assert.equal((await settlementRows(env)).length, 0);
      assert.equal(await shopBalance(env), 'JPY:0');
      await assertAudit(env);
    });

    void test('the shop\'s signed query: another shop\'s key, another payment server, a stale time are refused; the admin endpoint needs the operator token', async (ctx: Ctx) => {
      const env = await setUpSettlement(t, ctx);
      await paidWithCoins(env, env.alice, 2);
      const other = await env.p.pki.leaf({ role: 'merchant', partyId: 'shop-2', displayName: 'Shop 2' });
      assertRefused(await postQuery(env, await settlementQuery(env, {}, other)), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      assertRefused(await postQuery(env, await settlementQuery(env, { paymentServerId: 'pay-2' })), 422, 'PAY_SETTLEMENT_QUERY_INVALID');
      const stale = new Date(env.p.clock.now.getTime() - 11 * 60_000).toISOString();
      assertRefused(await postQuery(env, await settlementQuery(env, { time: stale })), 422, 'PAY_SETTLEMENT_QUERY_INVALID');
      const client = await env.p.pki.leaf({ role: 'client', partyId: SHOP.id });
      assertRefused(await postQuery(env, await settlementQuery(env, {}, client)), 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');

      const run = (headers: Record<string, string>) => env.settleApp.inject({ method: 'POST', url: '/v1/admin/settlements/run', headers, payload: {} });
      assertRefused(await run({}), 401, 'HTTP_AUTH_REQUIRED');
      assertRefused(await run({ authorization: 'Bearer qt_not-the-operator-token-000000' }), 401, 'HTTP_AUTH_INVALID');
      assert.equal((await settlementRows(env)).length, 0);
      const ok = await run({ authorization: `Bearer ${ADMIN_TOKEN}` });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json<{ outcomes: { outcome: string; amount: string }[] }>().outcomes.map((x) => [x.outcome, x.amount]), [['sent', 'JPY:2']]);
      assert.equal(await shopBalance(env), 'JPY:2');
      // Only the reports made since `since`.
      const later = new Date(env.p.clock.now.getTime() + 1000).toISOString();
      const res = await postQuery(env, await settlementQuery(env, { since: later }));
      assert.deepEqual(res.json(), { reports: [], more: false });
      await assertAudit(env);
    });
  });
}
