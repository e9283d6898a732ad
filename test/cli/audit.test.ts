// `quittance audit` through the real binary (bin/quittance.js): books written
// by the real code (a real bank and the loader, the withdrawal and swap
// endpoints) pass; each invariant broken by a direct SQL tamper is reported
// by name with exit 1 (JSON code PAY_AUDIT_FAILED), on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { ledgerAccount, postTransfer } from '../../src/payment/ledger.ts';
import { pollOnce } from '../../src/payment/loader.ts';
import { bearer, fundAccount, open, startTestBank } from '../bank/harness.ts';
import { testDatabases, type TestDatabase, type TestHandle } from '../helpers/db.ts';
import { EMONEY_CONFIG, finalizeCoins, newRequestId, openWallet, postSwap, postWithdraw, prepareCoins, reserveKeys, swapRequest, withdrawRequest } from '../payment/emoney-client.ts';
import { SALT, startTestPayment } from '../payment/harness.ts';
import { cli, spawnBin, tempDir } from './helpers.ts';
import { certificateToPem } from '../../src/protocol/x509/index.ts';
import { buildPki } from '../fixtures/pki.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };
type Db = Kysely<PaymentDatabase>;

/** A URL the child process can open: the test's PostgreSQL schema goes into the connection options. */
function urlOf(h: TestHandle<PaymentDatabase>): string {
  if (h.options.schema === undefined) return h.url;
  const u = new URL(h.url);
  u.searchParams.set('options', `-c search_path=${h.options.schema}`);
  return u.toString();
}

/** A load, a bounce sent back, a withdrawal of JPY:14 and a swap of its JPY:8 coin. */
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
  const w = await openWallet(pay);
  const reserve = await reserveKeys(w, 0);
  for (const [i, [amount, subject]] of [['JPY:15', reserve.pub], ['JPY:5', 'no reserve here']].entries()) {
    const res = await bank.app.inject({ method: 'POST', url: '/v1/transfers', headers: bearer(alice.token), payload: { transferId: `t-${i}`, from: alice.id, to: payAccount.id, amount, subject } });
    assert.equal(res.statusCode, 201, res.body);
  }
  const r = await pollOnce(pay.deps, fetch);
  assert.deepEqual([r.credited, r.bouncesSent, r.errors], [1, 1, []]);
  const pending = await prepareCoins(w, ['JPY:8', 'JPY:4', 'JPY:2']);
  const withdrawn = await postWithdraw(pay, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope)));
  assert.equal(withdrawn.statusCode, 201, withdrawn.body);
  const coins = await finalizeCoins(pending, withdrawn);
  const change = await prepareCoins(w, ['JPY:4', 'JPY:2', 'JPY:1', 'JPY:1']);
  assert.equal((await postSwap(pay, await swapRequest(newRequestId(), [coins[0]!], change.map((c) => c.envelope)))).statusCode, 201);
  return { db: pay.deps.db, url: urlOf(pay.handle), reserve: reserve.pub, payAccount: payAccount.id, now: pay.clock.now };
}

type Books = Awaited<ReturnType<typeof books>>;

type Report = { ok: boolean; code?: string; checks: { name: string; ok: boolean; problems: string[] }[] };

function audit(url: string): { code: number; report: Report; err: string } {
  const r = spawnBin(['audit', '--db', url, '--json']);
  return { code: r.code, report: JSON.parse(r.out) as Report, err: r.err };
}

const TAMPERS: { what: string; check: string; problem: RegExp; tamper: (b: Books) => Promise<unknown> }[] = [
  {
    what: 'a ledger balance changed',
    check: 'ledger',
    problem: /account float:JPY holds/,
    tamper: (b) => sql`update payment_ledger_accounts set credits_posted = credits_posted + 1 where id = 'float:JPY'`.execute(b.db),
  },
  {
    what: 'an extra issued envelope',
    check: 'float',
    problem: /float:JPY holds JPY 14 but envelopes issued \(JPY 30\)/,
    tamper: (b) =>
      sql`insert into payment_issued_envelopes (envelope_hash, source, source_id, position, denomination_id, currency, value, blind_signature, created_at)
          select 'forged-envelope', source, source_id, 99, denomination_id, currency, value, blind_signature, created_at
          from payment_issued_envelopes where source = 'withdraw' and value = 8`.execute(b.db),
  },
  {
    what: 'a spent coin row deleted',
    check: 'swaps',
    problem: /spent coins worth JPY 0/,
    tamper: (b) => sql`delete from payment_spent_coins`.execute(b.db),
  },
  {
    what: "a spent coin booked at less than its key's value",
    check: 'coins',
    problem: /is booked at JPY 4 but its denomination key is worth JPY 8/,
    tamper: (b) => sql`update payment_spent_coins set value = 4`.execute(b.db),
  },
  {
    what: 'a withdrawal amount changed',
    check: 'withdrawals',
    problem: /is for JPY 15 but its envelopes are worth JPY 14/,
    tamper: (b) => sql`update payment_withdrawals set amount = amount + 1`.execute(b.db),
  },
  {
    what: 'a swap amount changed',
    check: 'swaps',
    problem: /is for JPY 16 but spent coins worth JPY 8/,
    tamper: (b) => sql`update payment_swaps set amount = amount * 2`.execute(b.db),
  },
  {
    what: 'a bank entry recorded larger than it was',
    check: 'reserves',
    problem: /the ledger holds JPY 1 but loads \(JPY 115\)/,
    tamper: (b) => sql`update payment_bank_incoming set amount = amount + 100 where outcome = 'credited'`.execute(b.db),
  },
  {
    what: 'money loaded without a bank entry (the ledger itself balanced)',
    check: 'loads',
    problem: /ledger transfer load:QB\w+:99 moves money for no incoming bank entry/,
    tamper: (b) => postTransfer(b.db, { id: `load:${b.payAccount}:99`, debit: ledgerAccount.bank('JPY'), credit: ledgerAccount.reserve(b.reserve), currency: 'JPY', amount: 1000n, reason: 'load' }, b.now),
  },
  {
    what: 'a bounce row deleted',
    check: 'loads',
    problem: /was bounced but has no bounce row/,
    tamper: (b) => sql`delete from payment_bounces`.execute(b.db),
  },
  {
    what: 'a sent bounce marked pending again',
    check: 'bounces',
    problem: /is marked pending but its held money was posted/,
    tamper: (b) => sql`update payment_bounces set state = 'pending'`.execute(b.db),
  },
];

for (const t of testDatabases()) {
  void describe(`quittance audit (${t.name}, real process)`, () => {
    void test('sound books: exit 0, every check ok, in JSON and in text', async (ctx) => {
      const b = await books(ctx, t);
      const r = audit(b.url);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.report.ok, true);
      assert.deepEqual(r.report.checks.map((c) => [c.name, c.ok]), ['schema', 'ledger', 'float', 'coins', 'withdrawals', 'swaps', 'payments', 'refunds', 'settlements', 'reserves', 'purses', 'loads', 'bounces', 'bank', 'suspense', 'transfers'].map((n) => [n, true]));
      const text = spawnBin(['audit', '--db', b.url]);
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, /^payment books: sound \(16 checks\)$/m);
      assert.match(text.out, /^ {2}ok {6}reserves$/m);
    });

    for (const x of TAMPERS) {
      void test(`${x.what}: ${x.check} reported, exit 1`, async (ctx) => {
        const b = await books(ctx, t);
        await x.tamper(b);
        const r = audit(b.url);
        assert.equal(r.code, 1, r.err);
        assert.equal(r.report.ok, false);
        assert.equal(r.report.code, 'PAY_AUDIT_FAILED');
        const c = r.report.checks.find((k) => k.name === x.check)!;
        assert.equal(c.ok, false, JSON.stringify(r.report.checks));
        assert.ok(c.problems.some((p) => x.problem.test(p)), c.problems.join('\n'));
      });
    }

    void test('money moved by hand between the bank mirror and suspense (the ledger balanced): bank, suspense and transfers reported, exit 1', async (ctx) => {
      const b = await books(ctx, t);
      await b.db.transaction().execute(async (trx) => {
        await postTransfer(trx, { id: 'stray-1', debit: ledgerAccount.bank('JPY'), credit: ledgerAccount.suspense('JPY'), currency: 'JPY', amount: 1_000_000n, reason: 'manual' }, b.now);
        await postTransfer(trx, { id: 'stray-2', debit: ledgerAccount.suspense('JPY'), credit: ledgerAccount.bank('JPY'), currency: 'JPY', amount: 400_000n, reason: 'bounce' }, b.now);
      });
      const r = audit(b.url);
      assert.equal(r.code, 1, r.err);
      assert.equal(r.report.code, 'PAY_AUDIT_FAILED');
      assert.deepEqual(r.report.checks.filter((c) => !c.ok).map((c) => c.name), ['bank', 'suspense', 'transfers']);
      const transfers = r.report.checks.find((c) => c.name === 'transfers')!.problems;
      assert.ok(transfers.some((p) => p.startsWith('ledger transfer stray-1 ')) && transfers.some((p) => p.startsWith('ledger transfer stray-2 ')), transfers.join('\n'));
      const text = spawnBin(['audit', '--db', b.url]);
      assert.equal(text.code, 1);
      assert.match(text.out, /^payment books: 3 of 16 checks FAILED$/m);
      assert.match(text.out, /^ {2}FAILED {2}bank\n {10}- bank:JPY holds JPY -600015 but /m);
      assert.match(text.err, /^PAY_AUDIT_FAILED: violated: bank, suspense, transfers$/m);
    });

    void test('text report of a violation: the failed check and its problems on stdout, the code on stderr', async (ctx) => {
      const b = await books(ctx, t);
      await sql`update payment_swaps set amount = amount * 2`.execute(b.db);
      const r = spawnBin(['audit', '--db', b.url]);
      assert.equal(r.code, 1);
      assert.match(r.out, /^payment books: 1 of 16 checks FAILED$/m);
      assert.match(r.out, /^ {2}FAILED {2}swaps\n {10}- swap \S+ is for JPY 16/m);
      assert.match(r.err, /^PAY_AUDIT_FAILED: violated: swaps$/m);
    });
  });
}

void describe('quittance audit: usage and refusals', () => {
  void test('audit --help: usage line and every option; the top help lists it', async () => {
    const r = await cli(['audit', '--help'], {});
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Usage: quittance audit \[options\]$/m);
    for (const o of ['--db', '--data', '--ca', '--json', '--help']) assert.match(r.out, new RegExp(`^  ${o}\\b`, 'm'));
    const top = await cli(['--help'], {});
    assert.match(top.out, /^ {2}audit +check the payment server's books/m);
    const bad = await cli(['audit', '--frobnicate'], {});
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^quittance audit: .*'--frobnicate'/m);
  });

  void test('no --db: usage error, exit 2; a missing SQLite file: exit 1 and no file made; not a payment database: schema fails', async () => {
    const tmp = tempDir();
    try {
      const none = spawnBin(['audit']);
      assert.equal(none.code, 2);
      assert.match(none.err, /--db URL \(or --data DIR of a payment server\) is required/);
      const path = join(tmp.dir, 'nothing.sqlite');
      const missing = spawnBin(['audit', '--db', `sqlite:${path}`]);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /no database at/);
      assert.equal(existsSync(path), false);

      const h = await testDatabases()[0]!.open<PaymentDatabase>();
      try {
        await sql`create table other (x integer)`.execute(h.db as Db);
        const other = spawnBin(['audit', '--db', h.url, '--json']);
        assert.equal(other.code, 1);
        const report = JSON.parse(other.out) as Report;
        assert.deepEqual(report.checks.map((c) => [c.name, c.ok]), [['schema', false]]);
        // --data: the database named by payment.json.
        writeFileSync(
          join(tmp.dir, 'payment.json'),
          JSON.stringify({ name: 'P', adminTokenHashes: [], currencies: [{ maxValue: 'JPY:8' }], keyWrapSalt: SALT, db: h.url }),
        );
        // Its CA is needed to check signatures: missing, it is an error, not a fallback to the database's own roots.
        const noChain = spawnBin(['audit', '--data', tmp.dir, '--json']);
        assert.equal(noChain.code, 1);
        assert.match(noChain.err, /the CA to check signatures against: .*payment-chain\.pem/);
        assert.equal(noChain.out, '');
        writeFileSync(join(tmp.dir, 'payment-chain.pem'), 'not a certificate\n');
        assert.match(spawnBin(['audit', '--data', tmp.dir, '--json']).err, /holds no certificate/);
        writeFileSync(join(tmp.dir, 'payment-chain.pem'), certificateToPem((await buildPki()).root.der));
        const viaData = spawnBin(['audit', '--data', tmp.dir, '--json']);
        assert.equal(viaData.code, 1);
        assert.equal((JSON.parse(viaData.out) as Report).checks[0]!.name, 'schema');
        assert.match(spawnBin(['audit', '--db', h.url, '--ca', join(tmp.dir, 'none.pem')]).err, /the CA to check signatures against: .*none\.pem/);
      } finally {
        await h.cleanup();
      }
    } finally {
      tmp.remove();
    }
  });
});
