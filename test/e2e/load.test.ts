// End to end, in one process, through the same commands a user types:
// register with the CA → open a bank account → load e-money (bank transfer,
// the payment server's loader sees it, withdrawal) → balance → audit; then
// buy from a shop with `wallet buy`, identified and anonymous.
// Then the crash case: the withdrawal's answer is lost on the way back; the
// wallet keeps the coins pending and `--resume` gets the same coins while
// the reserve is debited once.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createApp as createBankApp } from '../../src/bank/app.ts';
import { openBank } from '../../src/bank/open.ts';
import { createApp as createCaApp } from '../../src/ca/app.ts';
import { openCa } from '../../src/ca/open.ts';
import { createApp as createPaymentApp } from '../../src/payment/app.ts';
import { startLoader } from '../../src/payment/loader.ts';
import { openPayment } from '../../src/payment/open.ts';
import { createApp as createMerchantApp } from '../../src/merchant/app.ts';
import { openMerchant } from '../../src/merchant/open.ts';
import { parseAmount } from '../../src/protocol/amount.ts';
import { loadMoney, resumeLoads } from '../../src/wallet/load.ts';
import { fetchKeyList } from '../../src/wallet/key-list.ts';
import { openWallet, type OpenedWallet } from '../../src/wallet/open.ts';
import { PASS, cli, initCaDir, issue, tempDir } from '../cli/helpers.ts';

type Closer = () => Promise<unknown>;

async function postJson(url: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

describe('end to end: register, open a bank account, load, balance, audit', () => {
  const tmp = tempDir('quittance-e2e-');
  const dirs = { ca: join(tmp.dir, 'ca'), bank: join(tmp.dir, 'bank'), pay: join(tmp.dir, 'payment'), payCert: join(tmp.dir, 'pay-cert'), wallet: join(tmp.dir, 'wallet') };
  const closers: Closer[] = [];
  const stopLoader = new AbortController();
  const urls = { ca: '', bank: '', pay: '' };
  let bankOperator = '';
  let alice = { account: '', token: '' };
  let payAccount = '';

  before(async () => {
    // The CA, approving at registration (demo setting), listening on loopback.
    await initCaDir(dirs.ca);
    const ca = await openCa(dirs.ca, { passphrase: PASS, configOverrides: { autoApprove: true } });
    const caApp = createCaApp(ca.deps);
    urls.ca = await caApp.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => caApp.close(), () => ca.close());

    // The bank.
    const bankInit = await cli(['bank', 'init', '--data', dirs.bank]);
    assert.equal(bankInit.code, 0, bankInit.err);
    bankOperator = /operator token \(shown once, keep it secret\): (\S+)/.exec(bankInit.out)![1]!;
    const bank = await openBank(dirs.bank, { configOverrides: { pollIntervalMs: 20 } });
    const bankApp = createBankApp(bank.deps);
    urls.bank = await bankApp.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => bankApp.close(), () => bank.close());

    // The payment server: certified by the CA, with its own account at the bank.
    const { partyId } = await issue(dirs.ca, 'payment', 'Quittance Pay', dirs.payCert);
    const init = await cli(['payment', 'init', '--data', dirs.pay, '--cert', join(dirs.payCert, 'chain.pem'), '--key', join(dirs.payCert, 'key.pem'), '--max-value', 'JPY:8192']);
    assert.equal(init.code, 0, init.err);
    const opened = await postJson(`${urls.bank}/v1/accounts`, bankOperator, { holder: partyId, currency: 'JPY', kind: 'payment' });
    payAccount = (opened.account as { accountId: string }).accountId;
    const link = await cli(['payment', 'link-bank', '--data', dirs.pay, '--bank', urls.bank, '--account', payAccount], { QUITTANCE_PASSPHRASE: PASS, QUITTANCE_BANK_TOKEN: opened.holderToken as string });
    assert.equal(link.code, 0, link.err);
    const pay = await openPayment(dirs.pay, { passphrase: PASS });
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
  });

  after(async () => {
    for (const c of closers.reverse()) await c();
    tmp.remove();
  });

  test('the wallet registers, loads JPY:10000 from the bank and holds it as coins; the audit passes', async () => {
    assert.equal((await cli(['wallet', 'init', '--data', dirs.wallet])).code, 0);
    const reg = await cli(['wallet', 'register', '--data', dirs.wallet, '--ca', urls.ca, '--name', 'Alice']);
    assert.equal(reg.code, 0, reg.err);
    assert.match(reg.out, /registered as "Alice"/);

    // Alice's bank account, opened by the bank's operator and funded.
    const opened = await postJson(`${urls.bank}/v1/accounts`, bankOperator, { holder: 'alice', currency: 'JPY' });
    alice = { account: (opened.account as { accountId: string }).accountId, token: opened.holderToken as string };
    await postJson(`${urls.bank}/v1/admin/fund`, bankOperator, { transferId: 'fund-alice', to: alice.account, amount: 'JPY:25000' });

    const load = await cli(['wallet', 'load', '--data', dirs.wallet, '--bank', urls.bank, '--payment', urls.pay, '--amount', 'JPY:10000', '--account', alice.account], {
      QUITTANCE_PASSPHRASE: PASS,
      QUITTANCE_BANK_TOKEN: alice.token,
    });
    assert.equal(load.code, 0, load.err);
    assert.match(load.out, /loaded JPY:10000 as 5 coins/);
    assert.match(load.err, /transferred JPY:10000 to the payment server's account/);

    const balance = await cli(['wallet', 'balance', '--data', dirs.wallet, '--json'], {});
    assert.deepEqual(JSON.parse(balance.out), { balances: [{ currency: 'JPY', amount: 'JPY:10000', coins: 5 }] });
    const coins = JSON.parse((await cli(['wallet', 'coins', '--data', dirs.wallet, '--json'], {})).out) as { coins: { value: string; state: string }[] };
    assert.deepEqual(coins.coins.map((c) => c.value).sort(), ['JPY:1024', 'JPY:16', 'JPY:256', 'JPY:512', 'JPY:8192']);
    assert.ok(coins.coins.every((c) => c.state === 'unspent'));

    // The money moved at the bank exactly once.
    const bal = (await (await fetch(`${urls.bank}/v1/accounts/${alice.account}`, { headers: { authorization: `Bearer ${alice.token}` } })).json()) as { balance: string };
    assert.equal(bal.balance, 'JPY:15000');

    const audit = await cli(['audit', '--db', `sqlite:${join(dirs.pay, 'payment.sqlite')}`], {});
    assert.equal(audit.code, 0, audit.out + audit.err);
  });

  test('a withdrawal whose answer is lost is finished by resuming: the same coins, the reserve debited once', async () => {
    const opened = await openWallet(dirs.wallet, { now: () => new Date() });
    assert.ok(opened.ok);
    const w = opened.value;
    try {
      const seed = await w.unlockSeed(PASS);
      assert.ok(seed.ok);
      // The payment server signs, but its answer never reaches the wallet.
      const losing: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).endsWith('/withdraw')) throw new TypeError('fetch failed', { cause: new Error('connection reset') });
        return res;
      };
      const amount = parseAmount('JPY:3000');
      assert.ok(amount.ok);
      const lost = await loadMoney(w, { paymentUrl: urls.pay, amount: amount.value, bank: { bankUrl: urls.bank, account: alice.account, token: alice.token } }, { now: () => new Date(), fetch: losing, seed: seed.value });
      assert.equal(lost.ok, false);
      assert.equal(!lost.ok && lost.code, 'WALLET_PAYMENT_UNREACHABLE');
      const pending = await w.db.selectFrom('wallet_coins').select(['coin_pub', 'state']).where('state', '=', 'pending').execute();
      assert.ok(pending.length > 0);

      const resumed = await resumeLoads(w, alice.token, { now: () => new Date(), fetch, seed: seed.value });
      assert.deepEqual(resumed.failed, []);
      assert.equal(resumed.resumed.length, 1);
      const after = await w.db.selectFrom('wallet_coins').select(['coin_pub', 'state']).where('coin_pub', 'in', pending.map((p) => p.coin_pub)).execute();
      assert.ok(after.every((c) => c.state === 'unspent'), 'the pending coins became spendable');
      const reservePub = resumed.resumed[0]!.reservePub;
      const view = (await (await fetch(`${urls.pay}/v1/reserves/${reservePub}`)).json()) as { credited: string; withdrawn: string; balance: string };
      assert.deepEqual([view.credited, view.withdrawn, view.balance], ['JPY:3000', 'JPY:3000', 'JPY:0']);
      seed.value.fill(0);
    } finally {
      await w.close();
    }
    const balance = JSON.parse((await cli(['wallet', 'balance', '--data', dirs.wallet, '--json'], {})).out) as { balances: { amount: string }[] };
    assert.equal(balance.balances[0]!.amount, 'JPY:13000');
    const audit = await cli(['audit', '--db', `sqlite:${join(dirs.pay, 'payment.sqlite')}`], {});
    assert.equal(audit.code, 0, audit.out + audit.err);
  });

  /** Opens the wallet with its seed for library-level calls; closes it after `fn`. */
  async function withSeed<T>(fn: (w: OpenedWallet, seed: Uint8Array) => Promise<T>): Promise<T> {
    const opened = await openWallet(dirs.wallet, { now: () => new Date() });
    assert.ok(opened.ok);
    const seed = await opened.value.unlockSeed(PASS);
    assert.ok(seed.ok);
    try {
      return await fn(opened.value, seed.value);
    } finally {
      seed.value.fill(0);
      await opened.value.close();
    }
  }
  const jpy = (s: string) => {
    const a = parseAmount(s);
    assert.ok(a.ok);
    return a.value;
  };
  const walletBalance = async () => (JSON.parse((await cli(['wallet', 'balance', '--data', dirs.wallet, '--json'], {})).out) as { balances: { amount: string }[] }).balances[0]!.amount;

  test('a transfer whose answer is lost stays open through a refused resume (wrong token) and is finished by the right one', async () => {
    const before = await walletBalance();
    await withSeed(async (w, seed) => {
      const losing: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).endsWith('/v1/transfers')) throw new TypeError('fetch failed', { cause: new Error('connection reset') });
        return res;
      };
      const lost = await loadMoney(w, { paymentUrl: urls.pay, amount: jpy('JPY:100'), bank: { bankUrl: urls.bank, account: alice.account, token: alice.token } }, { now: () => new Date(), fetch: losing, seed });
      assert.equal(!lost.ok && lost.code, 'WALLET_BANK_UNREACHABLE');
      // The bank did move the money; a resume with a token the bank refuses proves nothing about it.
      const wrong = await resumeLoads(w, 'qbh_not-the-right-token-0123456789', { now: () => new Date(), fetch, seed });
      assert.deepEqual(wrong.failed.map((f) => f.code), ['HTTP_AUTH_INVALID']);
      const open = await w.db.selectFrom('wallet_reserves').select('state').where('state', '=', 'created').execute();
      assert.equal(open.length, 1, 'the load is still open, not closed');
      const right = await resumeLoads(w, alice.token, { now: () => new Date(), fetch, seed });
      assert.deepEqual(right.failed, []);
      assert.equal(right.resumed[0]!.amount, 'JPY:100');
    });
    assert.equal(await walletBalance(), `JPY:${Number(jpy(before).minor) + 100}`);
  });

  test('a load the bank refuses for lack of funds is closed, and nothing moves', async () => {
    const before = await walletBalance();
    const r = await cli(['wallet', 'load', '--data', dirs.wallet, '--bank', urls.bank, '--payment', urls.pay, '--amount', 'JPY:999999', '--account', alice.account], { QUITTANCE_PASSPHRASE: PASS, QUITTANCE_BANK_TOKEN: alice.token });
    assert.equal(r.code, 1);
    assert.match(r.err, /^BANK_INSUFFICIENT_FUNDS: /);
    await withSeed(async (w) => {
      const last = await w.db.selectFrom('wallet_reserves').select(['state', 'amount']).orderBy('derivation_index', 'desc').executeTakeFirstOrThrow();
      assert.deepEqual([last.state, last.amount], ['closed', 999999n]);
    });
    const resumed = await cli(['wallet', 'load', '--data', dirs.wallet, '--resume', '--json'], { QUITTANCE_PASSPHRASE: PASS, QUITTANCE_BANK_TOKEN: alice.token });
    assert.deepEqual(JSON.parse(resumed.out), { resumed: [], failed: [] });
    assert.equal(await walletBalance(), before);
  });

  test('a withdrawal refused for a key that no longer signs is planned again with the keys that do', async () => {
    const before = await walletBalance();
    await withSeed(async (w, seed) => {
      // The first two attempts (the load, then its resume) are told the key stopped signing;
      // the request never reaches the server, as a refused one never commits there.
      let refused = 0;
      const expiring: typeof fetch = async (input, init) => {
        if (String(input).endsWith('/withdraw') && refused++ < 2) {
          return new Response(JSON.stringify({ code: 'PAY_DENOMINATION_NOT_WITHDRAWABLE', message: 'window closed' }), { status: 409, headers: { 'content-type': 'application/json' } });
        }
        return fetch(input, init);
      };
      const first = await loadMoney(w, { paymentUrl: urls.pay, amount: jpy('JPY:300'), bank: { bankUrl: urls.bank, account: alice.account, token: alice.token } }, { now: () => new Date(), fetch: expiring, seed });
      assert.equal(!first.ok && first.code, 'PAY_DENOMINATION_NOT_WITHDRAWABLE');
      const pending = await w.db.selectFrom('wallet_coins').select('coin_pub').where('state', '=', 'pending').execute();
      assert.ok(pending.length > 0);
      const resumed = await resumeLoads(w, alice.token, { now: () => new Date(), fetch: expiring, seed });
      assert.deepEqual(resumed.failed, []);
      assert.equal(refused, 3, 'the pending request was sent again, refused, and a new one planned');
      // The refused coins are gone (never signed); new ones carry the value.
      const left = await w.db.selectFrom('wallet_coins').select('coin_pub').where('coin_pub', 'in', pending.map((p) => p.coin_pub)).execute();
      assert.deepEqual(left, []);
    });
    assert.equal(await walletBalance(), `JPY:${Number(jpy(before).minor) + 300}`);
    const audit = await cli(['audit', '--db', `sqlite:${join(dirs.pay, 'payment.sqlite')}`], {});
    assert.equal(audit.code, 0, audit.out + audit.err);
  });

  test('a key list signed by another payment party at a known address is refused', async () => {
    // Another certified payment server answers at the address this wallet knows.
    const otherCert = join(tmp.dir, 'other-cert');
    const otherDir = join(tmp.dir, 'other-payment');
    await issue(dirs.ca, 'payment', 'Not Quittance Pay', otherCert);
    assert.equal((await cli(['payment', 'init', '--data', otherDir, '--cert', join(otherCert, 'chain.pem'), '--key', join(otherCert, 'key.pem'), '--max-value', 'JPY:8'])).code, 0);
    const other = await openPayment(otherDir, { passphrase: PASS });
    const otherApp = createPaymentApp(other.deps);
    const otherUrl = await otherApp.listen({ port: 0, host: '127.0.0.1' });
    try {
      const substituted: typeof fetch = (input, init) => fetch(String(input).replace(urls.pay.replace(/\/$/, ''), otherUrl), init);
      await withSeed(async (w) => {
        const r = await fetchKeyList(w, new URL(urls.pay).href, { now: () => new Date(), fetch: substituted });
        assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_PARTY_CHANGED');
      });
    } finally {
      await otherApp.close();
      await other.close();
    }
  });

  test('the wallet buys two articles from a shop, identified and anonymous; the shop and the books agree', async () => {
    // The shop: certified by the CA, contracted by the payment server.
    const shopCert = join(tmp.dir, 'shop-cert');
    const shopDir = join(tmp.dir, 'shop');
    const { partyId: shopId } = await issue(dirs.ca, 'merchant', 'Tokyo On-line Mail Order Dealer', shopCert);
    const init = await cli(['merchant', 'init', '--data', shopDir, '--cert', join(shopCert, 'chain.pem'), '--key', join(shopCert, 'key.pem'), '--payment-url', urls.pay, '--payment-cert', join(dirs.payCert, 'chain.pem'), '--ca-url', urls.ca]);
    assert.equal(init.code, 0, init.err);
    // The shop's own bank account, where settlements pay its takings.
    const shopBank = await postJson(`${urls.bank}/v1/accounts`, bankOperator, { holder: shopId, currency: 'JPY', kind: 'merchant' });
    const shopAccount = (shopBank.account as { accountId: string }).accountId;
    const contract = await cli(['payment', 'add-merchant', '--data', dirs.pay, '--cert', join(shopCert, 'chain.pem'), '--payout', shopAccount], {});
    assert.equal(contract.code, 0, contract.err);
    const shop = await openMerchant(shopDir, { passphrase: PASS });
    const shopApp = createMerchantApp(shop.deps);
    const shopUrl = await shopApp.listen({ port: 0, host: '127.0.0.1' });
    try {
      const before = await walletBalance();
      const buy = await cli(['wallet', 'buy', '--data', dirs.wallet, '--merchant', shopUrl, '--item', 'ARTICLE A:1', '--item', 'ARTICLE C:2', '--yes', '--json'], { QUITTANCE_PASSPHRASE: PASS });
      assert.equal(buy.code, 0, buy.err);
      const bought = JSON.parse(buy.out) as { transactionId: string; state: string };
      assert.equal(bought.state, 'COMPLETED');
      const anon = await cli(['wallet', 'buy', '--data', dirs.wallet, '--merchant', shopUrl, '--item', 'ARTICLE B:1', '--anonymous', '--yes', '--json'], { QUITTANCE_PASSPHRASE: PASS });
      assert.equal(anon.code, 0, anon.err);
      assert.equal((JSON.parse(anon.out) as { state: string }).state, 'COMPLETED');
      // 1,000 + 2 × 1,500 + 2,000 paid; the change came back as coins.
      assert.equal(await walletBalance(), `JPY:${Number(jpy(before).minor) - 6000}`);

      // The shop sees both orders paid; the payment server's books still balance.
      const orders = await cli(['merchant', 'orders', '--data', shopDir, '--json'], {});
      const list = (JSON.parse(orders.out) as { orders: { transactionId: string; paymentState: string; purchaserKind?: string }[] }).orders;
      assert.deepEqual(list.map((o) => o.paymentState).sort(), ['PAID', 'PAID']);
      assert.ok(list.some((o) => o.transactionId === bought.transactionId));
      const history = JSON.parse((await cli(['wallet', 'history', '--data', dirs.wallet, '--json'], {})).out) as { purchases: { state: string; shop: { id: string } }[] };
      assert.deepEqual(history.purchases.map((p) => [p.state, p.shop.id]), [['COMPLETED', shopId], ['COMPLETED', shopId]]);
      const audit = await cli(['audit', '--db', `sqlite:${join(dirs.pay, 'payment.sqlite')}`], {});
      assert.equal(audit.code, 0, audit.out + audit.err);
      assert.match(audit.out, /ok\s+payments/);

      // Settled from the command line: the shop's bank account receives the 6,000 it took.
      const settle = await cli(['payment', 'settle', '--data', dirs.pay, '--json'], { QUITTANCE_PASSPHRASE: PASS });
      assert.equal(settle.code, 0, settle.out + settle.err);
      const statement = await fetch(`${urls.bank}/v1/accounts/${shopAccount}`, { headers: { authorization: `Bearer ${bankOperator}` } });
      assert.equal(((await statement.json()) as { balance: string }).balance, 'JPY:6000');
      const again = await cli(['payment', 'settle', '--data', dirs.pay, '--json'], { QUITTANCE_PASSPHRASE: PASS });
      assert.equal(again.code, 0, again.out + again.err);
      const settled = await cli(['audit', '--db', `sqlite:${join(dirs.pay, 'payment.sqlite')}`], {});
      assert.equal(settled.code, 0, settled.out + settled.err);
      assert.match(settled.out, /ok\s+settlements/);
    } finally {
      await shopApp.close();
      await shop.close();
    }
  });
});
