// The bank over HTTP, in-process, on every dialect: the life of an account,
// idempotent transfers, holder isolation, long polling, statements, and every
// kind of bad request refused with a stable code and nothing changed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLedger } from '../../src/bank/ledger-check.ts';
import { testDatabases } from '../helpers/db.ts';
import { START, balance, bearer, fundAccount, op, open, snapshot, startTestBank, type TestBank } from './harness.ts';

function send(bank: TestBank, token: string, payload: object) {
  return bank.app.inject({ method: 'POST', url: '/v1/transfers', headers: bearer(token), payload });
}

for (const t of testDatabases()) {
  describe(`bank server (${t.name})`, () => {
    test('open → fund → transfer → history → statement', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const alice = await open(bank, 'alice');
      const shop = await open(bank, 'm-shop', 'JPY', { kind: 'merchant' });
      assert.match(alice.id, /^QB\d{14}$/);
      assert.match(alice.token, /^qbh_/);

      bank.clock.now = new Date('2026-03-01T10:00:00.000Z');
      await fundAccount(bank, alice.id, 'JPY:10000', 'fund-1');
      bank.clock.now = new Date('2026-03-01T11:00:00.000Z');
      const tr = await send(bank, alice.token, { transferId: 'order-42', from: alice.id, to: shop.id, amount: 'JPY:4000', subject: 'order 42' });
      assert.equal(tr.statusCode, 201, tr.body);
      assert.deepEqual(tr.json(), {
        transferId: 'order-42',
        from: alice.id,
        to: shop.id,
        amount: 'JPY:4000',
        subject: 'order 42',
        createdAt: '2026-03-01T11:00:00.000Z',
      });
      assert.equal(await balance(bank, alice.id), 'JPY:6000');
      assert.equal(await balance(bank, shop.id), 'JPY:4000');

      const mine = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${alice.id}`, headers: bearer(alice.token) });
      assert.equal(mine.json().balance, 'JPY:6000');
      assert.equal(mine.json().limit, 'JPY:0');

      const hist = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${alice.id}/history`, headers: bearer(alice.token) });
      assert.equal(hist.statusCode, 200, hist.body);
      assert.deepEqual(
        hist.json().entries.map((e: { seq: number; direction: string; amount: string; balanceAfter: string }) => [e.seq, e.direction, e.amount, e.balanceAfter]),
        [
          [1, 'incoming', 'JPY:10000', 'JPY:10000'],
          [2, 'outgoing', 'JPY:4000', 'JPY:6000'],
        ],
      );
      assert.equal(hist.json().next, 2);
      const incoming = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${shop.id}/history?direction=incoming&after=0`, headers: bearer(shop.token) });
      assert.equal(incoming.json().entries.length, 1);
      assert.equal(incoming.json().entries[0].counterparty, alice.id);
      assert.equal(incoming.json().entries[0].subject, 'order 42');

      // The statement from 10:30 sees the funding only in the opening balance.
      const st = await bank.app.inject({
        method: 'GET',
        url: `/v1/accounts/${alice.id}/statement?from=2026-03-01T10:30:00Z&to=2026-03-02T00:00:00Z`,
        headers: bearer(alice.token),
      });
      assert.equal(st.statusCode, 200, st.body);
      const s = st.json();
      assert.equal(s.openingBalance, 'JPY:10000');
      assert.equal(s.closingBalance, 'JPY:6000');
      assert.equal(s.totalDebits, 'JPY:4000');
      assert.equal(s.totalCredits, 'JPY:0');
      assert.equal(s.entries.length, 1);

      // The bank's issuance account went negative by what it put into circulation.
      const all = await bank.app.inject({ method: 'GET', url: '/v1/accounts', headers: op });
      const issuance = all.json().accounts.find((a: { kind: string }) => a.kind === 'bank');
      assert.equal(issuance.balance, '-JPY:10000');
      assert.deepEqual(await checkLedger(bank.deps.db), []);
    });

    test('the same transfer id and body again: the identical answer, money moved once', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      const b = await open(bank, 'bob');
      await fundAccount(bank, a.id, 'JPY:1000');
      const body = { transferId: 't-1', from: a.id, to: b.id, amount: 'JPY:300', subject: 'lunch' };
      const first = await send(bank, a.token, body);
      assert.equal(first.statusCode, 201);
      bank.clock.now = new Date(START.getTime() + 60_000);
      const again = await send(bank, a.token, body);
      assert.equal(again.statusCode, 200);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.equal(again.body, first.body);
      assert.equal(await balance(bank, a.id), 'JPY:700');
      assert.equal(await balance(bank, b.id), 'JPY:300');

      // Same id, different body: 422 and nothing changes.
      const before = await snapshot(bank.deps);
      const other = await send(bank, a.token, { ...body, amount: 'JPY:301' });
      assert.equal(other.statusCode, 422);
      assert.equal(other.json().code, 'BANK_TRANSFER_ID_REUSED');
      const subj = await send(bank, a.token, { ...body, subject: 'dinner' });
      assert.equal(subj.json().code, 'BANK_TRANSFER_ID_REUSED');
      assert.deepEqual(await snapshot(bank.deps), before);
      // Ids are scoped per debited account: bob may use "t-1" too.
      const bobs = await send(bank, b.token, { ...body, from: b.id, to: a.id, amount: 'JPY:100' });
      assert.equal(bobs.statusCode, 201, bobs.body);
      assert.deepEqual(await checkLedger(bank.deps.db), []);
    });

    test('concurrent repeats of one transfer id move the money exactly once', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      const b = await open(bank, 'bob');
      await fundAccount(bank, a.id, 'JPY:1000');
      const body = { transferId: 'dup', from: a.id, to: b.id, amount: 'JPY:100', subject: 'x' };
      const replies = await Promise.all(Array.from({ length: 8 }, () => send(bank, a.token, body)));
      assert.deepEqual(replies.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 200, 200, 200, 201]);
      assert.equal(new Set(replies.map((r) => r.body)).size, 1);
      assert.equal(await balance(bank, a.id), 'JPY:900');
      assert.deepEqual(await checkLedger(bank.deps.db), []);
    });

    test('an overdraft beyond the limit is refused and changes nothing; a granted overdraft is honoured', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      const b = await open(bank, 'bob', 'JPY', { overdraft: 'JPY:500' });
      await fundAccount(bank, a.id, 'JPY:100');
      const before = await snapshot(bank.deps);
      const r = await send(bank, a.token, { transferId: 'big', from: a.id, to: b.id, amount: 'JPY:101', subject: 'too much' });
      assert.equal(r.statusCode, 409);
      assert.equal(r.json().code, 'BANK_INSUFFICIENT_FUNDS');
      assert.deepEqual(await snapshot(bank.deps), before);
      // The id was not consumed by the refusal: it works once there is money.
      assert.equal((await send(bank, a.token, { transferId: 'big', from: a.id, to: b.id, amount: 'JPY:100', subject: 'all' })).statusCode, 201);

      const over = await send(bank, b.token, { transferId: 'o1', from: b.id, to: a.id, amount: 'JPY:600', subject: 'x' });
      assert.equal(over.statusCode, 201, over.body);
      assert.equal(await balance(bank, b.id), '-JPY:500');
      const beyond = await send(bank, b.token, { transferId: 'o2', from: b.id, to: a.id, amount: 'JPY:1', subject: 'x' });
      assert.equal(beyond.json().code, 'BANK_INSUFFICIENT_FUNDS');
      assert.deepEqual(await checkLedger(bank.deps.db), []);
    });

    test('a holder sees and debits only its own accounts; another holder gets the same 404 as a missing account', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      const b = await open(bank, 'bob');
      await fundAccount(bank, a.id, 'JPY:1000');
      const missing = 'QB' + '00' + '000000000000';
      const { accountIdFromBody } = await import('../../src/protocol/messages/bank.ts');
      const unknown = accountIdFromBody('999999999999');
      assert.notEqual(missing, unknown);

      for (const path of ['', '/history', '/statement?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z']) {
        const theirs = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${a.id}${path}`, headers: bearer(b.token) });
        const none = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${unknown}${path}`, headers: bearer(b.token) });
        assert.equal(theirs.statusCode, 404, path);
        assert.deepEqual(theirs.json(), none.json(), `no existence leak on ${path}`);
        assert.equal(theirs.json().code, 'BANK_ACCOUNT_NOT_FOUND');
      }
      const before = await snapshot(bank.deps);
      const steal = await send(bank, b.token, { transferId: 's', from: a.id, to: b.id, amount: 'JPY:1', subject: 'mine now' });
      assert.equal(steal.statusCode, 404);
      assert.equal(steal.json().code, 'BANK_ACCOUNT_NOT_FOUND');
      assert.deepEqual(await snapshot(bank.deps), before);

      const list = await bank.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(b.token) });
      assert.deepEqual(list.json().accounts.map((x: { accountId: string }) => x.accountId), [b.id]);
      // A holder may open more accounts only in its own name, and grant itself no overdraft.
      const foreign = await bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(b.token), payload: { holder: 'alice', currency: 'EUR' } });
      assert.equal(foreign.json().code, 'BANK_HOLDER_MISMATCH');
      const od = await bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(b.token), payload: { currency: 'EUR', overdraft: 'EUR:10.00' } });
      assert.equal(od.json().code, 'BANK_OVERDRAFT_NOT_ALLOWED');
      assert.deepEqual(await snapshot(bank.deps), before);
      const eur = await bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: bearer(b.token), payload: { currency: 'EUR' } });
      assert.equal(eur.statusCode, 201, eur.body);
      assert.equal(eur.json().account.holder, 'bob');
      assert.equal(eur.json().holderToken, undefined);
      // Funding is for the operator only.
      const f = await bank.app.inject({ method: 'POST', url: '/v1/admin/fund', headers: bearer(b.token), payload: { transferId: 'f', to: b.id, amount: 'JPY:1' } });
      assert.equal(f.statusCode, 403);
      assert.equal(f.json().code, 'HTTP_FORBIDDEN');
    });

    test('authentication: none, malformed and unknown tokens are 401; self-service only when configured', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      const before = await snapshot(bank.deps);
      const cases: [Record<string, string>, string][] = [
        [{}, 'HTTP_AUTH_REQUIRED'],
        [{ authorization: 'Basic YWxpY2U6eA==' }, 'HTTP_AUTH_INVALID'],
        [bearer('qbh_not-a-token-of-this-bank-at-all'), 'HTTP_AUTH_INVALID'],
      ];
      for (const [headers, code] of cases) {
        for (const req of [
          { method: 'GET' as const, url: `/v1/accounts/${a.id}` },
          { method: 'GET' as const, url: '/v1/accounts' },
          { method: 'POST' as const, url: '/v1/transfers', payload: { transferId: 'x', from: a.id, to: a.id, amount: 'JPY:1', subject: 's' } },
          { method: 'POST' as const, url: '/v1/accounts', payload: { holder: 'eve', currency: 'JPY' } },
        ]) {
          const r = await bank.app.inject({ ...req, headers });
          assert.equal(r.statusCode, 401, `${req.method} ${req.url}`);
          assert.equal(r.json().code, code);
        }
      }
      assert.deepEqual(await snapshot(bank.deps), before);

      const demo = await startTestBank(t, { selfService: true });
      ctx.after(() => demo.close());
      const self = await demo.app.inject({ method: 'POST', url: '/v1/accounts', payload: { holder: 'carol', currency: 'EUR' } });
      assert.equal(self.statusCode, 201, self.body);
      assert.match(self.json().holderToken, /^qbh_/);
      const mine = await demo.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(self.json().holderToken) });
      assert.equal(mine.json().accounts[0].accountId, self.json().account.accountId);
      const s0 = await snapshot(demo.deps);
      const twice = await demo.app.inject({ method: 'POST', url: '/v1/accounts', payload: { holder: 'carol', currency: 'JPY' } });
      assert.equal(twice.statusCode, 409);
      assert.equal(twice.json().code, 'BANK_HOLDER_EXISTS');
      const od = await demo.app.inject({ method: 'POST', url: '/v1/accounts', payload: { holder: 'dave', currency: 'JPY', overdraft: 'JPY:1' } });
      assert.equal(od.json().code, 'BANK_OVERDRAFT_NOT_ALLOWED');
      const noHolder = await demo.app.inject({ method: 'POST', url: '/v1/accounts', payload: { currency: 'JPY' } });
      assert.equal(noHolder.json().code, 'HTTP_SCHEMA_INVALID');
      assert.deepEqual(await snapshot(demo.deps), s0);
    });

    test('bad input: each refusal has its code and changes nothing', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      const b = await open(bank, 'bob');
      const e = await open(bank, 'bob', 'EUR');
      await fundAccount(bank, a.id, 'JPY:1000');
      const { accountIdFromBody } = await import('../../src/protocol/messages/bank.ts');
      const ok = { transferId: 'bad', from: a.id, to: b.id, amount: 'JPY:10', subject: 's' };
      const typo = a.id.slice(0, 6) + (a.id[6] === '1' ? '2' : '1') + a.id.slice(7);
      const before = await snapshot(bank.deps);
      const h = { ...bearer(a.token) };
      const raw = (payload: string, headers: Record<string, string>) => bank.app.inject({ method: 'POST', url: '/v1/transfers', headers: { ...h, ...headers }, payload });
      const cases: [Promise<{ statusCode: number; json: () => { code: string } }>, number, string][] = [
        [raw('{"transferId":', { 'content-type': 'application/json' }), 400, 'HTTP_JSON_MALFORMED'],
        [raw('{"__proto__":{"x":1}}', { 'content-type': 'application/json' }), 400, 'HTTP_JSON_MALFORMED'],
        [raw(JSON.stringify(ok), { 'content-type': 'text/plain' }), 415, 'HTTP_UNSUPPORTED_MEDIA_TYPE'],
        [raw(JSON.stringify({ ...ok, subject: 'x'.repeat(5000) }), { 'content-type': 'application/json' }), 413, 'HTTP_BODY_TOO_LARGE'],
        [send(bank, a.token, { ...ok, extra: 1 }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, amount: 'JPY:-5' }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, amount: 'JPY:1.5' }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, amount: 'JPY:9007199254740992' }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, amount: 10 }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, to: typo }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, subject: 'a\u202Eb' }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, transferId: 'has space' }), 400, 'HTTP_SCHEMA_INVALID'],
        [send(bank, a.token, { ...ok, amount: 'JPY:0' }), 422, 'BANK_AMOUNT_NOT_POSITIVE'],
        [send(bank, a.token, { ...ok, to: a.id }), 422, 'BANK_SAME_ACCOUNT'],
        [send(bank, a.token, { ...ok, to: e.id }), 422, 'BANK_CURRENCY_MISMATCH'],
        [send(bank, a.token, { ...ok, amount: 'EUR:10.00' }), 422, 'BANK_CURRENCY_MISMATCH'],
        [send(bank, a.token, { ...ok, to: accountIdFromBody('555555555555') }), 404, 'BANK_CREDITOR_NOT_FOUND'],
        [send(bank, a.token, { ...ok, from: accountIdFromBody('555555555555') }), 404, 'BANK_ACCOUNT_NOT_FOUND'],
        [bank.app.inject({ method: 'GET', url: `/v1/accounts/${a.id}/statement?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z`, headers: h }), 422, 'BANK_STATEMENT_RANGE_INVALID'],
        [bank.app.inject({ method: 'GET', url: `/v1/accounts/${a.id}/history?wait=abc`, headers: h }), 400, 'HTTP_SCHEMA_INVALID'],
        [bank.app.inject({ method: 'GET', url: `/v1/accounts/nope/history`, headers: h }), 400, 'HTTP_SCHEMA_INVALID'],
        [bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: op, payload: { holder: 'zed', currency: 'XXX' } }), 400, 'HTTP_SCHEMA_INVALID'],
        [bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: op, payload: { holder: 'Not Valid', currency: 'JPY' } }), 400, 'HTTP_SCHEMA_INVALID'],
        [bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: op, payload: { holder: 'zed', currency: 'JPY', kind: 'bank' } }), 400, 'HTTP_SCHEMA_INVALID'],
        [bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: op, payload: { holder: 'zed', currency: 'JPY', overdraft: 'EUR:1.00' } }), 422, 'BANK_CURRENCY_MISMATCH'],
      ];
      for (const [promise, status, code] of cases) {
        const r = await promise;
        assert.equal(r.statusCode, status, `${code}: ${JSON.stringify(r.json())}`);
        assert.equal(r.json().code, code);
      }
      assert.deepEqual(await snapshot(bank.deps), before);
      assert.deepEqual(await checkLedger(bank.deps.db), []);
    });

    test('long polling: a waiting history request returns the transfer that arrives; an idle one returns empty after the wait', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const shopper = await open(bank, 'alice');
      const pay = await open(bank, 'p-payserver', 'JPY', { kind: 'payment' });
      await fundAccount(bank, shopper.id, 'JPY:5000');

      const started = performance.now();
      const poll = bank.app.inject({ method: 'GET', url: `/v1/accounts/${pay.id}/history?direction=incoming&after=0&wait=30`, headers: bearer(pay.token) });
      let settled = false;
      void poll.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(settled, false, 'the poll waits while nothing has arrived');
      const tr = await send(bank, shopper.token, { transferId: 'load-1', from: shopper.id, to: pay.id, amount: 'JPY:3000', subject: 'reserve-pub-key-abc' });
      assert.equal(tr.statusCode, 201);
      const res = await poll;
      assert.equal(res.statusCode, 200);
      // Generous bound: it only has to tell "when the transfer arrived" from "after the 30 s wait".
      assert.ok(performance.now() - started < 20_000, 'answered when the transfer arrived, not at the end of the wait');
      assert.deepEqual(res.json().entries.map((x: { subject: string; amount: string }) => [x.subject, x.amount]), [['reserve-pub-key-abc', 'JPY:3000']]);
      assert.equal(res.json().next, 1);

      const t0 = performance.now();
      const idle = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${pay.id}/history?direction=incoming&after=1&wait=1`, headers: bearer(pay.token) });
      const waited = performance.now() - t0;
      assert.deepEqual(idle.json(), { entries: [], next: 1 });
      assert.ok(waited >= 900, `waited ${waited} ms`);

      // The server caps the wait (maxWaitSeconds).
      const capped = await startTestBank(t, { maxWaitSeconds: 0 });
      ctx.after(() => capped.close());
      const c = await open(capped, 'solo');
      const t1 = performance.now();
      const quick = await capped.app.inject({ method: 'GET', url: `/v1/accounts/${c.id}/history?wait=600`, headers: bearer(c.token) });
      assert.equal(quick.statusCode, 200);
      // Generous bound: it only has to tell "capped to 0 s" from "the 600 s asked for".
      assert.ok(performance.now() - t1 < 10_000);
    });

    test('many concurrent transfers from one account: exactly as many succeed as the balance covers', async (ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const a = await open(bank, 'alice');
      const sinks = [await open(bank, 'bob'), await open(bank, 'carol'), await open(bank, 'dave')];
      await fundAccount(bank, a.id, 'JPY:1000');
      const replies = await Promise.all(
        Array.from({ length: 30 }, (_, i) => send(bank, a.token, { transferId: `c-${i}`, from: a.id, to: sinks[i % 3]!.id, amount: 'JPY:70', subject: `#${i}` })),
      );
      const ok = replies.filter((r) => r.statusCode === 201).length;
      const refused = replies.filter((r) => r.statusCode === 409 && r.json().code === 'BANK_INSUFFICIENT_FUNDS').length;
      assert.equal(ok, 14); // floor(1000 / 70)
      assert.equal(refused, 16);
      assert.equal(await balance(bank, a.id), 'JPY:20');
      assert.deepEqual(await checkLedger(bank.deps.db), []);
      // Sinks sending back to each other and to alice at the same time (A→B and B→A races).
      const back = await Promise.all(
        sinks.flatMap((s, i) => [
          send(bank, s.token, { transferId: `b-${i}`, from: s.id, to: a.id, amount: 'JPY:10', subject: 'back' }),
          send(bank, s.token, { transferId: `x-${i}`, from: s.id, to: sinks[(i + 1) % 3]!.id, amount: 'JPY:10', subject: 'ring' }),
        ]),
      );
      assert.ok(back.every((r) => r.statusCode === 201));
      assert.deepEqual(await checkLedger(bank.deps.db), []);
    });
  });
}
