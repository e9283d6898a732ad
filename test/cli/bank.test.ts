// `quittance bank …` end to end: init, serve as a real process on an ephemeral
// port (announced by its ready line), then open accounts, fund, transfer and
// repeat a transfer through the CLI's HTTP client commands.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { BIN, cli, tempDir } from './helpers.ts';

describe('bank init / serve / open-account / transfer (real process)', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'bank');
  let operator = '';
  let child: ReturnType<typeof spawn>;
  let url = '';

  before(async () => {
    const init = await cli(['bank', 'init', '--data', data]);
    assert.equal(init.code, 0, init.err);
    const m = /operator token \(shown once, keep it secret\): (\S+)/.exec(init.out);
    assert.ok(m, init.out);
    operator = m[1]!;
    child = spawn(process.execPath, [BIN, 'bank', 'serve', '--data', data, '--port', '0'], {
      env: { PATH: process.env.PATH, QUITTANCE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: child.stdout! });
    url = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as { event?: string; party?: string; url?: string };
        if (msg.event === 'ready' && msg.party === 'bank' && msg.url) resolve(msg.url);
      });
      child.once('exit', (code) => reject(new Error(`bank serve exited early (${code})`)));
    });
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    tmp.remove();
  });

  test('init refuses to overwrite an existing bank', async () => {
    const again = await cli(['bank', 'init', '--data', data]);
    assert.equal(again.code, 1);
    assert.match(again.err, /already holds a bank/);
  });

  test('open accounts, fund, transfer, repeat safely, read balance and history', async () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const a = await cli(['bank', 'open-account', '--url', url, '--operator-token', operator, '--holder', 'alice', '--currency', 'JPY', '--json']);
    assert.equal(a.code, 0, a.err);
    const alice = JSON.parse(a.out) as { account: { accountId: string }; holderToken: string };
    const s = await cli(['bank', 'open-account', '--url', url, '--operator-token', operator, '--holder', 'm-shop', '--currency', 'JPY', '--kind', 'merchant']);
    assert.equal(s.code, 0, s.err);
    const shopId = /account (QB\d{14}) \(JPY\)/.exec(s.out)?.[1];
    const shopToken = /holder token \(shown once, keep it secret\): (\S+)/.exec(s.out)?.[1];
    assert.ok(shopId && shopToken, s.out);

    // Without a token the bank (not in self-service mode) refuses.
    const anon = await cli(['bank', 'open-account', '--url', url, '--holder', 'eve', '--currency', 'JPY']);
    assert.equal(anon.code, 1);
    assert.match(anon.err, /^HTTP_AUTH_REQUIRED: /);

    const f = await cli(['bank', 'fund', '--url', url, '--operator-token', operator, '--to', alice.account.accountId, '--amount', 'JPY:10000']);
    assert.equal(f.code, 0, f.err);

    const args = ['bank', 'transfer', '--url', url, '--token', alice.holderToken, '--from', alice.account.accountId, '--to', shopId, '--amount', 'JPY:4000', '--subject', 'order 42', '--id', 'order-42'];
    const t1 = await cli([...args, '--json']);
    assert.equal(t1.code, 0, t1.err);
    const t2 = await cli([...args, '--json']);
    assert.equal(t2.code, 0, t2.err);
    assert.deepEqual(JSON.parse(t2.out), JSON.parse(t1.out));
    const t3 = await cli(args);
    assert.match(t3.out, /already done earlier; not repeated/);

    const reused = await cli(['bank', 'transfer', '--url', url, '--token', alice.holderToken, '--from', alice.account.accountId, '--to', shopId, '--amount', 'JPY:1', '--subject', 'other', '--id', 'order-42']);
    assert.equal(reused.code, 1);
    assert.match(reused.err, /^BANK_TRANSFER_ID_REUSED: /);
    const over = await cli(['bank', 'transfer', '--url', url, '--token', alice.holderToken, '--from', alice.account.accountId, '--to', shopId, '--amount', 'JPY:6001', '--subject', 'too much']);
    assert.equal(over.code, 1);
    assert.match(over.err, /^BANK_INSUFFICIENT_FUNDS: /);

    const bal = await cli(['bank', 'balance', alice.account.accountId, '--url', url, '--token', alice.holderToken, '--json']);
    assert.equal(bal.code, 0, bal.err);
    assert.equal((JSON.parse(bal.out) as { balance: string }).balance, 'JPY:6000');
    // The shop cannot read alice's account.
    const peek = await cli(['bank', 'balance', alice.account.accountId, '--url', url, '--token', shopToken]);
    assert.equal(peek.code, 1);
    assert.match(peek.err, /^BANK_ACCOUNT_NOT_FOUND: /);

    const h = await cli(['bank', 'history', shopId, '--url', url, '--token', shopToken, '--direction', 'incoming', '--wait', '1']);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /^1\t\S+\t\+JPY:4000\tQB\d{14}\tJPY:4000\torder 42\n/);
    assert.match(h.out, /next cursor: 1\n$/);
  });

  test('usage errors exit 2', async () => {
    const r = await cli(['bank', 'transfer', '--url', url, '--from', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--token \(or --operator-token\) is required/);
  });

  test('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
