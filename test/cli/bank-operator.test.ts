// `quittance bank accounts` and `bank statement` (src/cli/commands/bank/operator.ts):
// the CLI twins of the routes the bank console reads, against a real bank on
// an ephemeral port — the same data as the routes, refusals with their codes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accounts, statement } from '../../src/cli/commands/bank/operator.ts';
import type { Command } from '../../src/cli/command.ts';
import { UsageError } from '../../src/cli/command.ts';
import { fundAccount, op, open, OPERATOR_TOKEN, startTestBank } from '../bank/harness.ts';
import { testDatabases } from '../helpers/db.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

async function run(c: Command, values: Record<string, unknown>, positionals: string[] = []) {
  let out = '';
  let err = '';
  const io = { out: (s: string) => void (out += s), err: (s: string) => void (err += s), env: {}, stopSignal: new Promise<void>(() => {}) };
  const code = await c.run({ values, positionals }, io);
  return { code, out, err };
}

for (const t of testDatabases()) {
  void describe(`bank accounts / statement (${t.name})`, () => {
    void test('print what GET /v1/accounts and the statement route answer; a holder sees its own; bad input is refused', async (ctx: Ctx) => {
      const bank = await startTestBank(t);
      ctx.after(() => bank.close());
      const url = await bank.app.listen({ port: 0, host: '127.0.0.1' });
      const alice = await open(bank, 'alice');
      const bob = await open(bank, 'bob');
      await fundAccount(bank, alice.id, 'JPY:700');

      const all = await run(accounts, { url, 'operator-token': OPERATOR_TOKEN, json: true });
      assert.equal(all.code, 0, all.err);
      const route = await bank.app.inject({ method: 'GET', url: '/v1/accounts', headers: op });
      assert.deepEqual(JSON.parse(all.out), route.json());
      const ids = (JSON.parse(all.out) as { accounts: { accountId: string }[] }).accounts.map((a) => a.accountId);
      assert.ok(ids.includes(alice.id) && ids.includes(bob.id));

      const own = await run(accounts, { url, token: alice.token, json: true });
      assert.deepEqual((JSON.parse(own.out) as { accounts: { accountId: string }[] }).accounts.map((a) => a.accountId), [alice.id]);
      const text = await run(accounts, { url, 'operator-token': OPERATOR_TOKEN, holder: 'alice' });
      assert.match(text.out, new RegExp(`^${alice.id}\\s+alice\\s+shopper\\s+JPY:700`, 'm'));
      assert.equal(text.out.trim().split('\n').length, 1);

      const wrong = await run(accounts, { url, 'operator-token': 'qt_not-the-operator-token-000000' });
      assert.equal(wrong.code, 1);
      assert.match(wrong.err, /^HTTP_AUTH_INVALID: /);

      const from = '2000-01-01T00:00:00Z';
      const to = '2100-01-01T00:00:00Z';
      const st = await run(statement, { url, 'operator-token': OPERATOR_TOKEN, from, to, json: true }, [alice.id]);
      assert.equal(st.code, 0, st.err);
      const stRoute = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${alice.id}/statement?from=${from}&to=${to}`, headers: op });
      assert.deepEqual(JSON.parse(st.out), stRoute.json());
      const stText = await run(statement, { url, 'operator-token': OPERATOR_TOKEN, from, to }, [alice.id]);
      assert.match(stText.out, /opening balance JPY:0\n1\t.*\t\+JPY:700\t/);
      assert.match(stText.out, /closing balance JPY:700\n$/);
      // Another holder's account is "not found", exactly like a missing one.
      const other = await run(statement, { url, token: bob.token, from, to }, [alice.id]);
      assert.equal(other.code, 1);
      assert.match(other.err, /^BANK_ACCOUNT_NOT_FOUND: /);
      const badTime = await run(statement, { url, 'operator-token': OPERATOR_TOKEN, from: 'yesterday', to }, [alice.id]);
      assert.match(badTime.err, /^HTTP_SCHEMA_INVALID: /);
      await assert.rejects(run(statement, { url, 'operator-token': OPERATOR_TOKEN, from, to }, []), UsageError);
    });
  });
}
