// auditPayment (src/payment/audit.ts) on books written by the real code: a
// real bank and the loader for loads and bounces, the withdrawal and swap
// endpoints for coins. Sound books pass every check, the audit writes
// nothing, and each invariant broken behind the code's back is named. (The
// same tampers through the real `quittance audit` binary: test/cli/audit.test.ts.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { sql, type Kysely, type KyselyPlugin } from 'kysely';
import { auditPayment, type AuditReport } from '../../src/payment/audit.ts';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { createPending, ensureAccount, ledgerAccount, postTransfer, voidPending } from '../../src/payment/ledger.ts';
import { bounceId, pollOnce } from '../../src/payment/loader.ts';
import { PAYMENT_MIGRATIONS } from '../../src/payment/migrations/index.ts';
import { migrate } from '../../src/store/index.ts';
import { bearer, fundAccount, open, startTestBank } from '../bank/harness.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { EMONEY_CONFIG, finalizeCoins, newRequestId, openWallet, postSwap, postWithdraw, prepareCoins, reserveKeys, swapRequest, withdrawRequest } from './emoney-client.ts';
import { startTestPayment } from './harness.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

/**
 * Loads (one credited, one bounced and sent back, one bounced and refused by
 * the bank), a withdrawal of JPY:14 from a JPY:15 reserve, a swap of the
 * JPY:8 coin into four smaller ones.
 */
async function books(ctx: Ctx, t: TestDatabase) {
  const bank = await startTestBank(t);
  ctx.after(() => bank.close());
  const url = await bank.app.listen({ port: 0, host: '127.0.0.1' });
  const pay = await startTestPayment(t, EMONEY_CONFIG);
  ctx.after(() => pay.close());
  const payAccount = await open(bank, 'pay-1', 'JPY', { kind: 'payment' });
  const alice = await open(bank, 'alice');
  await fundAccount(bank, alice.id, 'JPY:1000');
  pay.deps.bankLink = { url, token: payAccount.token, accounts: [{ currency: 'JPY', accountId: payAccount.id }] };
  let n = 0;
  const transfer = async (from: { id: string; token: string }, to: string, amount: string, subject: string) => {
    const res = await bank.app.inject({ method: 'POST', url: '/v1/transfers', headers: bearer(from.token), payload: { transferId: `t-${++n}`, from: from.id, to, amount, subject } });
    assert.equal(res.statusCode, 201, res.body);
  };

  const w = await openWallet(pay);
  const reserve = await reserveKeys(w, 0);
  await transfer(alice, payAccount.id, 'JPY:15', reserve.pub);
  await transfer(alice, payAccount.id, 'JPY:5', 'no reserve here');
  assert.deepEqual((await pollOnce(pay.deps, fetch)).errors, []);
  // A second stray transfer whose return the bank refuses (the money was moved on).
  await transfer(alice, payAccount.id, 'JPY:3', 'nor here');
  const sink = await open(bank, 'pay-1', 'JPY', { kind: 'payment' });
  await transfer(payAccount, sink.id, 'JPY:18', 'sweep');
  const r = await pollOnce(pay.deps, fetch);
  assert.deepEqual([r.bounced, r.bouncesFailed, r.errors], [1, 1, []]);

  const pending = await prepareCoins(w, ['JPY:8', 'JPY:4', 'JPY:2']);
  const withdrawn = await postWithdraw(pay, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope)));
  assert.equal(withdrawn.statusCode, 201, withdrawn.body);
  const coins = await finalizeCoins(pending, withdrawn);
  const change = await prepareCoins(w, ['JPY:4', 'JPY:2', 'JPY:1', 'JPY:1']);
  const swapped = await postSwap(pay, await swapRequest(newRequestId(), [coins[0]!], change.map((c) => c.envelope)));
  assert.equal(swapped.statusCode, 201, swapped.body);
  return { pay, db: pay.deps.db, reserve, payAccount, wallet: w };
}

const failed = (r: AuditReport) => r.checks.filter((c) => !c.ok).map((c) => c.name);

async function everything(db: Kysely<PaymentDatabase>): Promise<string> {
  const tables = ['payment_ledger_accounts', 'payment_ledger_transfers', 'payment_bank_incoming', 'payment_bounces', 'payment_reserves', 'payment_withdrawals', 'payment_swaps', 'payment_issued_envelopes', 'payment_spent_coins', 'payment_bank_cursors', 'payment_purses'] as const;
  const out: unknown[] = [];
  for (const table of tables) out.push(await db.selectFrom(table).selectAll().execute());
  return JSON.stringify(out, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

for (const t of testDatabases()) {
  void describe(`auditPayment (${t.name})`, () => {
    void test('sound books pass every check, and the audit writes nothing', async (ctx) => {
      const b = await books(ctx, t);
      const before = await everything(b.db);
      const report = await auditPayment(b.db);
      assert.deepEqual(report.checks.map((c) => c.name), ['schema', 'ledger', 'float', 'coins', 'withdrawals', 'swaps', 'payments', 'refunds', 'settlements', 'reserves', 'purses', 'loads', 'bounces', 'bank', 'suspense', 'transfers']);
      assert.deepEqual(report.checks.filter((c) => !c.ok), []);
      assert.equal(report.ok, true);
      assert.equal(await everything(b.db), before);
      // The scenario really has what the checks look at.
      assert.equal((await b.db.selectFrom('payment_spent_coins').selectAll().execute()).length, 1);
      assert.equal((await b.db.selectFrom('payment_issued_envelopes').selectAll().execute()).length, 7);
      assert.deepEqual((await b.db.selectFrom('payment_bounces').select('state').orderBy('seq').execute()).map((x) => x.state), ['sent', 'failed']);
    });

    void test('an empty, migrated database is sound; a database that is not a payment server\'s fails the schema check', async (ctx) => {
      const h = await t.open<PaymentDatabase>();
      ctx.after(() => h.cleanup());
      const bare = await auditPayment(h.db);
      assert.deepEqual([bare.ok, failed(bare)], [false, ['schema']]);
      assert.match(bare.checks[0]!.problems[0]!, /not a payment server database/);
      await migrate(h.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
      assert.equal((await auditPayment(h.db)).ok, true);
      await sql`insert into payment_migration (name, applied_at) values ('9999-future', 'x')`.execute(h.db);
      const newer = await auditPayment(h.db);
      assert.deepEqual(failed(newer), ['schema']);
      assert.match(newer.checks[0]!.problems[0]!, /9999-future is unknown/);
    });

    void test('a bounce paid by the bank after another process gave it up (sent-late) is sound; a sent bounce never paid is not', async (ctx) => {
      const h = await t.open<PaymentDatabase>();
      ctx.after(() => h.cleanup());
      await migrate(h.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
      const now = new Date('2026-01-01T00:00:00Z');
      const acct = 'QB07277690082177';
      const id = bounceId(acct, 1);
      await h.db.transaction().execute(async (trx) => {
        await ensureAccount(trx, ledgerAccount.bank('JPY'), 'JPY', 'bank', now);
        await ensureAccount(trx, ledgerAccount.suspense('JPY'), 'JPY', 'suspense', now);
        await trx.insertInto('payment_bank_cursors').values({ bank_account: acct, currency: 'JPY', last_seq: 1, updated_at: now.toISOString() }).execute();
        await trx
          .insertInto('payment_bank_incoming')
          .values({ bank_account: acct, seq: 1, bank_transfer_id: 'x', counterparty: 'QB1', currency: 'JPY', amount: 40n, subject: 'junk', outcome: 'bounced', reserve_pub: null, created_at: now.toISOString() })
          .execute();
        await postTransfer(trx, { id: `received:${acct}:1`, debit: ledgerAccount.bank('JPY'), credit: ledgerAccount.suspense('JPY'), currency: 'JPY', amount: 40n, reason: 'bounce' }, now);
        await trx
          .insertInto('payment_bounces')
          .values({ id, bank_account: acct, seq: 1, to_account: 'QB1', currency: 'JPY', amount: 40n, reason: 'r', state: 'sent', attempts: 2, last_error: null, created_at: now.toISOString(), updated_at: now.toISOString() })
          .execute();
        await createPending(trx, { id, debit: ledgerAccount.suspense('JPY'), credit: ledgerAccount.bank('JPY'), currency: 'JPY', amount: 40n, reason: 'bounce' }, now);
        await voidPending(trx, id, `${id}:void`, now);
      });
      const unpaid = await auditPayment(h.db);
      assert.deepEqual(failed(unpaid), ['bounces']);
      assert.match(unpaid.checks.find((c) => c.name === 'bounces')!.problems[0]!, /marked sent but its money was never posted/);
      await postTransfer(h.db, { id: `${id}:sent-late`, debit: ledgerAccount.suspense('JPY'), credit: ledgerAccount.bank('JPY'), currency: 'JPY', amount: 40n, reason: 'bounce' }, now);
      assert.deepEqual(failed(await auditPayment(h.db)), []);
    });

    void test('a long list of problems is cut at 100 with a count of the rest', async (ctx) => {
      const h = await t.open<PaymentDatabase>();
      ctx.after(() => h.cleanup());
      await migrate(h.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
      await h.db.insertInto('payment_bank_cursors').values({ bank_account: 'QB07277690082177', currency: 'JPY', last_seq: 130, updated_at: 'x' }).execute();
      for (let i = 1; i <= 130; i++) {
        await h.db
          .insertInto('payment_bank_incoming')
          .values({ bank_account: 'QB07277690082177', seq: i, bank_transfer_id: 'x', counterparty: 'QB1', currency: 'JPY', amount: 1n, subject: 's', outcome: 'bounced', reserve_pub: null, created_at: 'x' })
          .execute();
      }
      const loads = (await auditPayment(h.db)).checks.find((c) => c.name === 'loads')!;
      assert.equal(loads.problems.length, 101);
      assert.equal(loads.problems.at(-1), '… and 160 more');
    });

    void test('money moved by hand between the bank mirror and suspense fails bank, suspense and transfers, though the ledger balances', async (ctx) => {
      const b = await books(ctx, t);
      const now = b.pay.clock.now;
      await b.db.transaction().execute(async (trx) => {
        // 1,000,000 "received" that no bank entry explains, and a "bounce" that no bounce row explains.
        assert.ok(await postTransfer(trx, { id: 'stray-1', debit: ledgerAccount.bank('JPY'), credit: ledgerAccount.suspense('JPY'), currency: 'JPY', amount: 1_000_000n, reason: 'manual' }, now));
        assert.ok(await postTransfer(trx, { id: 'stray-2', debit: ledgerAccount.suspense('JPY'), credit: ledgerAccount.bank('JPY'), currency: 'JPY', amount: 400_000n, reason: 'bounce' }, now));
      });
      const r = await auditPayment(b.db);
      assert.deepEqual(failed(r), ['bank', 'suspense', 'transfers']);
      const problems = (name: string) => r.checks.find((c) => c.name === name)!.problems;
      // The scenario: JPY 23 received, JPY 5 paid back, JPY 3 kept in suspense (a refused bounce).
      assert.deepEqual(problems('bank'), ['bank:JPY holds JPY -600018 but −(bank entries received JPY 23) + bounces paid back (JPY 5) + settlements paid (JPY 0) is JPY -18']);
      assert.deepEqual(problems('suspense'), ['suspense:JPY holds JPY 600003 but bank entries bounced (JPY 8) − bounces paid back (JPY 5) is JPY 3']);
      assert.equal(problems('transfers').length, 2);
      assert.match(problems('transfers')[0]!, /^ledger transfer stray-1 \(posted, JPY 1000000 bank:JPY → suspense:JPY, reason "manual"\) is explained by no/);
      assert.match(problems('transfers')[1]!, /^ledger transfer stray-2 \(posted, JPY 400000 suspense:JPY → bank:JPY, reason "bounce"\) is explained by no/);
    });

    void test('a hold on suspense that no bounce explains fails suspense, bank and transfers', async (ctx) => {
      const b = await books(ctx, t);
      assert.ok(await createPending(b.db, { id: 'stray-hold', debit: ledgerAccount.suspense('JPY'), credit: ledgerAccount.bank('JPY'), currency: 'JPY', amount: 3n, reason: 'bounce' }, b.pay.clock.now));
      const r = await auditPayment(b.db);
      assert.deepEqual(failed(r), ['bank', 'suspense', 'transfers']);
      assert.match(r.checks.find((c) => c.name === 'suspense')!.problems[0]!, /has JPY 3 on hold out and JPY 0 in, but the bounces held come to JPY 0 out/);
    });

    void test('a transfer booked in another currency than its accounts fails transfers', async (ctx) => {
      const b = await books(ctx, t);
      await sql`update payment_ledger_transfers set currency = 'EUR' where reason = 'load'`.execute(b.db);
      const r = await auditPayment(b.db);
      assert.deepEqual(failed(r), ['transfers']);
      const problems = r.checks.find((c) => c.name === 'transfers')!.problems;
      assert.equal(problems.length, 2);
      assert.match(problems[0]!, /^ledger transfer load:\S+ \(posted, EUR 15 bank:JPY → reserve:\S+, reason "load"\) is in EUR but account bank:JPY is in JPY$/);
    });

    void test('a withdrawal committing while the audit runs is not a violation: every check reads one snapshot', async (ctx) => {
      const b = await books(ctx, t);
      // The audit on its own connection (pool), as `quittance audit` would be;
      // right after it has summed the issued envelopes (the float check's first
      // read), a withdrawal of the reserve's last JPY 1 commits through the server.
      const auditor = (await b.pay.handle.reopen<PaymentDatabase>()).db;
      let withdrawn: LightMyRequestResponse | undefined;
      const envelopeReads = new Set<unknown>();
      const interleave: KyselyPlugin = {
        transformQuery(args) {
          if (JSON.stringify(args.node).includes('"payment_issued_envelopes"')) envelopeReads.add(args.queryId);
          return args.node;
        },
        async transformResult(args) {
          if (envelopeReads.has(args.queryId) && withdrawn === undefined) {
            const pending = await prepareCoins(b.wallet, ['JPY:1']);
            withdrawn = await postWithdraw(b.pay, await withdrawRequest(b.reserve, newRequestId(), pending.map((c) => c.envelope)));
          }
          return args.result;
        },
      };
      const during = await auditPayment(auditor.withPlugin(interleave));
      assert.equal(withdrawn?.statusCode, 201, withdrawn?.body);
      assert.deepEqual(failed(during), []);
      // It did commit: the next audit sees it, and is sound too.
      assert.equal((await b.db.selectFrom('payment_withdrawals').selectAll().execute()).length, 2);
      assert.deepEqual(failed(await auditPayment(auditor)), []);
    });
  });
}
