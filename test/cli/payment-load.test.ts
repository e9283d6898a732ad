// Loading through real processes: `bank serve`, `payment link-bank` (refused
// for a wrong token, a stranger's account, a currency the server does not
// issue) and `payment serve` with the link, which credits a shopper's bank
// transfer to the reserve named in its subject and sends anything else back.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { BIN, PASS, cli, initCaDir, issue, tempDir } from './helpers.ts';

type Account = { id: string; token: string };

/** Spawns `quittance …` as a server and resolves with the URL of its ready line. */
function startServer(args: string[], party: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, QUITTANCE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const msg = JSON.parse(line) as { event?: string; party?: string; url?: string };
      if (msg.event === 'ready' && msg.party === party && msg.url) resolve({ child, url: msg.url, lines });
    });
    child.once('exit', (code) => reject(new Error(`${party} serve exited early (${code})`)));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  // Generous: this only has to tell "happened" from "never happens".
  const deadline = performance.now() + 30_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('payment link-bank and serve with a bank link (real processes)', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'payment');
  let bank: { child: ChildProcess; url: string };
  let operator = '';
  let pay: Account;
  let payEur: Account;
  let alice: Account;

  const openAccount = async (holder: string, currency: string, kind: string): Promise<Account> => {
    const r = await cli(['bank', 'open-account', '--url', bank.url, '--operator-token', operator, '--holder', holder, '--currency', currency, '--kind', kind, '--json']);
    assert.equal(r.code, 0, r.err);
    const body = JSON.parse(r.out) as { account: { accountId: string }; holderToken?: string };
    return { id: body.account.accountId, token: body.holderToken ?? '' };
  };
  const transfer = async (from: Account, to: string, amount: string, subject: string) => {
    const r = await cli(['bank', 'transfer', '--url', bank.url, '--token', from.token, '--from', from.id, '--to', to, '--amount', amount, '--subject', subject]);
    assert.equal(r.code, 0, r.err);
  };
  const bankBalance = async (a: Account) => {
    const r = await cli(['bank', 'balance', a.id, '--url', bank.url, '--token', a.token, '--json']);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as { balance: string }).balance;
  };

  before(async () => {
    const init = await cli(['bank', 'init', '--data', join(tmp.dir, 'bank')]);
    assert.equal(init.code, 0, init.err);
    operator = /operator token \(shown once, keep it secret\): (\S+)/.exec(init.out)![1]!;
    bank = await startServer(['bank', 'serve', '--data', join(tmp.dir, 'bank'), '--port', '0'], 'bank', {});

    const ca = join(tmp.dir, 'ca');
    await initCaDir(ca);
    const cert = join(tmp.dir, 'pay-cert');
    const { partyId } = await issue(ca, 'payment', 'Quittance Pay', cert);
    const r = await cli(['payment', 'init', '--data', data, '--cert', join(cert, 'chain.pem'), '--key', join(cert, 'key.pem'), '--max-value', 'JPY:4']);
    assert.equal(r.code, 0, r.err);

    pay = await openAccount(partyId, 'JPY', 'payment');
    payEur = { ...(await openAccount(partyId, 'EUR', 'payment')), token: pay.token };
    alice = await openAccount('alice', 'JPY', 'shopper');
    const f = await cli(['bank', 'fund', '--url', bank.url, '--operator-token', operator, '--to', alice.id, '--amount', 'JPY:10000']);
    assert.equal(f.code, 0, f.err);
  });

  after(() => {
    // The bank may hold the payment server's last long poll open; no need to wait for it.
    if (bank?.child.exitCode === null) bank.child.kill('SIGKILL');
    tmp.remove();
  });

  test('link-bank refuses a wrong token, a stranger\'s account, a currency not issued, and writes nothing', async () => {
    const tokenFile = join(tmp.dir, 'wrong-token');
    writeFileSync(tokenFile, 'qbh_this-is-not-the-token-0123456789\n');
    const wrongToken = await cli(['payment', 'link-bank', '--data', data, '--bank', bank.url, '--account', pay.id, '--token-file', tokenFile], {});
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.err, /^PAY_BANK_LINK_INVALID: the bank refused account QB\d+: HTTP_AUTH_INVALID/);

    const stranger = await cli(['payment', 'link-bank', '--data', data, '--bank', bank.url, '--account', alice.id, '--json'], { QUITTANCE_BANK_TOKEN: pay.token });
    assert.equal(stranger.code, 1);
    const body = JSON.parse(stranger.out) as { ok: boolean; code: string; message: string };
    assert.equal(body.code, 'PAY_BANK_LINK_INVALID');
    assert.match(body.message, /BANK_ACCOUNT_NOT_FOUND/);

    const eur = await cli(['payment', 'link-bank', '--data', data, '--bank', bank.url, '--account', pay.id, '--account', payEur.id], { QUITTANCE_BANK_TOKEN: pay.token });
    assert.equal(eur.code, 1);
    assert.match(eur.err, /^PAY_BANK_LINK_INVALID: account QB\d+ is in EUR, which this payment server does not issue/);

    const down = await cli(['payment', 'link-bank', '--data', data, '--bank', 'http://127.0.0.1:1', '--account', pay.id], { QUITTANCE_BANK_TOKEN: pay.token });
    assert.equal(down.code, 1);
    assert.match(down.err, /^PAY_BANK_LINK_INVALID: the bank at http:\/\/127\.0\.0\.1:1 cannot be reached/);

    const noToken = await cli(['payment', 'link-bank', '--data', data, '--bank', bank.url, '--account', pay.id], {});
    assert.equal(noToken.code, 2);
    assert.match(noToken.err, /--token-file FILE or QUITTANCE_BANK_TOKEN/);
    assert.equal(existsSync(join(data, 'bank-link.json')), false);
  });

  test('link-bank: the bank confirms the account; bank-link.json is written 0600', async () => {
    const tokenFile = join(tmp.dir, 'pay-token');
    writeFileSync(tokenFile, `${pay.token}\n`);
    const r = await cli(['payment', 'link-bank', '--data', data, '--bank', `${bank.url}/`, '--account', pay.id, '--token-file', tokenFile, '--json'], {});
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { ok: boolean; bank: string; accounts: unknown[] };
    assert.deepEqual(out.accounts, [{ currency: 'JPY', accountId: pay.id }]);
    assert.equal(out.bank, bank.url);
    assert.doesNotMatch(r.out, new RegExp(pay.token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const path = join(data, 'bank-link.json');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { url: bank.url, token: pay.token, accounts: [{ currency: 'JPY', accountId: pay.id }] });
  });

  test('serve with the link: the key list and GET /v1/loading name the account; a load is credited, a stray transfer returned', async () => {
    const server = await startServer(['payment', 'serve', '--data', data, '--port', '0'], 'payment', { QUITTANCE_PASSPHRASE: PASS });
    try {
      const loading = await fetch(`${server.url}/v1/loading`);
      assert.deepEqual(await loading.json(), { accounts: [{ currency: 'JPY', bankAccount: pay.id }] });
      const jws = (await (await fetch(`${server.url}/v1/keys`)).json()) as { payload: string };
      assert.deepEqual((JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as { loading: unknown }).loading, [{ currency: 'JPY', bankAccount: pay.id }]);

      const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
      await transfer(alice, pay.id, 'JPY:3000', pub);
      await transfer(alice, pay.id, 'JPY:444', 'for my order');
      const res = await fetch(`${server.url}/v1/reserves/${pub}?wait=25&credited=JPY:3000`);
      assert.equal(res.status, 200);
      const view = (await res.json()) as { credited: string; balance: string; currency: string };
      assert.deepEqual([view.currency, view.credited, view.balance], ['JPY', 'JPY:3000', 'JPY:3000']);
      // The stray JPY:444 comes back.
      await until('the stray transfer to come back', async () => ((await bankBalance(alice)) === 'JPY:7000' ? true : undefined));
      assert.equal(await bankBalance(pay), 'JPY:3000');
      assert.ok(server.lines.some((l) => /names no usable reserve/.test(l)), 'the bounce is logged');
    } finally {
      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      server.child.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  });

  test('a damaged bank-link.json stops the server from opening, without echoing the token', async () => {
    writeFileSync(join(data, 'bank-link.json'), JSON.stringify({ url: 'ftp://bank', token: 'qbh_secret-token-value-0123456789', accounts: [] }));
    const r = await cli(['payment', 'rotate', '--data', data]);
    assert.equal(r.code, 1);
    assert.match(r.err, /invalid \S+bank-link\.json: url: .*; accounts: /);
    assert.doesNotMatch(r.err, /secret-token/);
  });
});
