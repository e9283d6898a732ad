// `quittance merchant api-key create|list|revoke` and `wallet buy URI` from
// the command line: a key is printed once and then works against the shop
// API, lists never show it, a revoked key is refused at once; malformed
// arguments are usage errors (exit 2) that touch nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../src/merchant/app.ts';
import { openMerchant } from '../../src/merchant/open.ts';
import { PASS, cli, initCaDir, issue, tempDir } from './helpers.ts';

describe('merchant api-key / wallet buy URI', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'merchant');

  before(async () => {
    const ca = join(tmp.dir, 'ca');
    await initCaDir(ca);
    await issue(ca, 'merchant', 'Tokyo On-line Mail Order Dealer', join(tmp.dir, 'shop'));
    await issue(ca, 'payment', 'Quittance Pay', join(tmp.dir, 'pay'));
    const r = await cli(['merchant', 'init', '--data', data, '--cert', join(tmp.dir, 'shop', 'chain.pem'), '--key', join(tmp.dir, 'shop', 'key.pem'), '--payment-url', 'http://127.0.0.1:7003', '--payment-cert', join(tmp.dir, 'pay', 'chain.pem')]);
    assert.equal(r.code, 0, r.err);
  });
  after(() => tmp.remove());

  async function shopApiStatus(key: string): Promise<{ status: number; code?: string }> {
    const m = await openMerchant(data, { passphrase: PASS });
    const app = createApp(m.deps);
    try {
      const res = await app.inject({ method: 'GET', url: '/v1/shop/orders', headers: { authorization: `Bearer ${key}` } });
      return { status: res.statusCode, ...(res.statusCode !== 200 ? { code: res.json<{ code: string }>().code } : {}) };
    } finally {
      await app.close();
      await m.close();
    }
  }

  test('create prints the key once; it opens the shop API; list shows no key; revoke refuses it from the next request', async () => {
    const created = await cli(['merchant', 'api-key', 'create', '--name', 'web shop', '--data', data]);
    assert.equal(created.code, 0, created.err);
    const key = created.out.trim();
    assert.match(key, /^qk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.match(created.err, /shown only now/);
    const keyId = key.slice(3, 19);
    assert.deepEqual(await shopApiStatus(key), { status: 200 });

    const json = await cli(['merchant', 'api-key', 'create', '--data', data, '--json']);
    const second = JSON.parse(json.out) as { keyId: string; key: string; createdAt: string; name?: string };
    assert.equal(second.name, undefined);
    assert.notEqual(second.key, key);

    const list = await cli(['merchant', 'api-key', 'list', '--data', data, '--json']);
    assert.equal(list.code, 0);
    const keys = (JSON.parse(list.out) as { keys: { keyId: string; name?: string; revokedAt?: string }[] }).keys;
    assert.deepEqual(new Set(keys.map((k) => k.keyId)), new Set([keyId, second.keyId]));
    assert.equal(keys.find((k) => k.keyId === keyId)?.name, 'web shop');
    const text = await cli(['merchant', 'api-key', 'list', '--data', data]);
    assert.ok(!text.out.includes(key.slice(20)) && !list.out.includes(key.slice(20)), 'a list never shows a key');
    assert.match(text.out, new RegExp(`${keyId}\\s+active`));

    const revoked = await cli(['merchant', 'api-key', 'revoke', keyId, '--data', data]);
    assert.equal(revoked.code, 0, revoked.err);
    assert.deepEqual(await shopApiStatus(key), { status: 401, code: 'MERCHANT_API_KEY_REVOKED' });
    assert.deepEqual(await shopApiStatus(second.key), { status: 200 });
    assert.match((await cli(['merchant', 'api-key', 'list', '--data', data])).out, new RegExp(`${keyId}\\s+revoked`));

    const unknown = await cli(['merchant', 'api-key', 'revoke', '0123456789abcdef', '--data', data]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^MERCHANT_API_KEY_NOT_FOUND: /);
  });

  test('usage errors: exit 2, no key made', async () => {
    const before = (await cli(['merchant', 'api-key', 'list', '--data', data, '--json'])).out;
    for (const argv of [[], ['frob'], ['revoke'], ['revoke', 'a', 'b'], ['list', '--name', 'x'], ['create', 'extra'], ['create', '--name', 'bad\u0007name'], ['create', '--name', '']]) {
      const r = await cli(['merchant', 'api-key', ...argv, '--data', data]);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    }
    assert.equal((await cli(['merchant', 'api-key', 'list', '--data', data, '--json'])).out, before);
  });

  test('wallet buy takes a payment URI instead of --merchant/--item; a malformed one is a usage error', async () => {
    const w = join(tmp.dir, 'no-wallet');
    const uri = 'quittance://pay?shop=http%3A%2F%2F127.0.0.1%3A7004%2F&offer=of-1';
    const cases: [string[], RegExp][] = [
      [['quittance://pay?shop=ftp%3A%2F%2Fx%2F&offer=of-1'], /PROTO_PAYMENT_URI_INVALID|not a Quittance payment URI: shop/],
      [['https://shop.example/'], /not a Quittance payment URI/],
      [[uri, '--merchant', 'http://127.0.0.1:7004'], /--merchant does not go with a payment URI/],
      [[uri, '--item', 'A:1'], /--item does not go with a payment URI/],
      [[uri, uri], /one payment URI/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['wallet', 'buy', '--data', w, ...args]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, message);
    }
  });
});
