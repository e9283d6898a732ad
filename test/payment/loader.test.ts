// The loader (src/payment/loader.ts) against a real bank over real HTTP: the
// bank app listens on 127.0.0.1:0, the payment server's account there is
// linked, a shopper transfers money with a reserve key (or anything else) as
// the subject. Loads are credited once however often and however
// concurrently the account is polled; anything else goes back to the sender.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { auditPayment, type AuditReport } from '../../src/payment/audit.ts';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { accountBalance, checkLedger, ledgerAccount, voidPending } from '../../src/payment/ledger.ts';
import { bounceId, loadTransferId, pollOnce, startLoader, type LoaderLog } from '../../src/payment/loader.ts';
import { reserveKeyProblem } from '../../src/payment/reserves.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { balance, bearer, fundAccount, open, startTestBank, type TestBank } from '../bank/harness.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { startTestPayment, type TestPayment } from './harness.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };
type Holder = { id: string; token: string };

function reserveKey(): string {
  return generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
}

/** 32 bytes that WebCrypto imports as an Ed25519 key but that are no point of the curve (y = 2). */
const OFF_CURVE = (() => {
  const b = new Uint8Array(32);
  b[0] = 2;
  return b;
})();
/** The neutral element (y = 1): a key for which any signature verifies. */
const SMALL_ORDER = (() => {
  const b = new Uint8Array(32);
  b[0] = 1;
  return b;
})();

type World = { bank: TestBank; pay: TestPayment; db: Kysely<PaymentDatabase>; payJpy: Holder; payEur: Holder; alice: Holder; aliceEur: Holder; bankUrl: string };

async function world(ctx: Ctx, t: TestDatabase): Promise<World> {
  const bank = await startTestBank(t);
  ctx.after(() => bank.close());
  const bankUrl = await bank.app.listen({ port: 0, host: '127.0.0.1' });
  const pay = await startTestPayment(t);
  ctx.after(() => pay.close());
  const payJpy = await open(bank, 'pay-1', 'JPY', { kind: 'payment' });
  const payEur = await open(bank, 'pay-1', 'EUR', { kind: 'payment' });
  const alice = await open(bank, 'alice');
  const aliceEur = await open(bank, 'alice', 'EUR');
  await fundAccount(bank, alice.id, 'JPY:10000');
  await fundAccount(bank, aliceEur.id, 'EUR:100.00');
  pay.deps.bankLink = {
    url: bankUrl,
    token: payJpy.token,
    accounts: [
      { currency: 'JPY', accountId: payJpy.id },
      { currency: 'EUR', accountId: payEur.id },
    ],
  };
  return { bank, pay, db: pay.deps.db, payJpy, payEur: { id: payEur.id, token: payJpy.token }, alice, aliceEur: { id: aliceEur.id, token: alice.token }, bankUrl };
}

let transferNo = 0;
async function pay(bank: TestBank, from: Holder, to: string, amount: string, subject: string): Promise<void> {
  const res = await bank.app.inject({
    method: 'POST',
    url: '/v1/transfers',
    headers: bearer(from.token),
    payload: { transferId: `t-${++transferNo}`, from: from.id, to, amount, subject },
  });
  assert.equal(res.statusCode, 201, res.body);
}

/** Everything the payment server's books hold: "nothing changed" is checked with this. */
async function books(db: Kysely<PaymentDatabase>) {
  const rows = async (table: 'payment_bank_incoming' | 'payment_bounces' | 'payment_reserves' | 'payment_ledger_transfers' | 'payment_bank_cursors') =>
    JSON.stringify(await db.selectFrom(table).selectAll().execute(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  const accounts = await db.selectFrom('payment_ledger_accounts').selectAll().orderBy('id').execute();
  return {
    incoming: await rows('payment_bank_incoming'),
    bounces: await rows('payment_bounces'),
    reserves: await rows('payment_reserves'),
    transfers: await rows('payment_ledger_transfers'),
    cursors: await rows('payment_bank_cursors'),
    accounts: accounts.map((a) => `${a.id}:${a.debits_posted}/${a.credits_posted}/${a.debits_pending}/${a.credits_pending}`).join(','),
  };
}

const posted = async (db: Kysely<PaymentDatabase>, id: string) => (await accountBalance(db, id))?.balance ?? 0n;

function collector(): LoaderLog & { lines: { level: string; msg: string; obj: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', msg, obj }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj }),
  };
}

const failedChecks = (r: AuditReport) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.problems.join('; ')}`);

/** A bank history entry as the bank sends it, incoming to the payment server. */
function entry(seq: number, amount: string, subject: string) {
  return { seq, direction: 'incoming', transferId: `t-${seq}`, amount, counterparty: 'QB07277690082177', subject, balanceAfter: 'JPY:0', createdAt: '2026-03-01T09:00:00.000Z' };
}

/** A bank that answers every request with `body`. */
const answer =
  (body: unknown): typeof fetch =>
  async () =>
    new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });

/** What a process refused for good does to a held bounce (loader.ts settleFailed). */
async function giveUp(db: Kysely<PaymentDatabase>, id: string, now: Date): Promise<void> {
  assert.equal(await voidPending(db, id, `${id}:void`, now), 'resolved');
  await db.updateTable('payment_bounces').set({ state: 'failed', last_error: 'BANK_X: refused' }).where('id', '=', id).where('state', '=', 'pending').execute();
}

/** The bank paid the bounce once; the books say so (sent, void + sent-late, suspense empty) and the audit agrees. */
async function assertPaidLate(w: World, id: string): Promise<void> {
  assert.equal(await balance(w.bank, w.alice.id), 'JPY:10000');
  assert.equal(await balance(w.bank, w.payJpy.id), 'JPY:0');
  const bounce = await w.db.selectFrom('payment_bounces').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.deepEqual([bounce.state, bounce.last_error], ['sent', null]);
  const moves = await w.db.selectFrom('payment_ledger_transfers').select(['id', 'flow']).where('id', 'like', `${id}%`).orderBy('id').execute();
  assert.deepEqual(moves, [
    { id, flow: 'pending' },
    { id: `${id}:sent-late`, flow: 'posted' },
    { id: `${id}:void`, flow: 'void_pending' },
  ]);
  const suspense = (await accountBalance(w.db, ledgerAccount.suspense('JPY')))!;
  assert.deepEqual([suspense.balance, suspense.pendingOut], [0n, 0n]);
  assert.equal(await posted(w.db, ledgerAccount.bank('JPY')), 0n);
  assert.deepEqual(failedChecks(await auditPayment(w.db)), []);
}

void describe('reserve keys', () => {
  void test('a generated Ed25519 key names a reserve; garbage, an off-curve point and a small-order point do not', async () => {
    for (let i = 0; i < 20; i++) assert.equal(await reserveKeyProblem(reserveKey()), undefined);
    assert.match((await reserveKeyProblem('order 42'))!, /not a reserve public key/);
    assert.match((await reserveKeyProblem('A'.repeat(44)))!, /not a reserve public key/);
    // WebCrypto in Node imports these, so importing alone would not catch them.
    for (const b of [OFF_CURVE, SMALL_ORDER]) await crypto.subtle.importKey('raw', b.slice(), { name: 'Ed25519' }, false, ['verify']);
    assert.match((await reserveKeyProblem(encodeBase64url(OFF_CURVE)))!, /not a point of the curve/);
    assert.match((await reserveKeyProblem(encodeBase64url(SMALL_ORDER)))!, /small order/);
    // y = p − 1 (order 2) and a y ≥ p (non-canonical) are refused too.
    const order2 = new Uint8Array(32).fill(0xff);
    order2[0] = 0xec;
    order2[31] = 0x7f;
    assert.match((await reserveKeyProblem(encodeBase64url(order2)))!, /small order/);
    const big = new Uint8Array(32).fill(0xff);
    big[31] = 0x7f;
    assert.match((await reserveKeyProblem(encodeBase64url(big)))!, /not a point/);
  });
});

for (const t of testDatabases()) {
  void describe(`loader against a real bank (${t.name})`, () => {
    void test('a transfer whose subject is a reserve key credits the reserve, once', async (ctx) => {
      const w = await world(ctx, t);
      const pub = reserveKey();
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:3000', pub);

      const r = await pollOnce(w.pay.deps, fetch);
      assert.deepEqual(r, { credited: 1, bounced: 0, quarantined: 0, skipped: 0, bouncesSent: 0, bouncesFailed: 0, errors: [] });
      assert.equal(await posted(w.db, ledgerAccount.reserve(pub)), 3000n);
      assert.equal(await posted(w.db, ledgerAccount.bank('JPY')), -3000n);
      assert.deepEqual(await checkLedger(w.db), []);
      const load = await w.db.selectFrom('payment_ledger_transfers').selectAll().where('id', '=', loadTransferId(w.payJpy.id, 1)).executeTakeFirstOrThrow();
      assert.equal(load.reason, 'load');
      assert.equal(load.amount, 3000n);
      const reserve = await w.db.selectFrom('payment_reserves').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([reserve.reserve_pub, reserve.currency], [pub, 'JPY']);
      const cursor = await w.db.selectFrom('payment_bank_cursors').selectAll().where('bank_account', '=', w.payJpy.id).executeTakeFirstOrThrow();
      assert.equal(cursor.last_seq, 1);

      // Polling again finds nothing new; polling from a stale cursor (another
      // process behind us) finds the entry but credits nothing.
      const before = await books(w.db);
      assert.deepEqual(await pollOnce(w.pay.deps, fetch), { credited: 0, bounced: 0, quarantined: 0, skipped: 0, bouncesSent: 0, bouncesFailed: 0, errors: [] });
      await w.db.updateTable('payment_bank_cursors').set({ last_seq: 0 }).execute();
      const stale = await pollOnce(w.pay.deps, fetch);
      assert.equal(stale.credited, 0);
      assert.equal(stale.skipped, 1);
      assert.deepEqual(await books(w.db), before);
      // A second load into the same reserve adds to it.
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:500', pub);
      assert.equal((await pollOnce(w.pay.deps, fetch)).credited, 1);
      assert.equal(await posted(w.db, ledgerAccount.reserve(pub)), 3500n);
      assert.deepEqual(await checkLedger(w.db), []);
    });

    for (const [name, subject] of [
      ['garbage', 'order 42'],
      ['a valid-looking off-curve key', encodeBase64url(OFF_CURVE)],
      ['a small-order key', encodeBase64url(SMALL_ORDER)],
    ] as const) {
      void test(`a transfer whose subject is ${name} goes back to the sender; suspense nets to zero`, async (ctx) => {
        const w = await world(ctx, t);
        await pay(w.bank, w.alice, w.payJpy.id, 'JPY:1234', subject);
        assert.equal(await balance(w.bank, w.alice.id), 'JPY:8766');

        const r = await pollOnce(w.pay.deps, fetch);
        assert.deepEqual(r, { credited: 0, bounced: 1, quarantined: 0, skipped: 0, bouncesSent: 1, bouncesFailed: 0, errors: [] });
        assert.equal(await balance(w.bank, w.alice.id), 'JPY:10000');
        assert.equal(await balance(w.bank, w.payJpy.id), 'JPY:0');
        const suspense = (await accountBalance(w.db, ledgerAccount.suspense('JPY')))!;
        assert.deepEqual([suspense.balance, suspense.pendingIn, suspense.pendingOut], [0n, 0n, 0n]);
        assert.equal(await posted(w.db, ledgerAccount.bank('JPY')), 0n);
        assert.deepEqual(await checkLedger(w.db), []);
        const bounce = await w.db.selectFrom('payment_bounces').selectAll().executeTakeFirstOrThrow();
        assert.deepEqual([bounce.id, bounce.state, bounce.to_account, bounce.amount], [bounceId(w.payJpy.id, 1), 'sent', w.alice.id, 1234n]);
        assert.equal((await w.db.selectFrom('payment_reserves').selectAll().execute()).length, 0);

        // The shopper's bank history shows why the money came back.
        const h = await w.bank.app.inject({ method: 'GET', url: `/v1/accounts/${w.alice.id}/history?direction=incoming&after=1`, headers: bearer(w.alice.token) });
        const back = h.json<{ entries: { subject: string; amount: string }[] }>().entries.at(-1)!;
        assert.equal(back.amount, 'JPY:1234');
        assert.match(back.subject, /^returned: the subject is/);

        // Another round sends nothing twice.
        assert.deepEqual(await pollOnce(w.pay.deps, fetch), { credited: 0, bounced: 0, quarantined: 0, skipped: 0, bouncesSent: 0, bouncesFailed: 0, errors: [] });
        assert.equal(await balance(w.bank, w.alice.id), 'JPY:10000');
      });
    }

    void test('a load into a reserve that already holds another currency is returned', async (ctx) => {
      const w = await world(ctx, t);
      const pub = reserveKey();
      await pay(w.bank, w.aliceEur, w.payEur.id, 'EUR:20.00', pub);
      assert.equal((await pollOnce(w.pay.deps, fetch)).credited, 1);
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:700', pub);
      const r = await pollOnce(w.pay.deps, fetch);
      assert.deepEqual([r.credited, r.bounced, r.bouncesSent, r.errors], [0, 1, 1, []]);
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:10000');
      assert.equal(await posted(w.db, ledgerAccount.reserve(pub)), 2000n);
      assert.equal((await w.db.selectFrom('payment_reserves').select('currency').executeTakeFirstOrThrow()).currency, 'EUR');
      const bounce = await w.db.selectFrom('payment_bounces').selectAll().executeTakeFirstOrThrow();
      assert.equal(bounce.reason, 'the reserve is in EUR, not JPY');
      assert.deepEqual(await checkLedger(w.db), []);
    });

    void test('a bounce the bank refuses for good ends failed and voided; the money stays in suspense', async (ctx) => {
      const w = await world(ctx, t);
      const log = collector();
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:900', 'not a key');
      // The payment server's bank account no longer holds the money (an
      // operator moved it): the bank refuses the return with 409.
      const elsewhere = await open(w.bank, 'pay-1', 'JPY', { kind: 'payment' });
      await pay(w.bank, w.payJpy, elsewhere.id, 'JPY:900', 'sweep');

      const r = await pollOnce(w.pay.deps, fetch, { log });
      assert.deepEqual(r, { credited: 0, bounced: 1, quarantined: 0, skipped: 0, bouncesSent: 0, bouncesFailed: 1, errors: [] });
      const bounce = await w.db.selectFrom('payment_bounces').selectAll().executeTakeFirstOrThrow();
      assert.equal(bounce.state, 'failed');
      assert.match(bounce.last_error!, /^BANK_INSUFFICIENT_FUNDS: /);
      const voided = await w.db.selectFrom('payment_ledger_transfers').select(['flow', 'pending_id']).where('id', '=', `${bounce.id}:void`).executeTakeFirstOrThrow();
      assert.deepEqual(voided, { flow: 'void_pending', pending_id: bounce.id });
      const suspense = (await accountBalance(w.db, ledgerAccount.suspense('JPY')))!;
      assert.deepEqual([suspense.balance, suspense.pendingOut, suspense.available], [900n, 0n, 900n]);
      assert.deepEqual(await checkLedger(w.db), []);
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:9100');
      assert.ok(log.lines.some((l) => l.level === 'error' && l.obj.code === 'BANK_INSUFFICIENT_FUNDS' && l.obj.bounceId === bounce.id));

      // A failed bounce is not tried again.
      const before = await books(w.db);
      assert.equal((await pollOnce(w.pay.deps, fetch)).bouncesFailed, 0);
      assert.deepEqual(await books(w.db), before);
    });

    void test('a bounce the bank cannot be asked about stays held and is sent by a later round', async (ctx) => {
      const w = await world(ctx, t);
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:50', 'nope');
      // History reachable, transfers not (a network failure on the way back).
      const flaky: typeof fetch = (input, init) => (init?.method === 'POST' ? Promise.reject(new Error('connection reset')) : fetch(input, init));
      const r1 = await pollOnce(w.pay.deps, flaky);
      assert.deepEqual([r1.bounced, r1.bouncesSent, r1.bouncesFailed], [1, 0, 0]);
      assert.match(r1.errors[0]!, /connection reset/);
      let bounce = await w.db.selectFrom('payment_bounces').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([bounce.state, bounce.attempts], ['pending', 1]);
      assert.equal((await accountBalance(w.db, ledgerAccount.suspense('JPY')))!.pendingOut, 50n);
      assert.deepEqual(await checkLedger(w.db), []);

      const r2 = await pollOnce(w.pay.deps, fetch);
      assert.deepEqual([r2.bouncesSent, r2.errors], [1, []]);
      bounce = await w.db.selectFrom('payment_bounces').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([bounce.state, bounce.attempts, bounce.last_error], ['sent', 2, null]);
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:10000');
      assert.deepEqual(await checkLedger(w.db), []);
    });

    void test('a bounce sent to the bank but not recorded (crash) is not paid twice', async (ctx) => {
      const w = await world(ctx, t);
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:70', 'nope');
      // The bank pays, but its answer is lost.
      const lost: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (init?.method === 'POST') throw new Error('answer lost');
        return res;
      };
      const r1 = await pollOnce(w.pay.deps, lost);
      assert.equal(r1.bouncesSent, 0);
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:10000');
      const r2 = await pollOnce(w.pay.deps, fetch);
      assert.equal(r2.bouncesSent, 1);
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:10000');
      assert.equal(await balance(w.bank, w.payJpy.id), 'JPY:0');
      assert.deepEqual(await checkLedger(w.db), []);
    });

    void test('concurrent polls over the same entries credit and return each transfer once', async (ctx) => {
      const w = await world(ctx, t);
      const pubs = [reserveKey(), reserveKey(), reserveKey()];
      for (const [i, pub] of pubs.entries()) await pay(w.bank, w.alice, w.payJpy.id, `JPY:${100 * (i + 1)}`, pub);
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:1000', pubs[0]!);
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:11', 'junk-1');
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:22', 'junk-2');
      // PostgreSQL: separate pools, as separate processes would have. SQLite:
      // one store per file in a process (node:sqlite is synchronous).
      const other = t.name === 'postgres' ? (await w.pay.handle.reopen<PaymentDatabase>()).db : w.db;
      const third = t.name === 'postgres' ? (await w.pay.handle.reopen<PaymentDatabase>()).db : w.db;
      const reports = await Promise.all([
        pollOnce(w.pay.deps, fetch),
        pollOnce({ ...w.pay.deps, db: other }, fetch),
        pollOnce({ ...w.pay.deps, db: third }, fetch),
      ]);
      for (const r of reports) assert.deepEqual(r.errors, []);
      const sum = (k: 'credited' | 'bounced' | 'skipped' | 'bouncesSent') => reports.reduce((s, r) => s + r[k], 0);
      assert.equal(sum('credited'), 4);
      assert.equal(sum('bounced'), 2);
      assert.equal(sum('credited') + sum('bounced') + sum('skipped'), 18);
      assert.equal(await posted(w.db, ledgerAccount.reserve(pubs[0]!)), 1100n);
      assert.equal(await posted(w.db, ledgerAccount.reserve(pubs[1]!)), 200n);
      assert.equal(await posted(w.db, ledgerAccount.reserve(pubs[2]!)), 300n);
      assert.equal(await posted(w.db, ledgerAccount.bank('JPY')), -1600n);
      assert.equal((await w.db.selectFrom('payment_bank_incoming').selectAll().execute()).length, 6);
      // Every bounce is sent by the end of the rounds (maybe by several pollers, paid once).
      await pollOnce(w.pay.deps, fetch);
      assert.deepEqual((await w.db.selectFrom('payment_bounces').select('state').execute()).map((b) => b.state), ['sent', 'sent']);
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:8400');
      assert.equal(await balance(w.bank, w.payJpy.id), 'JPY:1600');
      assert.deepEqual(await checkLedger(w.db), []);
    });

    void test('bank unreachable: the round reports an error and changes nothing', async (ctx) => {
      const w = await world(ctx, t);
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:10', reserveKey());
      const before = await books(w.db);
      const down = { ...w.pay.deps, bankLink: { ...w.pay.deps.bankLink!, url: 'http://127.0.0.1:1' } };
      const r = await pollOnce(down, fetch);
      assert.equal(r.credited, 0);
      assert.equal(r.errors.length, 2);
      assert.match(r.errors[0]!, /cannot be reached/);
      assert.deepEqual(await books(w.db), before);
      // A wrong token is an error too, and changes nothing.
      const wrong = { ...w.pay.deps, bankLink: { ...w.pay.deps.bankLink!, token: 'qbh_not-the-token-0123456789' } };
      const r2 = await pollOnce(wrong, fetch);
      assert.match(r2.errors[0]!, /401 HTTP_AUTH_INVALID/);
      assert.deepEqual(await books(w.db), before);
    });

    void test('a bank answer that is not the expected message is an error and changes nothing', async (ctx) => {
      const w = await world(ctx, t);
      const before = await books(w.db);
      const garbage = await pollOnce(w.pay.deps, answer({ entries: 'all of them' }));
      assert.match(garbage.errors[0]!, /not the expected message/);
      assert.deepEqual(await books(w.db), before);
    });

    void test('entries whose amount is not a positive amount in the account currency are quarantined and the cursor moves on', async (ctx) => {
      const w = await world(ctx, t);
      const log = collector();
      const pub = reserveKey();
      const entries = [
        entry(1, 'EUR:5.00', reserveKey()), // a currency this account does not hold
        entry(2, 'JPY:0', 'nothing'), // nothing to book, and no row can hold it
        entry(3, 'JPY:300', pub), // a good load after them is not held up
      ];
      const jpyOnly = { ...w.pay.deps, bankLink: { ...w.pay.deps.bankLink!, accounts: [w.pay.deps.bankLink!.accounts[0]!] } };
      const posts: string[] = [];
      const bank: typeof fetch = async (input, init) => {
        if (init?.method === 'POST') posts.push(String(input));
        return answer({ entries: new URL(String(input)).searchParams.get('after') === '0' ? entries : [], next: 3 })(input, init);
      };
      const r = await pollOnce(jpyOnly, bank, { log });
      assert.deepEqual(r, { credited: 1, bounced: 0, quarantined: 2, skipped: 0, bouncesSent: 0, bouncesFailed: 0, errors: [] });
      assert.deepEqual(posts, [], 'nothing is sent back');
      const cursor = await w.db.selectFrom('payment_bank_cursors').selectAll().where('bank_account', '=', w.payJpy.id).executeTakeFirstOrThrow();
      assert.equal(cursor.last_seq, 3);
      // The EUR entry is on record, with no ledger money; the zero one only in the log.
      const incoming = await w.db.selectFrom('payment_bank_incoming').select(['seq', 'currency', 'amount', 'outcome']).orderBy('seq').execute();
      assert.deepEqual(incoming, [
        { seq: 1, currency: 'EUR', amount: 500n, outcome: 'bounced' },
        { seq: 3, currency: 'JPY', amount: 300n, outcome: 'credited' },
      ]);
      const bounce = await w.db.selectFrom('payment_bounces').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([bounce.seq, bounce.state, bounce.currency, bounce.amount], [1, 'failed', 'EUR', 500n]);
      assert.match(bounce.last_error!, /^quarantined: the amount EUR:5\.00 is not in JPY/);
      assert.deepEqual(
        (await w.db.selectFrom('payment_ledger_transfers').select('id').execute()).map((x) => x.id),
        [loadTransferId(w.payJpy.id, 3)],
      );
      assert.equal(await posted(w.db, ledgerAccount.reserve(pub)), 300n);
      const quarantined = log.lines.filter((l) => l.level === 'error' && l.msg.startsWith('incoming bank entry quarantined'));
      assert.deepEqual(quarantined.map((l) => l.obj.seq), [1, 2]);
      assert.match(String(quarantined[1]!.obj.reason), /JPY:0 is not positive; skipped without a record/);
      assert.deepEqual(failedChecks(await auditPayment(w.db)), []);

      // Read again from the start (a stale cursor): nothing changes, nothing is sent.
      const before = await books(w.db);
      await w.db.updateTable('payment_bank_cursors').set({ last_seq: 0 }).execute();
      const again = await pollOnce(jpyOnly, bank);
      assert.deepEqual([again.credited, again.skipped, again.errors], [0, 2, []]);
      assert.deepEqual(posts, []);
      assert.deepEqual({ ...(await books(w.db)), cursors: '' }, { ...before, cursors: '' });
    });

    void test('a transfer that is itself a return ("returned: …") is kept in suspense as a failed bounce, never sent back', async (ctx) => {
      const w = await world(ctx, t);
      const log = collector();
      // Another payment server returning money we returned to it, say.
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:640', 'returned: the subject is not a reserve public key (32 bytes, base64url)');
      const r = await pollOnce(w.pay.deps, fetch, { log });
      assert.deepEqual(r, { credited: 0, bounced: 0, quarantined: 1, skipped: 0, bouncesSent: 0, bouncesFailed: 0, errors: [] });
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:9360');
      assert.equal(await balance(w.bank, w.payJpy.id), 'JPY:640');
      const bounce = await w.db.selectFrom('payment_bounces').selectAll().executeTakeFirstOrThrow();
      assert.deepEqual([bounce.state, bounce.amount, bounce.to_account, bounce.attempts], ['failed', 640n, w.alice.id, 0]);
      assert.match(bounce.last_error!, /itself a return/);
      const suspense = (await accountBalance(w.db, ledgerAccount.suspense('JPY')))!;
      assert.deepEqual([suspense.balance, suspense.pendingOut], [640n, 0n]);
      assert.ok(log.lines.some((l) => l.level === 'error' && l.obj.seq === 1 && /itself a return/.test(String(l.obj.reason))));
      assert.deepEqual(failedChecks(await auditPayment(w.db)), []);
      // Later rounds leave it alone.
      const before = await books(w.db);
      assert.deepEqual(await pollOnce(w.pay.deps, fetch), { credited: 0, bounced: 0, quarantined: 0, skipped: 0, bouncesSent: 0, bouncesFailed: 0, errors: [] });
      assert.deepEqual(await books(w.db), before);
      assert.equal(await balance(w.bank, w.alice.id), 'JPY:9360');
    });

    void test('a bounce another process gave up while the bank was paying our copy ends sent, paid late; the audit passes', async (ctx) => {
      const w = await world(ctx, t);
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:500', 'not a key');
      const down: typeof fetch = (input, init) => (init?.method === 'POST' ? Promise.resolve(new Response('{}', { status: 503 })) : fetch(input, init));
      assert.deepEqual((await pollOnce(w.pay.deps, down)).bouncesSent, 0);
      const id = bounceId(w.payJpy.id, 1);
      // "Process B", refused for good, voids the hold and marks the bounce
      // failed while the bank carries out "process A"'s copy of the transfer.
      const raced: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (init?.method === 'POST') await giveUp(w.db, id, w.pay.clock.now);
        return res;
      };
      const r = await pollOnce(w.pay.deps, raced);
      assert.deepEqual([r.bouncesSent, r.errors], [1, []]);
      await assertPaidLate(w, id);
    });

    if (t.name === 'postgres') {
      void test('PostgreSQL: the void of another process commits while our post waits on its row; the post runs again and books the late payment', async (ctx) => {
        const w = await world(ctx, t);
        await pay(w.bank, w.alice, w.payJpy.id, 'JPY:500', 'not a key');
        const down: typeof fetch = (input, init) => (init?.method === 'POST' ? Promise.resolve(new Response('{}', { status: 503 })) : fetch(input, init));
        assert.deepEqual((await pollOnce(w.pay.deps, down)).bouncesSent, 0);
        const id = bounceId(w.payJpy.id, 1);
        // "Process B" (its own pool) voids and marks failed, and holds its commit.
        const b = (await w.pay.handle.reopen<PaymentDatabase>()).db;
        let commit!: () => void;
        const gate = new Promise<void>((resolve) => (commit = resolve));
        let pidOfB!: number;
        let voided!: () => void;
        const inside = new Promise<void>((resolve) => (voided = resolve));
        const other = b.transaction().execute(async (trx) => {
          pidOfB = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid;
          await giveUp(trx, id, w.pay.clock.now);
          voided();
          await gate;
        });
        await inside;
        // "Process A": the bank accepts its copy; its post of the hold
        // blocks on B's uncommitted resolution (the unique pending_id).
        let finished = false;
        const round = pollOnce(w.pay.deps, fetch).finally(() => (finished = true));
        while (!finished) {
          const waiting = await sql<{ n: string }>`select count(*) as n from pg_stat_activity where ${pidOfB} = any(pg_blocking_pids(pid))`.execute(w.db);
          if (Number(waiting.rows[0]!.n) > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        commit();
        await other;
        const r = await round;
        assert.deepEqual([r.bouncesSent, r.errors], [1, []]);
        await assertPaidLate(w, id);
      });
    }

    void test('startLoader credits as transfers arrive, backs off while the bank is down, and stops on its signal', async (ctx) => {
      const w = await world(ctx, t);
      const log = collector();
      const stop = new AbortController();
      const running = startLoader(w.pay.deps, { signal: stop.signal, log, waitSeconds: 1, minBackoffMs: 10 });
      const pub = reserveKey();
      await pay(w.bank, w.alice, w.payJpy.id, 'JPY:2500', pub);
      // The reserve long-poll sees the loader's credit.
      const res = await w.pay.app.inject({ method: 'GET', url: `/v1/reserves/${pub}?wait=20&credited=JPY:2500` });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json<{ credited: string }>().credited, 'JPY:2500');
      stop.abort();
      await running;
      assert.ok(log.lines.some((l) => l.msg === 'load credited' && l.obj.seq === 1));
      assert.equal(log.lines.at(-1)!.msg, 'loader stopped');

      const downLog = collector();
      const stopDown = new AbortController();
      const down = { ...w.pay.deps, bankLink: { ...w.pay.deps.bankLink!, url: 'http://127.0.0.1:1' } };
      const failing = startLoader(down, { signal: stopDown.signal, log: downLog, minBackoffMs: 10, maxBackoffMs: 40 });
      while (downLog.lines.filter((l) => l.msg === 'loader round failed').length < 3) await new Promise((r) => setTimeout(r, 10));
      stopDown.abort();
      await failing;
      const pauses = downLog.lines.filter((l) => l.msg === 'loader round failed').map((l) => l.obj.retryInMs);
      assert.deepEqual(pauses.slice(0, 3), [10, 20, 40]);
    });
  });
}
