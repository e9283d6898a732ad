// `quittance demo` as a real process: it makes the marketplace on loopback and
// prints one ready line; a wallet driven through the CLI registers
// (auto-approved), loads from the demo shopper's bank account and buys,
// identified and anonymous, with coins and from its purse (mode account), and
// the evidence of each purchase verifies offline; SIGTERM stops it with exit 0; a second run on the
// same directory reuses everything. A port in use stops it before it writes anything.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { BIN, MERCHANT_NAME, PASS, cli, spawnBin, tempDir } from './helpers.ts';

type Ready = {
  ready: true;
  urls: { ca: string; bank: string; payment: string; merchant: string };
  wallet: string;
  storefront: string;
  dashboard: string;
  ca_cert: string;
  shopper: { bankAccount: string; tokenFile: string; wallet: string };
};
type Demo = { child: ChildProcess; ready: Ready; stderr: () => string };

/** Starts `quittance demo` and resolves with its ready line; rejects with its stderr if it exits first. */
function startDemo(data: string, basePort: number): Promise<Demo> {
  const child = spawn(process.execPath, [BIN, 'demo', '--data', data, '--base-port', String(basePort)], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (t: string) => {
    err += t;
  });
  const lines = createInterface({ input: child.stdout! });
  return new Promise<Demo>((resolve, reject) => {
    lines.once('line', (line) => resolve({ child, ready: JSON.parse(line) as Ready, stderr: () => err }));
    child.once('exit', (code) => reject(Object.assign(new Error(`demo exited early (${code}): ${err}`), { stderr: err })));
  });
}

function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const randomBase = () => 20_000 + Math.floor(Math.random() * 20_000);
const pick = (r: { state: string; amount: string }) => ({ state: r.state, amount: r.amount });

describe('quittance demo (real process)', () => {
  const tmp = tempDir('quittance-demo-');
  const wallet = join(tmp.dir, 'wallet');
  let data = '';
  let basePort = 0;
  let demo: Demo;

  before(async () => {
    // Another process may hold one of four random ports: then try others, in a fresh directory.
    for (let attempt = 1; ; attempt++) {
      data = join(tmp.dir, `demo-${attempt}`);
      basePort = randomBase();
      try {
        demo = await startDemo(data, basePort);
        return;
      } catch (e) {
        if (attempt >= 5 || !/CLI_PORT_IN_USE/.test((e as { stderr?: string }).stderr ?? '')) throw e;
      }
    }
  });

  after(() => {
    if (demo?.child.exitCode === null) demo.child.kill('SIGKILL');
    tmp.remove();
  });

  const walletBalance = async () => (JSON.parse((await cli(['wallet', 'balance', '--data', wallet, '--json'], {})).out) as { balances: { amount: string }[] }).balances[0]!.amount;

  test('the ready line names every party, the CA certificate and the shopper; the guide says it is a demo', () => {
    const { ready } = demo;
    assert.equal(ready.ready, true);
    assert.deepEqual(ready.urls, {
      ca: `http://127.0.0.1:${basePort}`,
      bank: `http://127.0.0.1:${basePort + 1}`,
      payment: `http://127.0.0.1:${basePort + 2}`,
      merchant: `http://127.0.0.1:${basePort + 3}`,
    });
    assert.equal(ready.ca_cert, join(data, 'ca', 'ca-cert.pem'));
    assert.match(readFileSync(ready.ca_cert, 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    assert.match(ready.shopper.bankAccount, /^QB\d{14}$/);
    assert.equal(ready.shopper.tokenFile, join(data, 'shopper-token'));
    // The demo's secrets are the owner's only.
    for (const f of [join(data, 'demo.json'), ready.shopper.tokenFile]) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    assert.match(demo.stderr(), /NOT FOR REAL MONEY/);
    assert.match(demo.stderr(), new RegExp(`wallet load .*\\n.*--account ${ready.shopper.bankAccount}`));
    assert.match(demo.stderr(), new RegExp(MERCHANT_NAME));
  });

  test('the ready line gains the wallet page (with its session token), the storefront and the dashboard; the demo wallet is registered and loaded', async () => {
    const { ready } = demo;
    const m = new RegExp(`^http://127\\.0\\.0\\.1:${basePort + 4}/#token=([A-Za-z0-9_-]{43})$`).exec(ready.wallet);
    assert.ok(m, ready.wallet);
    assert.equal(ready.storefront, `http://127.0.0.1:${basePort + 3}/shop/`);
    assert.equal(ready.dashboard, `http://127.0.0.1:${basePort + 3}/admin/`);
    assert.equal(ready.shopper.wallet, join(data, 'wallet'));
    // The guide names them, and the shop's operator token for the dashboard.
    const file = JSON.parse(readFileSync(join(data, 'demo.json'), 'utf8')) as { operatorTokens: { merchant: string } };
    assert.ok(demo.stderr().includes(ready.wallet));
    assert.ok(demo.stderr().includes(ready.storefront));
    assert.ok(demo.stderr().includes(`operator token ${file.operatorTokens.merchant}`));

    // The wallet daemon answers with the token only, and its wallet is certified and holds the demo load.
    const api = (path: string, token?: string) => fetch(new URL(`/api/${path}`, ready.wallet), token ? { headers: { authorization: `Bearer ${token}` } } : {});
    assert.equal((await api('status')).status, 401);
    const status = (await (await api('status', m[1])).json()) as { identity: { status: string; displayName: string }; certificate: { state: string } };
    assert.deepEqual([status.identity.status, status.identity.displayName, status.certificate.state], ['approved', 'Hanako', 'valid']);
    const balance = (await (await api('balance', m[1])).json()) as { balances: { amount: string }[] };
    assert.deepEqual(balance.balances.map((b) => b.amount), ['JPY:20000']);
    // The storefront tells the page where that wallet is.
    const config = (await (await fetch(new URL('config.json', ready.storefront))).json()) as { walletUrl: string };
    assert.equal(config.walletUrl, `http://127.0.0.1:${basePort + 4}/`);
  });

  test('a wallet registers (auto-approved), loads JPY:10000 from the demo account and buys, identified and anonymous', async () => {
    const { urls, shopper } = demo.ready;
    assert.equal((await cli(['wallet', 'init', '--data', wallet])).code, 0);
    const reg = await cli(['wallet', 'register', '--data', wallet, '--ca', urls.ca, '--ca-cert', demo.ready.ca_cert, '--name', 'Hanako']);
    assert.equal(reg.code, 0, reg.err);
    assert.match(reg.out, /registered as "Hanako"/);

    const token = readFileSync(shopper.tokenFile, 'utf8').trim();
    const load = await cli(['wallet', 'load', '--data', wallet, '--bank', urls.bank, '--payment', urls.payment, '--account', shopper.bankAccount, '--amount', 'JPY:10000'], {
      QUITTANCE_PASSPHRASE: PASS,
      QUITTANCE_BANK_TOKEN: token,
    });
    assert.equal(load.code, 0, load.err);
    assert.equal(await walletBalance(), 'JPY:10000');

    const buy = await cli(['wallet', 'buy', '--data', wallet, '--merchant', urls.merchant, '--item', 'ARTICLE A:1', '--item', 'ARTICLE C:2', '--yes', '--json']);
    assert.equal(buy.code, 0, buy.err);
    assert.equal((JSON.parse(buy.out) as { state: string }).state, 'COMPLETED');
    const anon = await cli(['wallet', 'buy', '--data', wallet, '--merchant', urls.merchant, '--item', 'ARTICLE B:1', '--anonymous', '--yes', '--json']);
    assert.equal(anon.code, 0, anon.err);
    assert.equal((JSON.parse(anon.out) as { state: string }).state, 'COMPLETED');
    // 1,000 + 2 × 1,500, then 2,000.
    assert.equal(await walletBalance(), 'JPY:4000');

    const bank = await cli(['bank', 'balance', shopper.bankAccount, '--url', urls.bank, '--token', token, '--json'], {});
    // JPY:100000 − the demo wallet's JPY:20000 − JPY:10000.
    assert.equal((JSON.parse(bank.out) as { balance: string }).balance, 'JPY:70000');
    const audit = await cli(['audit', '--data', join(data, 'payment')], {});
    assert.equal(audit.code, 0, audit.out + audit.err);
  });

  test('mode account: the purse is loaded from the demo account and pays an identified purchase; the exported evidence of each purchase verifies offline', async () => {
    const { urls, shopper } = demo.ready;
    const token = readFileSync(shopper.tokenFile, 'utf8').trim();
    const load = await cli(['wallet', 'load', '--data', wallet, '--bank', urls.bank, '--payment', urls.payment, '--account', shopper.bankAccount, '--amount', 'JPY:5000', '--into', 'purse'], {
      QUITTANCE_PASSPHRASE: PASS,
      QUITTANCE_BANK_TOKEN: token,
    });
    assert.equal(load.code, 0, load.err);
    assert.match(load.out, /loaded JPY:5000 into your purse/);

    const buy = await cli(['wallet', 'buy', '--data', wallet, '--merchant', urls.merchant, '--item', 'ARTICLE A:1', '--item', 'ARTICLE C:2', '--mode', 'account', '--yes', '--json']);
    assert.equal(buy.code, 0, buy.err);
    const bought = JSON.parse(buy.out) as { state: string; transactionId: string; receipt: { mode: string; amountReceived: string } };
    assert.deepEqual([bought.state, bought.receipt.mode, bought.receipt.amountReceived], ['COMPLETED', 'account', 'JPY:4000']);
    // The coins were not touched; the purse paid.
    assert.equal(await walletBalance(), 'JPY:4000');
    const balance = JSON.parse((await cli(['wallet', 'balance', '--data', wallet, '--json'], {})).out) as { purses: { balance: string; paid: string }[] };
    assert.deepEqual(balance.purses.map((p) => [p.balance, p.paid]), [['JPY:1000', 'JPY:4000']]);

    // Every purchase so far (two with coins, identified and anonymous, one from the purse) proves itself offline.
    const history = JSON.parse((await cli(['wallet', 'history', '--data', wallet, '--json'], {})).out) as { purchases: { transactionId: string; state: string }[] };
    assert.equal(history.purchases.length, 3);
    for (const p of history.purchases) {
      assert.equal(p.state, 'COMPLETED');
      const bundle = join(tmp.dir, `bundle-${p.transactionId}.json`);
      const exported = await cli(['wallet', 'export', p.transactionId, '--data', wallet, '--out', bundle], {});
      assert.equal(exported.code, 0, exported.err);
      const verified = await cli(['verify', bundle, '--ca', demo.ready.ca_cert], {});
      assert.equal(verified.code, 0, verified.err);
      assert.match(verified.out, new RegExp(`^PROVEN: transaction ${p.transactionId}, JPY:\\d+ \\((ecash|account)\\)$`, 'm'));
    }
    const bank = await cli(['bank', 'balance', shopper.bankAccount, '--url', urls.bank, '--token', token, '--json'], {});
    assert.equal((JSON.parse(bank.out) as { balance: string }).balance, 'JPY:65000');
    const audit = await cli(['audit', '--data', join(data, 'payment')], {});
    assert.equal(audit.code, 0, audit.out + audit.err);
    assert.match(audit.out, /ok\s+purses/);
  });

  test('refunds: the identified purchase in part, then the rest, and the purse purchase in full; money back, the evidence with refunds verifies; settled, the shop\'s bank account holds the rest; the books agree', async () => {
    const history = JSON.parse((await cli(['wallet', 'history', '--data', wallet, '--json'], {})).out) as { purchases: { transactionId: string; mode: string }[] };
    const [coinsTx, , purseTx] = history.purchases.map((p) => p.transactionId);
    const part = await cli(['wallet', 'refund', coinsTx!, '--data', wallet, '--amount', 'JPY:1000', '--reason', 'ARTICLE A returned', '--yes', '--json']);
    assert.equal(part.code, 0, part.err);
    assert.deepEqual(pick(JSON.parse(part.out)), { state: 'COMPLETED', amount: 'JPY:1000' });
    const rest = await cli(['wallet', 'refund', coinsTx!, '--data', wallet, '--reason', 'the rest', '--yes', '--json']);
    assert.equal(rest.code, 0, rest.err);
    assert.deepEqual(pick(JSON.parse(rest.out)), { state: 'COMPLETED', amount: 'JPY:3000' });
    const more = await cli(['wallet', 'refund', coinsTx!, '--data', wallet, '--amount', 'JPY:1', '--yes']);
    assert.equal(more.code, 1);
    assert.match(more.err, /^WALLET_REFUND_TOO_MUCH: /);
    const purse = await cli(['wallet', 'refund', purseTx!, '--data', wallet, '--yes', '--json']);
    assert.equal(purse.code, 0, purse.err);
    // 4,000 back as coins, 4,000 back into the purse.
    assert.equal(await walletBalance(), 'JPY:8000');
    const balance = JSON.parse((await cli(['wallet', 'balance', '--data', wallet, '--json'], {})).out) as { purses: { balance: string }[] };
    assert.equal(balance.purses[0]!.balance, 'JPY:5000');

    const bundle = join(tmp.dir, 'refunded.json');
    assert.equal((await cli(['wallet', 'export', coinsTx!, '--data', wallet, '--out', bundle], {})).code, 0);
    const verified = await cli(['verify', bundle, '--ca', demo.ready.ca_cert], {});
    assert.equal(verified.code, 0, verified.err);
    assert.match(verified.out, /permitted refund JPY:1000/);
    assert.match(verified.out, /paid JPY:3000 back/);
    const audit = await cli(['audit', '--data', join(data, 'payment')], {});
    assert.equal(audit.code, 0, audit.out + audit.err);
    assert.match(audit.out, /ok\s+refunds/);

    // Settle now (the demo also does every minute): the shop's bank account receives what it kept:
    // 4,000 + 2,000 + 4,000 paid, 8,000 refunded.
    const file = JSON.parse(readFileSync(join(data, 'demo.json'), 'utf8')) as { operatorTokens: { payment: string }; shopBank: { bankAccount: string; holderToken: string } };
    const run = await fetch(new URL('/v1/admin/settlements/run', demo.ready.urls.payment), { method: 'POST', headers: { authorization: `Bearer ${file.operatorTokens.payment}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(run.status, 200, await run.clone().text());
    const shopBank = await cli(['bank', 'balance', file.shopBank.bankAccount, '--url', demo.ready.urls.bank, '--token', file.shopBank.holderToken, '--json'], {});
    assert.equal((JSON.parse(shopBank.out) as { balance: string }).balance, 'JPY:2000');
    const settled = await cli(['audit', '--data', join(data, 'payment')], {});
    assert.equal(settled.code, 0, settled.out + settled.err);
    assert.match(settled.out, /ok\s+settlements/);
  });

  test('SIGTERM stops it with exit 0; a second run reuses the directory: same shopper, same money, the shop still sells', async () => {
    demo.child.kill('SIGTERM');
    assert.equal(await exitCode(demo.child), 0, demo.stderr());
    assert.match(demo.stderr(), /demo stopped/);
    assert.doesNotMatch(demo.stderr(), /"level":(50|60)/, 'nothing failed on the way out');

    const balanceBefore = await walletBalance();
    demo = await startDemo(data, basePort);
    assert.match(demo.stderr(), /\(reused\)/);
    const { urls, shopper } = demo.ready;
    assert.equal(shopper.tokenFile, join(data, 'shopper-token'));
    const token = readFileSync(shopper.tokenFile, 'utf8').trim();
    const bank = await cli(['bank', 'balance', shopper.bankAccount, '--url', urls.bank, '--token', token, '--json'], {});
    assert.equal((JSON.parse(bank.out) as { balance: string }).balance, 'JPY:65000');
    assert.equal(await walletBalance(), balanceBefore);

    // The coins from the first run are still good at the restarted payment server.
    const buy = await cli(['wallet', 'buy', '--data', wallet, '--merchant', urls.merchant, '--item', 'ARTICLE D:1', '--yes', '--json']);
    assert.equal(buy.code, 0, buy.err);
    assert.equal((JSON.parse(buy.out) as { state: string }).state, 'COMPLETED');
    assert.equal(await walletBalance(), 'JPY:7500');

    demo.child.kill('SIGTERM');
    assert.equal(await exitCode(demo.child), 0, demo.stderr());
    assert.doesNotMatch(demo.stderr(), /"level":(50|60)/);
  });

  test('the same directory with other ports is refused and left as it is', () => {
    const r = spawnBin(['demo', '--data', data, '--base-port', String(basePort + 10)]);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`^CLI_DEMO_DATA_INVALID: .*--base-port ${basePort}`));
    assert.equal(r.out, '');
  });

  test('a port in use: exit 1 naming the port, nothing created', async () => {
    const fresh = join(tmp.dir, 'never-made');
    const holder = createServer();
    // The CA's port (N, the first one checked) is held.
    const held = await new Promise<number>((resolve, reject) => {
      holder.once('error', reject);
      holder.listen({ port: 0, host: '127.0.0.1' }, () => resolve((holder.address() as { port: number }).port));
    });
    try {
      const r = spawnBin(['demo', '--data', fresh, '--base-port', String(held)]);
      assert.equal(r.code, 1);
      assert.match(r.err, new RegExp(`^CLI_PORT_IN_USE: port ${held} \\(for the ca\\)`));
      assert.equal(r.out, '');
      assert.equal(existsSync(fresh), false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
