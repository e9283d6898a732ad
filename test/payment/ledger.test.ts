// The payment server's double-entry ledger (src/payment/ledger.ts): posted,
// pending, posted-from-pending and voided transfers; balances never below
// zero except the bank mirror; every transfer id and every resolution once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { accountBalance, checkLedger, createPending, ensureAccount, ledgerAccount, postPending, postTransfer, voidPending } from '../../src/payment/ledger.ts';
import { PAYMENT_MIGRATIONS } from '../../src/payment/migrations/index.ts';
import { isUniqueViolation, migrate } from '../../src/store/index.ts';
import { testDatabases } from '../helpers/db.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const BANK = ledgerAccount.bank('JPY');
const RES = ledgerAccount.reserve('r1');
const FLOAT = ledgerAccount.float('JPY');

for (const t of testDatabases()) {
  void describe(`payment ledger (${t.name})`, () => {
    async function open(ctx: { after: (fn: () => Promise<void>) => void }) {
      const h = await t.open<PaymentDatabase>();
      ctx.after(() => h.cleanup());
      await migrate(h.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
      await ensureAccount(h.db, BANK, 'JPY', 'bank', NOW);
      await ensureAccount(h.db, RES, 'JPY', 'reserve', NOW);
      await ensureAccount(h.db, FLOAT, 'JPY', 'float', NOW);
      return h.db;
    }
    const balance = async (db: Awaited<ReturnType<typeof open>>, id: string) => (await accountBalance(db, id))!;

    void test('a posted transfer moves money and the books balance', async (ctx) => {
      const db = await open(ctx);
      assert.equal(await postTransfer(db, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 1000n, reason: 'load' }, NOW), true);
      assert.equal(await postTransfer(db, { id: 'w:1', debit: RES, credit: FLOAT, currency: 'JPY', amount: 600n, reason: 'withdraw' }, NOW), true);
      assert.equal((await balance(db, BANK)).balance, -1000n);
      assert.equal((await balance(db, RES)).balance, 400n);
      assert.equal((await balance(db, FLOAT)).balance, 600n);
      assert.deepEqual(await checkLedger(db), []);
    });

    void test('a debit beyond the available balance is refused and writes nothing', async (ctx) => {
      const db = await open(ctx);
      await postTransfer(db, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 100n, reason: 'load' }, NOW);
      assert.equal(await postTransfer(db, { id: 'w:1', debit: RES, credit: FLOAT, currency: 'JPY', amount: 101n, reason: 'withdraw' }, NOW), false);
      assert.equal((await balance(db, RES)).balance, 100n);
      assert.equal((await balance(db, FLOAT)).balance, 0n);
      assert.equal((await db.selectFrom('payment_ledger_transfers').select('id').execute()).length, 1);
      assert.deepEqual(await checkLedger(db), []);
    });

    void test('a transfer id is used once: the second insert fails inside its transaction and nothing moves', async (ctx) => {
      const db = await open(ctx);
      await postTransfer(db, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 100n, reason: 'load' }, NOW);
      await assert.rejects(
        db.transaction().execute((tx) => postTransfer(tx, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 100n, reason: 'load' }, NOW)),
        (e) => isUniqueViolation(e),
      );
      assert.equal((await balance(db, RES)).balance, 100n);
      assert.deepEqual(await checkLedger(db), []);
    });

    void test('pending money is held, then posted once; a second resolution is refused', async (ctx) => {
      const db = await open(ctx);
      await postTransfer(db, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 100n, reason: 'load' }, NOW);
      assert.equal(await createPending(db, { id: 'hold:1', debit: RES, credit: FLOAT, currency: 'JPY', amount: 70n, reason: 'test' }, NOW), true);
      let r = await balance(db, RES);
      assert.deepEqual([r.balance, r.pendingOut, r.available], [100n, 70n, 30n]);
      // The held money is not available to anyone else.
      assert.equal(await postTransfer(db, { id: 'w:1', debit: RES, credit: FLOAT, currency: 'JPY', amount: 31n, reason: 'withdraw' }, NOW), false);
      assert.deepEqual(await checkLedger(db), []);

      assert.equal(await postPending(db, 'hold:1', 'post:1', NOW), 'resolved');
      r = await balance(db, RES);
      assert.deepEqual([r.balance, r.pendingOut, r.available], [30n, 0n, 30n]);
      assert.equal((await balance(db, FLOAT)).balance, 70n);
      assert.equal(await postPending(db, 'hold:1', 'post:2', NOW), 'already_resolved');
      assert.equal(await voidPending(db, 'hold:1', 'void:1', NOW), 'already_resolved');
      assert.equal(await postPending(db, 'nope', 'post:3', NOW), 'unknown');
      assert.deepEqual(await checkLedger(db), []);
    });

    void test('a voided hold gives the money back where it was', async (ctx) => {
      const db = await open(ctx);
      await postTransfer(db, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 100n, reason: 'load' }, NOW);
      await createPending(db, { id: 'hold:1', debit: RES, credit: FLOAT, currency: 'JPY', amount: 100n, reason: 'test' }, NOW);
      assert.equal(await voidPending(db, 'hold:1', 'void:1', NOW), 'resolved');
      const r = await balance(db, RES);
      assert.deepEqual([r.balance, r.pendingOut, r.available], [100n, 0n, 100n]);
      assert.equal((await balance(db, FLOAT)).balance, 0n);
      assert.deepEqual(await checkLedger(db), []);
    });

    void test('a resolution racing another for the same hold fails on the unique pending id', async (ctx) => {
      const db = await open(ctx);
      await postTransfer(db, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 100n, reason: 'load' }, NOW);
      await createPending(db, { id: 'hold:1', debit: RES, credit: FLOAT, currency: 'JPY', amount: 50n, reason: 'test' }, NOW);
      // Bypass the look-up (as a concurrent resolver that read before the first committed would).
      await postPending(db, 'hold:1', 'post:1', NOW);
      await assert.rejects(
        db
          .insertInto('payment_ledger_transfers')
          .values({ id: 'void:1', flow: 'void_pending', debit_account: RES, credit_account: FLOAT, currency: 'JPY', amount: 50n, pending_id: 'hold:1', reason: 'test', created_at: NOW.toISOString() })
          .execute(),
        (e) => isUniqueViolation(e),
      );
    });

    void test('the database refuses an overdraft that skipped the conditional update', async (ctx) => {
      const db = await open(ctx);
      await assert.rejects(db.updateTable('payment_ledger_accounts').set({ debits_posted: 1n }).where('id', '=', RES).execute());
      // The bank mirror may go negative: it is the other side of every load.
      await db.updateTable('payment_ledger_accounts').set({ debits_posted: 1n }).where('id', '=', BANK).execute();
    });

    void test('checkLedger reports tampered balances and unbalanced books', async (ctx) => {
      const db = await open(ctx);
      await postTransfer(db, { id: 'load:1', debit: BANK, credit: RES, currency: 'JPY', amount: 100n, reason: 'load' }, NOW);
      await db.updateTable('payment_ledger_accounts').set({ credits_posted: sql`credits_posted + 5` }).where('id', '=', RES).execute();
      const problems = await checkLedger(db);
      assert.ok(problems.some((p) => /sum to 5, not 0/.test(p)), problems.join('\n'));
      assert.ok(problems.some((p) => p.includes(`account ${RES}`)), problems.join('\n'));
    });

    void test('a transfer between two currencies or within one account is refused', async (ctx) => {
      const db = await open(ctx);
      await ensureAccount(db, ledgerAccount.float('EUR'), 'EUR', 'float', NOW);
      await assert.rejects(postTransfer(db, { id: 'x', debit: BANK, credit: ledgerAccount.float('EUR'), currency: 'JPY', amount: 1n, reason: 'test' }, NOW));
      await assert.rejects(postTransfer(db, { id: 'y', debit: RES, credit: RES, currency: 'JPY', amount: 1n, reason: 'test' }, NOW), RangeError);
      await assert.rejects(postTransfer(db, { id: 'z', debit: BANK, credit: RES, currency: 'JPY', amount: 0n, reason: 'test' }, NOW), RangeError);
      await assert.rejects(ensureAccount(db, RES, 'EUR', 'reserve', NOW), /is reserve in JPY/);
    });
  });
}
