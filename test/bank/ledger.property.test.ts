// Property: after any sequence of transfers (many of them refused), the ledger
// sums to zero per currency, every balance equals the sum of its entries, and
// no balance is below its limit. Runs the real service code on every dialect.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { openAccount } from '../../src/bank/accounts.ts';
import { OPERATOR } from '../../src/bank/auth.ts';
import { checkLedger } from '../../src/bank/ledger-check.ts';
import { fund, transfer } from '../../src/bank/transfers.ts';
import { MAX_MINOR } from '../../src/protocol/amount.ts';
import { testDatabases } from '../helpers/db.ts';
import { balance, op, open, snapshot, startTestBank } from './harness.ts';

const op4 = fc.record({
  from: fc.nat(4),
  to: fc.nat(4),
  amount: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(1), fc.constant(5000)),
  // A small id space, so some ids are reused with the same or another body.
  id: fc.integer({ min: 0, max: 6 }),
  eur: fc.boolean(),
});

for (const t of testDatabases()) {
  describe(`ledger invariants (${t.name})`, () => {
    test('random transfer sequences keep the books balanced and every balance above its limit', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op4, { minLength: 1, maxLength: 14 }), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 5, maxLength: 5 }), async (ops, overdrafts) => {
          run++;
          const ids: string[] = [];
          for (let i = 0; i < 5; i++) {
            const r = await openAccount(bank.deps, OPERATOR, {
              holder: `h${run}-${i}`,
              currency: 'JPY',
              kind: 'shopper',
              // Some accounts may overdraw, most may not.
              ...(i % 2 === 0 ? { overdraft: `JPY:${overdrafts[i]}` } : {}),
            });
            assert.ok(r.ok);
            ids.push(r.value.account.accountId);
          }
          const eur = await openAccount(bank.deps, OPERATOR, { holder: `h${run}-eur`, currency: 'EUR', kind: 'shopper' });
          assert.ok(eur.ok);
          const f = await fund(bank.deps, { transferId: `seed-${run}`, to: ids[1]!, amount: 'JPY:500', subject: 'seed' });
          assert.ok(f.ok);
          for (const o of ops) {
            const to = o.eur ? eur.value.account.accountId : ids[o.to]!;
            const r = await transfer(bank.deps, OPERATOR, { transferId: `t${o.id}`, from: ids[o.from]!, to, amount: `JPY:${o.amount}`, subject: `s${o.amount}` });
            if (!r.ok) {
              assert.ok(
                ['BANK_INSUFFICIENT_FUNDS', 'BANK_SAME_ACCOUNT', 'BANK_AMOUNT_NOT_POSITIVE', 'BANK_TRANSFER_ID_REUSED', 'BANK_CURRENCY_MISMATCH'].includes(r.code),
                r.code,
              );
            }
          }
          assert.deepEqual(await checkLedger(bank.deps.db), []);
        }),
        { numRuns: t.name === 'postgres' ? 15 : 30 },
      );
    });

    test('the ledger check notices a balance changed behind its back', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      assert.deepEqual(await checkLedger(bank.deps.db), []);
      await bank.deps.db.updateTable('bank_accounts').set({ balance: 5n }).where('id', '=', a.id).execute();
      const problems = await checkLedger(bank.deps.db);
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /balance 5 but entries sum to 0/);
    });

    test('a credit that would exceed 2^53-1 minor units is refused and changes nothing', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const whale = await open(bank, 'whale', 'JPY', { overdraft: `JPY:${MAX_MINOR}` });
      const a = await open(bank, 'alice');
      const all = await bank.app.inject({ method: 'POST', url: '/v1/transfers', headers: op, payload: { transferId: 'max', from: whale.id, to: a.id, amount: `JPY:${MAX_MINOR}`, subject: 'max' } });
      assert.equal(all.statusCode, 201, all.body);
      const before = await snapshot(bank.deps);
      const more = await bank.app.inject({ method: 'POST', url: '/v1/admin/fund', headers: op, payload: { transferId: 'one', to: a.id, amount: 'JPY:1' } });
      assert.equal(more.statusCode, 422);
      assert.equal(more.json().code, 'BANK_BALANCE_OVERFLOW');
      // The issuance account was created by the attempt, but no money moved.
      const after = await snapshot(bank.deps);
      assert.equal(after.transfers, before.transfers);
      assert.equal(after.entries, before.entries);
      assert.equal(await balance(bank, a.id), `JPY:${MAX_MINOR}`);
      assert.deepEqual(await checkLedger(bank.deps.db), []);
    });
  });
}
