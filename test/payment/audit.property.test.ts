// Property (issue 3): any sequence of bank transfers, loads, withdrawals,
// swaps and double-spend attempts keeps every audit invariant, at every step.
// The bank is the real bank app (reached through app.inject by the loader's
// fetch), the payment server the real app; fast-check picks the sequence.
//
// After each step:
//   - `auditPayment` finds nothing (ledger sums to zero, float == unspent
//     coins, no coin spent twice, withdrawals and swaps add up, reserves);
//   - the payment server's account at the bank holds exactly what its ledger's
//     bank mirror says it received (loads + bounced, minus what went back);
//   - the bank's own books balance.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { checkLedger as checkBankLedger } from '../../src/bank/ledger-check.ts';
import { auditPayment } from '../../src/payment/audit.ts';
import { accountBalance, ledgerAccount } from '../../src/payment/ledger.ts';
import { pollOnce } from '../../src/payment/loader.ts';
import { parseAmount } from '../../src/protocol/amount.ts';
import { balance, bearer, fundAccount, open, startTestBank, type TestBank } from '../bank/harness.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { EMONEY_CONFIG, finalizeCoins, newRequestId, openWallet, postSwap, postWithdraw, prepareCoins, reserveKeys, swapRequest, withdrawRequest, type HeldCoin } from './emoney-client.ts';
import { startTestPayment } from './harness.ts';

const VALUES = ['JPY:8', 'JPY:4', 'JPY:2', 'JPY:1'];
const RESERVES = 3;

/** A fetch that delivers to the bank app in-process. */
function bankFetch(bank: TestBank): typeof fetch {
  return async (input, init) => {
    const u = new URL(input instanceof Request ? input.url : String(input));
    const res = await bank.app.inject({
      method: (init?.method ?? 'GET') as 'GET' | 'POST',
      url: u.pathname + u.search,
      headers: init?.headers as Record<string, string>,
      ...(init?.body !== undefined ? { payload: init.body as string } : {}),
    });
    return new Response(res.body, { status: res.statusCode, headers: { 'content-type': 'application/json' } });
  };
}

/** Splits `minor` JPY into 1/2/4/8 coins. */
function split(minor: number): string[] {
  const out: string[] = [];
  for (const v of [8, 4, 2, 1]) {
    while (minor >= v) {
      out.push(`JPY:${v}`);
      minor -= v;
    }
  }
  return out;
}

type Op =
  | { kind: 'load'; reserve: number; amount: number; garbage: boolean }
  | { kind: 'poll' }
  | { kind: 'withdraw'; reserve: number; coins: string[] }
  | { kind: 'swap'; pick: number[] }
  | { kind: 'spendAgain'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('load' as const), reserve: fc.nat(RESERVES - 1), amount: fc.integer({ min: 1, max: 30 }), garbage: fc.boolean() }),
  fc.constant({ kind: 'poll' as const }),
  fc.record({ kind: fc.constant('withdraw' as const), reserve: fc.nat(RESERVES - 1), coins: fc.array(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('swap' as const), pick: fc.uniqueArray(fc.nat(40), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('spendAgain' as const), pick: fc.nat(40) }),
);

for (const t of testDatabases()) {
  void describe(`audit invariants under any sequence of operations (${t.name})`, () => {
    void test('every step keeps the books sound and matching the bank', async () => {
      const seen = { withdrawals: 0, swaps: 0, doubleSpends: 0, bounces: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
          const bank = await startTestBank(t, { maxWaitSeconds: 0 });
          const p = await startTestPayment(t, EMONEY_CONFIG);
          try {
            const payAcct = await open(bank, 'pay-1', 'JPY', { kind: 'payment' });
            const alice = await open(bank, 'alice');
            await fundAccount(bank, alice.id, 'JPY:1000');
            p.deps.bankLink = { url: 'http://bank.test', token: payAcct.token, accounts: [{ currency: 'JPY', accountId: payAcct.id }] };
            const fetchBank = bankFetch(bank);
            const w = await openWallet(p);
            const reserves = await Promise.all(Array.from({ length: RESERVES }, (_, i) => reserveKeys(w, i)));
            let held: HeldCoin[] = [];
            const spent: HeldCoin[] = [];
            let n = 0;
            // Every reserve starts loaded, so withdrawals and swaps have money to work with;
            // every sequence ends with a stray transfer, a withdrawal, a swap and a double
            // spend, so each kind of step is exercised in every run, after whatever came first.
            const initial: Op[] = reserves.map((_, i) => ({ kind: 'load', reserve: i, amount: 24, garbage: false }));
            const tail: Op[] = [
              { kind: 'load', reserve: 0, amount: 1, garbage: true },
              { kind: 'withdraw', reserve: RESERVES - 1, coins: ['JPY:4'] },
              { kind: 'swap', pick: [0] },
              { kind: 'spendAgain', pick: 0 },
            ];

            for (const op of [...initial, ...ops, ...tail]) {
              if (op.kind === 'load') {
                const res = await bank.app.inject({
                  method: 'POST',
                  url: '/v1/transfers',
                  headers: bearer(alice.token),
                  payload: { transferId: `t-${++n}`, from: alice.id, to: payAcct.id, amount: `JPY:${op.amount}`, subject: op.garbage ? `not a key ${n}` : reserves[op.reserve]!.pub },
                });
                // Alice may run out of money: a refusal at the bank is part of the game.
                assert.ok(res.statusCode === 201 || res.statusCode === 409, res.body);
                const r = await pollOnce(p.deps, fetchBank);
                assert.deepEqual(r.errors, []);
                seen.bounces += r.bouncesSent;
              } else if (op.kind === 'poll') {
                const r = await pollOnce(p.deps, fetchBank);
                assert.deepEqual(r.errors, []);
                assert.equal(r.credited + r.bounced, 0, 'a second poll finds nothing new');
              } else if (op.kind === 'withdraw') {
                const pending = await prepareCoins(w, op.coins);
                const res = await postWithdraw(p, await withdrawRequest(reserves[op.reserve]!, newRequestId(), pending.map((c) => c.envelope)));
                if (res.statusCode === 201) {
                  held.push(...(await finalizeCoins(pending, res)));
                  seen.withdrawals++;
                }
                else assert.ok(['PAY_RESERVE_INSUFFICIENT', 'PAY_RESERVE_UNKNOWN'].includes(res.json<{ code: string }>().code), res.body);
              } else if (op.kind === 'swap') {
                const coins = [...new Set(op.pick.map((i) => i % Math.max(1, held.length)))].map((i) => held[i]).filter((c): c is HeldCoin => c !== undefined);
                if (coins.length === 0) continue;
                const total = coins.reduce((s, c) => s + Number(c.value), 0);
                // Change of another shape but the same total: the swap always balances.
                const pending = await prepareCoins(w, total > 1 ? [...split(total - 1), 'JPY:1'] : ['JPY:1']);
                const res = await postSwap(p, await swapRequest(newRequestId(), coins, pending.map((c) => c.envelope)));
                assert.equal(res.statusCode, 201, res.body);
                held = held.filter((c) => !coins.includes(c));
                spent.push(...coins);
                held.push(...(await finalizeCoins(pending, res)));
                seen.swaps++;
              } else {
                const coin = spent[op.pick % Math.max(1, spent.length)];
                if (!coin) continue;
                const pending = await prepareCoins(w, split(Number(coin.value)));
                const res = await postSwap(p, await swapRequest(newRequestId(), [coin], pending.map((c) => c.envelope)));
                assert.equal(res.statusCode, 409, res.body);
                assert.equal(res.json<{ code: string }>().code, 'PAY_COIN_SPENT');
                seen.doubleSpends++;
              }

              const audit = await auditPayment(p.deps.db);
              assert.ok(audit.ok, JSON.stringify(audit.checks.filter((c) => !c.ok)));
              assert.deepEqual(await checkBankLedger(bank.deps.db), []);
              // What the bank holds for the payment server is what its books say arrived and stayed.
              const mirror = (await accountBalance(p.deps.db, ledgerAccount.bank('JPY')))?.balance ?? 0n;
              const atBank = value(parseAmount(await balance(bank, payAcct.id))).minor;
              assert.equal(atBank, -mirror, `bank holds ${atBank}, ledger mirror says ${-mirror}`);
            }
            // The coins the wallet holds are exactly the float.
            const float = (await accountBalance(p.deps.db, ledgerAccount.float('JPY')))?.balance ?? 0n;
            assert.equal(float, held.filter((c) => c.currency === 'JPY').reduce((s, c) => s + c.value, 0n));
          } finally {
            await p.close();
            await bank.close();
          }
        }),
        { numRuns: t.name === 'sqlite' ? 25 : 8 },
      );
      // The generator really exercised every kind of step (not a vacuous pass).
      assert.ok(seen.withdrawals > 0 && seen.swaps > 0 && seen.doubleSpends > 0 && seen.bounces > 0, JSON.stringify(seen));
    });
  });
}
