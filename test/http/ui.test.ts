// serveUi: a built page at a prefix, and nothing else — no traversal, no
// dotfiles, no files outside the page's folder; a clear 503 when not built.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createBaseApp } from '../../src/http/app.ts';
import { serveUi } from '../../src/http/ui.ts';

const dist = mkdtempSync(join(tmpdir(), 'quittance-ui-'));
mkdirSync(join(dist, 'shop', 'assets'), { recursive: true });
writeFileSync(join(dist, 'shop', 'index.html'), '<!doctype html><title>shop</title>');
writeFileSync(join(dist, 'shop', 'assets', 'index-abc.js'), 'console.log(1)');
writeFileSync(join(dist, 'shop', 'assets', 'index-abc.css'), 'body{}');
writeFileSync(join(dist, 'shop', '.secret'), 'hidden');
writeFileSync(join(dist, 'outside.txt'), 'not the page');
symlinkSync(join(dist, 'outside.txt'), join(dist, 'shop', 'link.txt'));

function app(page = 'shop') {
  const a = createBaseApp();
  serveUi(a, { page, prefix: '/shop/', distDir: dist, config: () => ({ walletUrl: 'http://127.0.0.1:7005/' }) });
  a.get('/v1/other', async () => ({ ok: true }));
  return a;
}

describe('serveUi', () => {
  after(() => rmSync(dist, { recursive: true, force: true }));

  test('the prefix serves index.html, revalidated, not framable; the bare prefix redirects to it', async () => {
    const a = app();
    const r = await a.inject({ url: '/shop/' });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/html/);
    assert.equal(r.body, '<!doctype html><title>shop</title>');
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.match(r.headers['content-security-policy'] as string, /frame-ancestors 'none'/);
    const bare = await a.inject({ url: '/shop' });
    assert.equal(bare.statusCode, 308);
    assert.equal(bare.headers.location, '/shop/');
    assert.equal((await a.inject({ url: '/v1/other' })).statusCode, 200, 'other routes are untouched');
  });

  test('hashed assets: their content type, cached for a year', async () => {
    const a = app();
    const js = await a.inject({ url: '/shop/assets/index-abc.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /^text\/javascript/);
    assert.match(js.headers['cache-control'] as string, /max-age=31536000, immutable/);
    const css = await a.inject({ url: '/shop/assets/index-abc.css?v=1' });
    assert.match(css.headers['content-type'] as string, /^text\/css/);
  });

  test('config.json: the public settings', async () => {
    const r = await app().inject({ url: '/shop/config.json' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { walletUrl: 'http://127.0.0.1:7005/' });
  });

  test('no traversal, dotfiles, encoded tricks or symlinks out of the folder: 404', async () => {
    const a = app();
    for (const url of ['/shop/../outside.txt', '/shop/%2e%2e/outside.txt', '/shop/assets/..%2f..%2foutside.txt', '/shop/.secret', '/shop/%2esecret', '/shop/link.txt', '/shop/assets/', '/shop/a%5c..%5c..%5coutside.txt', '/shop/%00', '/shop/%E0%A4%A', '/shop/missing.js']) {
      const r = await a.inject({ url });
      assert.ok(r.statusCode === 404 || r.statusCode === 400, `${url}: ${r.statusCode}`);
      assert.doesNotMatch(r.body, /not the page|hidden/, url);
    }
  });

  test('a page not built: 503 saying how to build it', async () => {
    const r = await app('storefront').inject({ url: '/shop/' });
    assert.equal(r.statusCode, 503);
    assert.match(r.body, /not built/);
    assert.match(r.body, /npm run build:web/);
  });

  test('bad options are refused', () => {
    assert.throws(() => serveUi(createBaseApp(), { page: 'shop', prefix: 'shop' }), TypeError);
    assert.throws(() => serveUi(createBaseApp(), { page: '../x', prefix: '/x/' }), TypeError);
  });
});
