// The wallet's purse (mode account, src/wallet/purse.ts) against real parties
// on loopback: a bank, a payment server linked to it with its loader running,
// and a wallet whose certified identity is from the payment server's CA.
// Registration is signed by both keys and made once; a load is a real bank
// transfer that the loader credits to reserve:<purse key>, the books balance,
// a crash after the transfer is finished by a resume without a second
// transfer, and a wallet without a certified identity moves nothing.
// Then the command line (`wallet load --into purse`, `wallet balance`) with a
// real CA, as in test/e2e/load.test.ts (real clocks: the CLI takes no clock).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createApp as createBankApp } from '../../src/bank/app.ts';
import { openBank } from '../../src/bank/open.ts';
import { createApp as createCaApp } from '../../src/ca/app.ts';
import { openCa } from '../../src/ca/open.ts';
import { createApp as createPaymentApp } from '../../src/payment/app.ts';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { startLoader } from '../../src/payment/loader.ts';
import { openPayment } from '../../src/payment/open.ts';
import { parseAmount, type Amount } from '../../src/protocol/amount.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { derivePurse } from '../../src/wallet/derive.ts';
import { initWallet, openWallet, type OpenedWallet } from '../../src/wallet/open.ts';
import { loadPurse, purseBalance, purseLoadTransferId, registeredPurseBalances, registerPurse, resumePurseLoads, type PurseDeps } from '../../src/wallet/purse.ts';
import { cli, initCaDir, issue, PASS as CLI_PASS, tempDir } from '../cli/helpers.ts';
import { balance as bankBalance, fundAccount, open as openBankAccount, startTestBank, type TestBank } from '../bank/harness.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, balanceOf, creditReserve } from '../payment/emoney-client.ts';
import { PASS, startWorld, type World } from './purchase-world.ts';

type Ctx = { after: (fn: () => Promise<unknown>) => void };

function jpy(s: string): Amount {
  const a = parseAmount(s);
  assert.ok(a.ok);
  return a.value;
}

type LoadWorld = World & {
  bank: TestBank;
  bankUrl: string;
  alice: { id: string; token: string };
  /** Every request the wallet sends, as "METHOD path". */
  sent: string[];
  purseDeps: PurseDeps;
};

/** The purchase world (payment server, wallet certified as alice) plus a bank, the payment server's account there and its loader. */
async function startLoadWorld(t: TestDatabase, ctx: Ctx): Promise<LoadWorld> {
  const world = await startWorld(t, ctx);
  const bank = await startTestBank(t);
  ctx.after(() => bank.close());
  const bankUrl = await bank.app.listen({ port: 0, host: '127.0.0.1' });
  const payAccount = await openBankAccount(bank, 'pay-1', 'JPY', { kind: 'payment' });
  const alice = await openBankAccount(bank, 'alice');
  await fundAccount(bank, alice.id, 'JPY:10000');
  world.payDeps.bankLink = { url: bankUrl, token: payAccount.token, accounts: [{ currency: 'JPY', accountId: payAccount.id }] };
  const stop = new AbortController();
  const loader = startLoader(world.payDeps, { signal: stop.signal, waitSeconds: 1 });
  ctx.after(async () => {
    stop.abort();
    await loader;
  });
  const sent: string[] = [];
  const counting: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    sent.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    return world.deps.fetch(input, init);
  };
  const purseDeps: PurseDeps = { now: () => PKI_NOW, fetch: counting, seed: world.seed, passphrase: PASS, pollSeconds: 1, waitTimeoutMs: 30_000 };
  return { ...world, bank, bankUrl, alice, sent, purseDeps };
}

const purseKeyOf = async (seed: Uint8Array) => encodeBase64url((await derivePurse(seed)).publicKeyBytes);

function bankOf(w: LoadWorld) {
  return { bankUrl: w.bankUrl, account: w.alice.id, token: w.alice.token };
}

async function transfersFrom(w: LoadWorld, account: string): Promise<{ transfer_id: string; amount: bigint }[]> {
  return w.bank.deps.db.selectFrom('bank_transfers').select(['transfer_id', 'amount']).where('debit_account', '=', account).execute();
}

async function purseLoads(wallet: OpenedWallet) {
  return wallet.db.selectFrom('wallet_purse_loads').selectAll().orderBy('created_at').execute();
}

/** The bank transfer reaches the bank, but its answer never reaches the wallet (a crash before the row moved on). */
function loseTransferAnswers(w: LoadWorld): { lost: () => number } {
  let n = 0;
  w.hooks.set('POST /v1/transfers', async (_url, _init, forward) => {
    const res = await forward();
    assert.equal(res.status, 201);
    n++;
    throw new TypeError('fetch failed', { cause: new Error('connection reset') });
  });
  return { lost: () => n };
}

for (const t of testDatabases()) {
  void describe(`wallet purse: register, load, balance, resume (${t.name})`, () => {
    void test('registration is signed by the certified identity and the purse key, made once, and costs nothing when repeated', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      const purseKey = await purseKeyOf(w.seed);
      const first = value(await registerPurse(w.wallet, w.payUrl, w.purseDeps));
      assert.deepEqual(first, { purseKey, paymentUrl: w.payUrl, paymentPartyId: 'pay-1' });
      assert.ok(w.sent.includes('POST /v1/purses'));
      const atServer = await w.payDeps.db.selectFrom('payment_purses').select(['purse_key', 'party_id']).execute();
      assert.deepEqual(atServer, [{ purse_key: purseKey, party_id: 'alice' }]);
      const stored = await w.wallet.db.selectFrom('wallet_purses').selectAll().execute();
      assert.deepEqual(stored, [{ payment_url: w.payUrl, payment_party_id: 'pay-1', purse_key: purseKey, party_id: 'alice', registered_at: PKI_NOW.toISOString() }]);

      // Already registered: no request at all, not even the key list; no passphrase needed.
      w.sent.length = 0;
      assert.deepEqual(value(await registerPurse(w.wallet, w.payUrl, { ...w.purseDeps, passphrase: 'not the passphrase' })), first);
      assert.deepEqual(w.sent, []);

      // A wallet that lost its row (or another copy of it) registers again: the server answers its replay (200).
      await w.wallet.db.deleteFrom('wallet_purses').execute();
      assert.deepEqual(value(await registerPurse(w.wallet, w.payUrl, w.purseDeps)), first);
      assert.equal((await w.payDeps.db.selectFrom('payment_purses').selectAll().execute()).length, 1);
    });

    void test('a load goes through the bank into reserve:<purse key>; the money stays there, the books balance, the balance shows it', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      const purseKey = await purseKeyOf(w.seed);
      // Before anything: not registered, nothing loaded — a zero view in the server's currency.
      const empty = value(await purseBalance(w.wallet, w.payUrl, w.purseDeps));
      assert.deepEqual([empty.registered, empty.loaded, empty.purseKey, empty.paymentPartyId, empty.view.balance], [false, false, purseKey, 'pay-1', 'JPY:0']);

      const progress: string[] = [];
      const deps = { ...w.purseDeps, progress: (p: { phase: string }) => progress.push(p.phase) };
      const r = value(await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:700'), bank: bankOf(w) }, deps));
      assert.deepEqual({ ...r, loadId: undefined }, { loadId: undefined, purseKey, paymentUrl: w.payUrl, amount: 'JPY:700', state: 'credited', balance: 'JPY:700' });
      assert.equal(progress[0], 'registered');
      assert.deepEqual(progress.filter((p) => p !== 'waiting' && p !== 'registered'), ['transferred', 'credited']);
      assert.equal(await balanceOf(w.payDeps.db, ledgerAccount.reserve(purseKey)), 700n);
      assert.equal(await bankBalance(w.bank, w.alice.id), 'JPY:9300');
      const [row] = await purseLoads(w.wallet);
      assert.deepEqual([row!.state, row!.amount, row!.target_credited, row!.bank_transfer_id], ['credited', 700n, 700n, purseLoadTransferId(r.loadId)]);
      assert.deepEqual(await transfersFrom(w, w.alice.id), [{ transfer_id: purseLoadTransferId(r.loadId), amount: 700n }]);
      // No coins: the purse is not withdrawn.
      assert.deepEqual(await w.wallet.db.selectFrom('wallet_coins').selectAll().execute(), []);

      // A second load waits for the total (before + amount), not for the first credit again.
      const second = value(await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:300'), bank: bankOf(w) }, w.purseDeps));
      assert.equal(second.balance, 'JPY:1000');
      assert.equal((await purseLoads(w.wallet))[1]!.target_credited, 1000n);
      const b = value(await purseBalance(w.wallet, w.payUrl, { now: w.purseDeps.now, fetch: w.purseDeps.fetch }));
      assert.deepEqual([b.registered, b.loaded, b.view.credited, b.view.withdrawn, b.view.paid, b.view.balance], [true, true, 'JPY:1000', 'JPY:0', 'JPY:0', 'JPY:1000']);
      assert.deepEqual(await registeredPurseBalances(w.wallet, { now: w.purseDeps.now, fetch: w.purseDeps.fetch }), [
        { paymentUrl: w.payUrl, paymentPartyId: 'pay-1', purseKey, registeredAt: PKI_NOW.toISOString(), loaded: true, currency: 'JPY', credited: 'JPY:1000', withdrawn: 'JPY:0', paid: 'JPY:0', balance: 'JPY:1000' },
      ]);
      await assertBooks(w.payDeps.db);
    });

    void test('the transfer reached the bank but the wallet crashed before noting it: a new load waits, the resume finishes it without a second transfer', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      const purseKey = await purseKeyOf(w.seed);
      const losing = loseTransferAnswers(w);
      const lost = await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:400'), bank: bankOf(w) }, w.purseDeps);
      assert.equal(!lost.ok && lost.code, 'WALLET_BANK_UNREACHABLE');
      assert.equal(losing.lost(), 1);
      assert.deepEqual((await purseLoads(w.wallet)).map((l) => l.state), ['created']);
      assert.equal(await bankBalance(w.bank, w.alice.id), 'JPY:9600');
      w.hooks.delete('POST /v1/transfers');

      // Another load now would count the first one's credit toward its own: refused, nothing moves.
      const banked = await transfersFrom(w, w.alice.id);
      const refused = await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:100'), bank: bankOf(w) }, w.purseDeps);
      assert.equal(!refused.ok && refused.code, 'WALLET_PURSE_LOAD_OPEN');
      assert.deepEqual(await transfersFrom(w, w.alice.id), banked);
      assert.equal((await purseLoads(w.wallet)).length, 1);

      // The resume sends the identical transfer; the bank answers it with the first result.
      const resumed = await resumePurseLoads(w.wallet, w.alice.token, { now: w.purseDeps.now, fetch: w.purseDeps.fetch, pollSeconds: 1 });
      assert.deepEqual(resumed.failed, []);
      assert.deepEqual(resumed.resumed.map((x) => [x.purseKey, x.amount, x.state, x.balance]), [[purseKey, 'JPY:400', 'credited', 'JPY:400']]);
      assert.equal((await transfersFrom(w, w.alice.id)).length, 1, 'one bank transfer');
      assert.equal(await bankBalance(w.bank, w.alice.id), 'JPY:9600');
      assert.equal(await balanceOf(w.payDeps.db, ledgerAccount.reserve(purseKey)), 400n);
      assert.deepEqual(await resumePurseLoads(w.wallet, w.alice.token, w.purseDeps), { resumed: [], failed: [] });
      await assertBooks(w.payDeps.db);
    });

    void test('a load the bank refuses for lack of funds is closed and nothing moves; a resume has nothing to do', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      const r = await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:999999'), bank: bankOf(w) }, w.purseDeps);
      assert.equal(!r.ok && r.code, 'BANK_INSUFFICIENT_FUNDS');
      assert.deepEqual((await purseLoads(w.wallet)).map((l) => l.state), ['closed']);
      assert.deepEqual(await transfersFrom(w, w.alice.id), []);
      assert.deepEqual(await resumePurseLoads(w.wallet, w.alice.token, w.purseDeps), { resumed: [], failed: [] });
      // The purse is registered; a closed load does not block the next one.
      value(await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:5'), bank: bankOf(w) }, w.purseDeps));
      await assertBooks(w.payDeps.db);
    });

    void test('a wrong --account (one the bank does not show this token) closes the load instead of blocking every later one', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      const bob = await openBankAccount(w.bank, 'bob');
      const r = await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:100'), bank: { ...bankOf(w), account: bob.id } }, w.purseDeps);
      assert.equal(!r.ok && r.code, 'BANK_ACCOUNT_NOT_FOUND');
      assert.deepEqual((await purseLoads(w.wallet)).map((l) => l.state), ['closed']);
      assert.deepEqual(await transfersFrom(w, bob.id), []);
      const right = value(await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:100'), bank: bankOf(w) }, w.purseDeps));
      assert.equal(right.balance, 'JPY:100');
      await assertBooks(w.payDeps.db);
    });

    void test('a purse that holds another currency takes no load in this one (it would be sent back); nothing moves', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      const purse = value(await registerPurse(w.wallet, w.payUrl, w.purseDeps));
      await creditReserve(w.payDeps, purse.purseKey, 'EUR', 100n);
      const r = await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:100'), bank: bankOf(w) }, w.purseDeps);
      assert.equal(!r.ok && r.code, 'WALLET_PURSE_CURRENCY_MISMATCH');
      assert.deepEqual(await transfersFrom(w, w.alice.id), []);
      assert.deepEqual(await purseLoads(w.wallet), []);
      // Shown as it is when asked in JPY.
      const b = value(await purseBalance(w.wallet, w.payUrl, w.purseDeps, { currency: 'JPY' }));
      assert.deepEqual([b.view.currency, b.view.balance], ['EUR', 'EUR:1.00']);
    });

    void test('a wallet without a certified identity (none, or still pending) gets WALLET_NOT_REGISTERED and sends nothing', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      const tmp = tempDir('quittance-purse-');
      ctx.after(async () => tmp.remove());
      value(await initWallet(join(tmp.dir, 'fresh'), { passphrase: PASS, now: () => PKI_NOW }));
      const wallet = value(await openWallet(join(tmp.dir, 'fresh'), { now: () => PKI_NOW }));
      ctx.after(() => wallet.close());
      const seed = value(await wallet.unlockSeed(PASS));
      const deps = { ...w.purseDeps, seed };
      const attempts = async () => {
        const load = await loadPurse(wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:100'), bank: bankOf(w) }, deps);
        assert.equal(!load.ok && load.code, 'WALLET_NOT_REGISTERED');
        const reg = await registerPurse(wallet, w.payUrl, deps);
        assert.equal(!reg.ok && reg.code, 'WALLET_NOT_REGISTERED');
      };
      w.sent.length = 0;
      await attempts();
      // Pending at the CA: it already trusts the CA's root, but has no certificate to sign with.
      const identity = await w.wallet.db.selectFrom('wallet_identity').selectAll().executeTakeFirstOrThrow();
      await wallet.db.insertInto('wallet_identity').values({ ...identity, status: 'pending', party_id: null, certificate_chain_pem: null, not_before: null, not_after: null }).execute();
      await attempts();
      assert.deepEqual(w.sent, []);
      assert.deepEqual(await wallet.db.selectFrom('wallet_purses').selectAll().execute(), []);
      assert.deepEqual(await purseLoads(wallet), []);
      assert.deepEqual(await transfersFrom(w, w.alice.id), []);
      assert.deepEqual(await w.payDeps.db.selectFrom('payment_purses').selectAll().execute(), []);
    });

    void test('the balance of every purse: a payment server that does not answer is reported for its purse only', async (ctx) => {
      const w = await startLoadWorld(t, ctx);
      value(await loadPurse(w.wallet, { paymentUrl: w.payUrl, amount: jpy('JPY:50'), bank: bankOf(w) }, w.purseDeps));
      // A second purse, at an address that no longer answers.
      const gone = 'http://127.0.0.1:9/';
      await w.wallet.db.insertInto('wallet_purses').values({ payment_url: gone, payment_party_id: 'pay-9', purse_key: await purseKeyOf(w.seed), party_id: 'alice', registered_at: PKI_NOW.toISOString() }).execute();
      const list = await registeredPurseBalances(w.wallet, { now: w.purseDeps.now, fetch: w.purseDeps.fetch, timeoutMs: 5000 });
      assert.equal(list.length, 2);
      const byUrl = new Map(list.map((p) => [p.paymentUrl, p]));
      const here = byUrl.get(w.payUrl)!;
      assert.ok(!('error' in here) && here.balance === 'JPY:50');
      const there = byUrl.get(gone)!;
      assert.ok('error' in there);
      assert.equal(there.error.code, 'WALLET_PAYMENT_UNREACHABLE');
    });
  });
}

void describe('command line: wallet load --into purse, wallet balance', () => {
  const tmp = tempDir('quittance-purse-cli-');
  const dirs = { ca: join(tmp.dir, 'ca'), bank: join(tmp.dir, 'bank'), pay: join(tmp.dir, 'payment'), payCert: join(tmp.dir, 'pay-cert'), wallet: join(tmp.dir, 'wallet') };
  const closers: (() => Promise<unknown>)[] = [];
  const stopLoader = new AbortController();
  const urls = { ca: '', bank: '', pay: '' };
  let alice = { account: '', token: '' };

  async function postJson(url: string, token: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  before(async () => {
    await initCaDir(dirs.ca);
    const ca = await openCa(dirs.ca, { passphrase: CLI_PASS, configOverrides: { autoApprove: true } });
    const caApp = createCaApp(ca.deps);
    urls.ca = await caApp.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => caApp.close(), () => ca.close());

    const bankInit = await cli(['bank', 'init', '--data', dirs.bank]);
    assert.equal(bankInit.code, 0, bankInit.err);
    const operator = /operator token \(shown once, keep it secret\): (\S+)/.exec(bankInit.out)![1]!;
    const bank = await openBank(dirs.bank, { configOverrides: { pollIntervalMs: 20 } });
    const bankApp = createBankApp(bank.deps);
    urls.bank = await bankApp.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => bankApp.close(), () => bank.close());

    const { partyId } = await issue(dirs.ca, 'payment', 'Quittance Pay', dirs.payCert);
    const init = await cli(['payment', 'init', '--data', dirs.pay, '--cert', join(dirs.payCert, 'chain.pem'), '--key', join(dirs.payCert, 'key.pem'), '--max-value', 'JPY:8192']);
    assert.equal(init.code, 0, init.err);
    const opened = await postJson(`${urls.bank}/v1/accounts`, operator, { holder: partyId, currency: 'JPY', kind: 'payment' });
    const payAccount = (opened.account as { accountId: string }).accountId;
    const link = await cli(['payment', 'link-bank', '--data', dirs.pay, '--bank', urls.bank, '--account', payAccount], { QUITTANCE_PASSPHRASE: CLI_PASS, QUITTANCE_BANK_TOKEN: opened.holderToken as string });
    assert.equal(link.code, 0, link.err);
    const pay = await openPayment(dirs.pay, { passphrase: CLI_PASS });
    const payApp = createPaymentApp(pay.deps);
    urls.pay = await payApp.listen({ port: 0, host: '127.0.0.1' });
    const loader = startLoader(pay.deps, { signal: stopLoader.signal, waitSeconds: 1 });
    closers.push(
      async () => {
        stopLoader.abort();
        await loader;
      },
      () => payApp.close(),
      () => pay.close(),
    );

    assert.equal((await cli(['wallet', 'init', '--data', dirs.wallet])).code, 0);
    const reg = await cli(['wallet', 'register', '--data', dirs.wallet, '--ca', urls.ca, '--name', 'Alice']);
    assert.equal(reg.code, 0, reg.err);
    const account = await postJson(`${urls.bank}/v1/accounts`, operator, { holder: 'alice', currency: 'JPY' });
    alice = { account: (account.account as { accountId: string }).accountId, token: account.holderToken as string };
    await postJson(`${urls.bank}/v1/admin/fund`, operator, { transferId: 'fund-alice', to: alice.account, amount: 'JPY:25000' });
  });

  after(async () => {
    for (const c of closers.reverse()) await c();
    tmp.remove();
  });

  const env = () => ({ QUITTANCE_PASSPHRASE: CLI_PASS, QUITTANCE_BANK_TOKEN: alice.token });
  const loadArgs = (amount: string) => ['wallet', 'load', '--data', dirs.wallet, '--bank', urls.bank, '--payment', urls.pay, '--amount', amount, '--account', alice.account, '--into', 'purse'];

  test('--help explains the purse and the JSON', async () => {
    const load = await cli(['wallet', 'load', '--help']);
    assert.equal(load.code, 0);
    assert.match(load.out, /--into WHERE/);
    assert.match(load.out, /IDENTIFIED/);
    assert.match(load.out, /wallet buy --mode account/);
    const balance = await cli(['wallet', 'balance', '--help']);
    assert.match(balance.out, /"purses": \[\{paymentUrl/);
  });

  test('usage: --into takes coins or purse, and not with --resume', async () => {
    const bad = await cli([...loadArgs('JPY:1').slice(0, -1), 'wallet'], env());
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--into must be coins or purse/);
    const resume = await cli(['wallet', 'load', '--data', dirs.wallet, '--resume', '--into', 'purse'], env());
    assert.equal(resume.code, 2);
  });

  test('wallet load --into purse registers the purse and loads it; wallet balance shows it; the audit passes', async () => {
    const before = await cli(['wallet', 'balance', '--data', dirs.wallet, '--json'], {});
    assert.deepEqual(JSON.parse(before.out), { balances: [] }, 'no purse yet: the JSON is what it always was');

    const first = await cli(loadArgs('JPY:2000'), env());
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^loaded JPY:2000 into your purse at http:\/\/127\.0\.0\.1:\d+\/; it holds JPY:2000\n$/);
    assert.match(first.err, /registered your purse \S+ with payment server \S+ at /);
    assert.match(first.err, /transferred JPY:2000 to the payment server's account/);

    const second = await cli([...loadArgs('JPY:500'), '--json'], env());
    assert.equal(second.code, 0, second.err);
    const out = JSON.parse(second.out) as Record<string, unknown>;
    assert.deepEqual([out.amount, out.state, out.balance], ['JPY:500', 'credited', 'JPY:2500']);
    assert.doesNotMatch(second.err, /registered your purse/, 'registered once');

    const balance = await cli(['wallet', 'balance', '--data', dirs.wallet, '--json'], {});
    assert.equal(balance.code, 0, balance.err);
    const b = JSON.parse(balance.out) as { balances: unknown[]; purses: Record<string, unknown>[] };
    assert.deepEqual(b.balances, []);
    assert.equal(b.purses.length, 1);
    const { registeredAt, purseKey, paymentPartyId, ...amounts } = b.purses[0]!;
    assert.equal(typeof registeredAt, 'string');
    assert.equal(purseKey, out.purseKey);
    assert.match(String(paymentPartyId), /\S/);
    assert.deepEqual(amounts, { paymentUrl: new URL(urls.pay).href, loaded: true, currency: 'JPY', credited: 'JPY:2500', withdrawn: 'JPY:0', paid: 'JPY:0', balance: 'JPY:2500' });
    const text = await cli(['wallet', 'balance', '--data', dirs.wallet], {});
    assert.match(text.out, /^balance: 0 \(no coins\)\npurse at \S+ \(\S+\): JPY:2500 {2}\(loaded JPY:2500, paid JPY:0, withdrawn JPY:0\)\n$/);

    const bank = (await (await fetch(`${urls.bank}/v1/accounts/${alice.account}`, { headers: { authorization: `Bearer ${alice.token}` } })).json()) as { balance: string };
    assert.equal(bank.balance, 'JPY:22500');
    const resume = await cli(['wallet', 'load', '--data', dirs.wallet, '--resume', '--json'], env());
    assert.deepEqual(JSON.parse(resume.out), { resumed: [], failed: [], purses: { resumed: [], failed: [] } });
    const audit = await cli(['audit', '--db', `sqlite:${join(dirs.pay, 'payment.sqlite')}`], {});
    assert.equal(audit.code, 0, audit.out + audit.err);
  });

  test('wallet balance with a payment server that does not answer: that purse says so, the others and the coins are shown, exit 0', async () => {
    // A second purse, registered (as far as the store says) at an address where nothing listens now.
    const gone = 'http://127.0.0.1:9/';
    const opened = await openWallet(dirs.wallet, { now: () => new Date() });
    assert.ok(opened.ok);
    try {
      const [purse] = await opened.value.db.selectFrom('wallet_purses').selectAll().execute();
      await opened.value.db.insertInto('wallet_purses').values({ ...purse!, payment_url: gone, payment_party_id: 'gone-pay' }).execute();
    } finally {
      await opened.value.close();
    }
    const r = await cli(['wallet', 'balance', '--data', dirs.wallet, '--json'], {});
    assert.equal(r.code, 0, r.err);
    const b = JSON.parse(r.out) as { purses: { paymentUrl: string; balance?: string; error?: { code: string } }[] };
    const byUrl = new Map(b.purses.map((p) => [p.paymentUrl, p]));
    assert.equal(byUrl.get(gone)?.error?.code, 'WALLET_PAYMENT_UNREACHABLE');
    assert.equal(byUrl.get(new URL(urls.pay).href)?.balance, 'JPY:2500');
    const text = await cli(['wallet', 'balance', '--data', dirs.wallet], {});
    assert.equal(text.code, 0);
    assert.match(text.out, /purse at http:\/\/127\.0\.0\.1:9\/ \(gone-pay\): cannot say now — WALLET_PAYMENT_UNREACHABLE/);
    assert.match(text.out, /: JPY:2500 {2}\(loaded/);
  });
});
