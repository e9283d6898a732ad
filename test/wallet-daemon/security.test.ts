// The daemon against other web pages and bad input: the session token (401),
// DNS rebinding (Host, 403), cross-site requests (Origin, 403), no CORS, no
// framing; malformed bodies and unknown sessions get stable codes and change
// nothing; the page's files are served without leaving their directory; and
// on a real ephemeral port the Host rule follows the port actually bound.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { initWallet, openWallet, type OpenedWallet } from '../../src/wallet/open.ts';
import { tempDir } from '../cli/helpers.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { value } from '../helpers/results.ts';
import { OWN_HOST, PORT, startDaemon, type Daemon } from './daemon-world.ts';

const PASS = 'correct horse battery staple';
const now = () => PKI_NOW;
const offline: typeof fetch = async () => {
  throw new TypeError('fetch failed', { cause: new Error('no network in this test') });
};

type Ctx = { after: (fn: () => Promise<unknown>) => void };

async function bareWallet(ctx: Ctx): Promise<{ wallet: OpenedWallet; dir: string }> {
  const tmp = tempDir('quittance-walletd-');
  const dir = join(tmp.dir, 'w');
  value(await initWallet(dir, { passphrase: PASS, now }));
  const wallet = value(await openWallet(dir, { now }));
  ctx.after(async () => {
    await wallet.close();
    tmp.remove();
  });
  return { wallet, dir: tmp.dir };
}

async function daemon(ctx: Ctx, extra: { staticDir?: string } = {}): Promise<Daemon & { wallet: OpenedWallet; dir: string }> {
  const { wallet, dir } = await bareWallet(ctx);
  const seed = value(await wallet.unlockSeed(PASS));
  const d = await startDaemon({ wallet, seed, passphrase: PASS, now, fetch: offline, ...extra }, ctx);
  return { ...d, wallet, dir };
}

function statusWithHost(port: number, host: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/status', headers: { host, authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

const code = (r: { json: <T>() => T }) => r.json<{ code: string }>().code;

describe('wallet daemon: who may ask', () => {
  test('every /api route needs the bearer token: missing → 401 WALLETD_TOKEN_REQUIRED, wrong or malformed → 401 WALLETD_TOKEN_INVALID', async (ctx) => {
    const d = await daemon(ctx);
    assert.equal((await d.call('GET', '/api/status')).statusCode, 200);
    for (const url of ['/api/status', '/api/balance', '/api/purchases', '/api/payments', '/api/payments/x', '/api/purchases/tx/evidence']) {
      const r = await d.call('GET', url, undefined, { authorization: null });
      assert.deepEqual([r.statusCode, code(r)], [401, 'WALLETD_TOKEN_REQUIRED'], url);
    }
    for (const auth of [`Bearer ${d.token.slice(0, -1)}x`, `Bearer ${d.token}${d.token}`, `bearer ${d.token}`, `Basic ${d.token}`, `Bearer  ${d.token}`, 'Bearer ']) {
      const r = await d.call('GET', '/api/status', undefined, { authorization: auth });
      assert.deepEqual([r.statusCode, code(r)], [401, 'WALLETD_TOKEN_INVALID'], auth);
    }
    // A state-changing request without the token changes nothing.
    const post = await d.call('POST', '/api/payments', { uri: 'quittance://pay?shop=http%3A%2F%2Fshop.test%2F&items=A:1' }, { authorization: null });
    assert.equal(post.statusCode, 401);
    assert.deepEqual(d.sessions.list(), []);
  });

  test("Host must be the daemon's own host:port or localhost:port (DNS rebinding → 403), for pages and API alike", async (ctx) => {
    const d = await daemon(ctx);
    assert.equal((await d.call('GET', '/api/status', undefined, { host: `localhost:${PORT}` })).statusCode, 200);
    assert.equal((await d.call('GET', '/api/status', undefined, { host: `LOCALHOST:${PORT}` })).statusCode, 200);
    for (const host of ['evil.example', `evil.example:${PORT}`, '127.0.0.1', `127.0.0.1:${PORT + 1}`, `localhost:${PORT}.evil.example`, `127.0.0.2:${PORT}`, '']) {
      const r = await d.call('GET', '/api/status', undefined, { host });
      assert.deepEqual([r.statusCode, code(r)], [403, 'WALLETD_HOST_FORBIDDEN'], host);
    }
    const page = await d.call('GET', '/', undefined, { host: 'evil.example', authorization: null });
    assert.deepEqual([page.statusCode, code(page)], [403, 'WALLETD_HOST_FORBIDDEN']);
    const post = await d.call('POST', '/api/payments', { uri: 'quittance://pay?shop=http%3A%2F%2Fshop.test%2F&items=A:1' }, { host: 'evil.example' });
    assert.equal(post.statusCode, 403);
    assert.deepEqual(d.sessions.list(), []);
  });

  test("a request from another web page (Origin) is refused with 403 even with the token; the daemon's own origin is fine; no CORS headers", async (ctx) => {
    const d = await daemon(ctx);
    for (const origin of [`http://${OWN_HOST}`, `http://localhost:${PORT}`]) {
      const r = await d.call('GET', '/api/status', undefined, { origin });
      assert.equal(r.statusCode, 200, origin);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    for (const origin of ['https://evil.example', `https://${OWN_HOST}`, `http://${OWN_HOST}.evil.example`, `http://127.0.0.1:${PORT + 1}`, 'null']) {
      const r = await d.call('GET', '/api/status', undefined, { origin });
      assert.deepEqual([r.statusCode, code(r)], [403, 'WALLETD_ORIGIN_FORBIDDEN'], origin);
    }
    // A cross-site POST (a form or fetch from a page the user visits) pays nothing.
    const post = await d.call('POST', '/api/payments', { uri: 'quittance://pay?shop=http%3A%2F%2Fshop.test%2F&items=A:1' }, { origin: 'https://evil.example' });
    assert.deepEqual([post.statusCode, code(post)], [403, 'WALLETD_ORIGIN_FORBIDDEN']);
    assert.deepEqual(d.sessions.list(), []);
    // A CORS preflight is answered without any allow header.
    const preflight = await d.call('OPTIONS', '/api/payments', undefined, { origin: 'https://evil.example', 'access-control-request-method': 'POST', authorization: null });
    assert.equal(preflight.statusCode, 403);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(preflight.headers['access-control-allow-methods'], undefined);
  });

  test('answers are not cached and may not be framed', async (ctx) => {
    const d = await daemon(ctx);
    const r = await d.call('GET', '/api/status');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  });
});

describe('wallet daemon: bad input', () => {
  test('malformed payment requests: 415, 413, 400 with the pipeline code or PROTO_PAYMENT_URI_INVALID, 422 for a purse payment without a name; no session is made', async (ctx) => {
    const d = await daemon(ctx);
    const shop = encodeURIComponent('http://shop.test/');
    const cases: [unknown, number, string][] = [
      ['{"uri":', 400, 'HTTP_JSON_MALFORMED'],
      ['{"uri":"x","__proto__":{"a":1}}', 400, 'HTTP_JSON_MALFORMED'],
      [{}, 400, 'HTTP_SCHEMA_INVALID'],
      [{ uri: 42 }, 400, 'HTTP_SCHEMA_INVALID'],
      [{ uri: `quittance://pay?shop=${shop}&items=A:1`, extra: true }, 400, 'HTTP_SCHEMA_INVALID'],
      [{ uri: `quittance://pay?shop=${shop}&items=A:1`, mode: 'card' }, 400, 'HTTP_SCHEMA_INVALID'],
      [{ uri: 'x'.repeat(9000) }, 400, 'HTTP_SCHEMA_INVALID'],
      [{ uri: 'not a uri' }, 400, 'PROTO_PAYMENT_URI_INVALID'],
      [{ uri: `https://pay?shop=${shop}&items=A:1` }, 400, 'PROTO_PAYMENT_URI_INVALID'],
      [{ uri: `quittance://pay?shop=${encodeURIComponent('javascript:alert(1)')}&items=A:1` }, 400, 'PROTO_PAYMENT_URI_INVALID'],
      [{ uri: `quittance://pay?shop=${shop}&items=A:0` }, 400, 'PROTO_PAYMENT_URI_INVALID'],
      [{ uri: `quittance://pay?shop=${shop}&items=A:1&items=B:1` }, 400, 'PROTO_PAYMENT_URI_INVALID'],
      [{ uri: `quittance://pay?shop=${shop}&items=A:1&offer=abcdefgh12345678` }, 400, 'PROTO_PAYMENT_URI_INVALID'],
      [{ uri: `quittance://pay?shop=${shop}&items=A:1`, mode: 'account', anonymous: true }, 422, 'WALLET_PAYMENT_MODE_UNAVAILABLE'],
    ];
    for (const [body, status, c] of cases) {
      const r = await d.call('POST', '/api/payments', body);
      assert.deepEqual([r.statusCode, code(r)], [status, c], JSON.stringify(body).slice(0, 200));
    }
    const text = await d.call('POST', '/api/payments', 'uri=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.deepEqual([text.statusCode, code(text)], [415, 'HTTP_UNSUPPORTED_MEDIA_TYPE']);
    const big = await d.call('POST', '/api/payments', { uri: 'x'.repeat(70_000) });
    assert.deepEqual([big.statusCode, code(big)], [413, 'HTTP_BODY_TOO_LARGE']);
    assert.deepEqual(d.sessions.list(), [], 'no refused request started a purchase');
  });

  test('unknown session ids: 404 WALLETD_SESSION_NOT_FOUND for reading, waiting and answering; bad answers 400', async (ctx) => {
    const d = await daemon(ctx);
    for (const [method, url, body] of [
      ['GET', '/api/payments/nope', undefined],
      ['GET', '/api/payments/nope?after=0&wait=1', undefined],
      ['POST', '/api/payments/nope/answer', { accept: true, step: 'merchant' }],
    ] as const) {
      const r = await d.call(method, url, body);
      assert.deepEqual([r.statusCode, code(r)], [404, 'WALLETD_SESSION_NOT_FOUND'], url);
    }
    for (const body of [{ accept: 'yes' }, {}, { accept: true }, { accept: true, step: 'receipt' }, { accept: true, step: 'invoice', extra: 1 }]) {
      const r = await d.call('POST', '/api/payments/nope/answer', body);
      assert.deepEqual([r.statusCode, code(r)], [400, 'HTTP_SCHEMA_INVALID'], JSON.stringify(body));
    }
    for (const q of ['after=-1&wait=1', 'after=0&wait=100', 'wait=abc', 'other=1']) {
      const r = await d.call('GET', `/api/payments/nope?${q}`);
      assert.deepEqual([r.statusCode, code(r)], [400, 'HTTP_SCHEMA_INVALID'], q);
    }
  });

  test('an unregistered wallet: status says so; a refund or an evidence download of nothing is 404; registration input is checked', async (ctx) => {
    const d = await daemon(ctx);
    const s = (await d.call('GET', '/api/status')).json<{ identity: unknown; certificate: unknown }>();
    assert.deepEqual([s.identity, s.certificate], [null, null]);
    assert.deepEqual((await d.call('GET', '/api/purchases')).json(), { purchases: [] });
    for (const [method, url] of [['GET', '/api/purchases/tx-1'], ['GET', '/api/purchases/tx-1/evidence'], ['POST', '/api/purchases/tx-1/refunds'], ['POST', '/api/purchases/tx-1/resume']] as const) {
      const r = await d.call(method, url, method === 'POST' ? {} : undefined);
      assert.deepEqual([r.statusCode, code(r)], [404, 'WALLET_PURCHASE_NOT_FOUND'], url);
    }
    for (const body of [{ caUrl: 'ftp://ca.test/', displayName: 'Alice', realIdentity: { name: 'A', postalAddress: 'B', email: 'a@example.org' } }, { caUrl: 'http://ca.test/', displayName: 'Alice' }]) {
      const r = await d.call('POST', '/api/registration', body);
      assert.deepEqual([r.statusCode, code(r)], [400, 'HTTP_SCHEMA_INVALID']);
    }
    const refresh = await d.call('POST', '/api/registration/refresh');
    assert.deepEqual([refresh.statusCode, code(refresh)], [409, 'WALLET_NOT_REGISTERED']);
    // The CA is unreachable: 502 with the wallet's code, and no identity is stored.
    const reg = await d.call('POST', '/api/registration', { caUrl: 'http://ca.test/', displayName: 'Alice', realIdentity: { name: 'Alice A.', postalAddress: '1 Street', email: 'alice@example.org' } });
    assert.deepEqual([reg.statusCode, code(reg)], [502, 'WALLET_CA_UNREACHABLE']);
    assert.equal((await d.wallet.db.selectFrom('wallet_identity').select('id').execute()).length, 0);
  });
});

describe("wallet daemon: the page's files", () => {
  test('index.html at /, assets by name; nothing outside the directory, no dotfiles, /api never falls through to a file', async (ctx) => {
    const { dir: tmp } = await bareWallet(ctx);
    const site = join(tmp, 'site');
    mkdirSync(join(site, 'assets'), { recursive: true });
    mkdirSync(join(site, 'api'), { recursive: true });
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>wallet</title>');
    writeFileSync(join(site, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(site, '.env'), 'SECRET=1');
    writeFileSync(join(site, 'api', 'status'), 'not the api');
    writeFileSync(join(tmp, 'secret.txt'), 'outside');
    symlinkSync(join(tmp, 'secret.txt'), join(site, 'assets', 'link.txt'));
    const d = await daemon(ctx, { staticDir: site });
    const page = await d.call('GET', '/', undefined, { authorization: null });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.equal(page.body, '<!doctype html><title>wallet</title>');
    const js = await d.call('GET', '/assets/app.js?v=1', undefined, { authorization: null });
    assert.deepEqual([js.statusCode, js.body], [200, 'console.log(1)']);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/.env', '/assets/', '/missing.js', '/assets//app.js', '/assets/link.txt']) {
      const r = await d.call('GET', url, undefined, { authorization: null });
      assert.equal(r.statusCode, 404, url);
      assert.doesNotMatch(r.body, /outside|SECRET/, url);
    }
    const broken = await d.call('GET', '/%E0%A4%A', undefined, { authorization: null });
    assert.equal(broken.statusCode, 400, 'a path that is not percent-encoding is refused by the router');
    const api = await d.call('GET', '/api/nothing-here');
    assert.equal(api.statusCode, 404);
    assert.doesNotMatch(api.body, /not the api/);
    const apiNoToken = await d.call('GET', '/api/status', undefined, { authorization: null });
    assert.equal(apiNoToken.statusCode, 401, 'a file named like a route never answers for it');
  });
});

describe('wallet daemon: listening', () => {
  test('on an ephemeral port, the Host rule follows the port actually bound', async (ctx) => {
    const { wallet } = await bareWallet(ctx);
    const seed = value(await wallet.unlockSeed(PASS));
    let port = 0;
    const d = await startDaemon({ wallet, seed, passphrase: PASS, now, fetch: offline, listening: { host: '127.0.0.1', port: () => port } }, ctx);
    await d.app.listen({ port: 0, host: '127.0.0.1' });
    port = (d.app.server.address() as AddressInfo).port;
    const base = `http://127.0.0.1:${port}`;
    const ok = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${d.token}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { walletId: string }).walletId, wallet.walletId);
    // fetch() will not send a Host of our choosing; node:http will, as a rebound browser would.
    assert.equal(await statusWithHost(port, 'evil.example', d.token), 403);
    assert.equal(await statusWithHost(port, `127.0.0.1:${PORT}`, d.token), 403, 'the configured port before listening is not the bound one');
    assert.equal(await statusWithHost(port, `localhost:${port}`, d.token), 200);
    const cross = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${d.token}`, origin: 'https://evil.example' } });
    assert.equal(cross.status, 403);
    const anonymous = await fetch(`${base}/api/status`);
    assert.equal(anonymous.status, 401);
  });
});
