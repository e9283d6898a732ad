// The operator consoles (issue 6) are served by their own servers at /admin/:
// the payment console by the payment server, the CA console by the CA, the
// bank console by the bank — the built page (HTML that loads its script) when
// built, a 503 that says how to build it when not, and the API behind it still
// needs the operator token.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApp as createBank } from '../../src/bank/app.ts';
import { createApp as createCa } from '../../src/ca/app.ts';
import { createApp as createPayment } from '../../src/payment/app.ts';
import { startTestBank } from '../bank/harness.ts';
import { startTestCa } from '../ca/harness.ts';
import { testDatabases } from '../helpers/db.ts';
import { startTestPayment } from '../payment/harness.ts';

const sqlite = testDatabases()[0]!;
const built = mkdtempSync(join(tmpdir(), 'quittance-consoles-'));
const empty = mkdtempSync(join(tmpdir(), 'quittance-consoles-empty-'));
const SCRIPT = (page: string) => `./assets/index-${page}.js`;
for (const page of ['payment-admin', 'ca-admin', 'bank-admin']) {
  mkdirSync(join(built, page, 'assets'), { recursive: true });
  writeFileSync(join(built, page, 'index.html'), `<!doctype html><title>${page}</title><div id="app"></div><script type="module" crossorigin src="${SCRIPT(page)}"></script>`);
  writeFileSync(join(built, page, 'assets', `index-${page}.js`), `console.log(${JSON.stringify(page)})`);
}

type Party = { page: string; adminApi: string; make: (uiDir: string) => Promise<{ app: FastifyInstance; close: () => Promise<void> }> };

const PARTIES: Party[] = [
  {
    page: 'payment-admin',
    adminApi: '/v1/admin/payments',
    make: async (uiDir) => {
      const p = await startTestPayment(sqlite);
      const app = createPayment(p.deps, { uiDir });
      return { app, close: async () => (await app.close(), await p.close()) };
    },
  },
  {
    page: 'ca-admin',
    adminApi: '/v1/admin/registrations',
    make: async (uiDir) => {
      const ca = await startTestCa(sqlite);
      const app = createCa(ca.deps, { uiDir });
      return { app, close: async () => (await app.close(), await ca.close()) };
    },
  },
  {
    page: 'bank-admin',
    adminApi: '/v1/accounts',
    make: async (uiDir) => {
      const bank = await startTestBank(sqlite);
      const app = createBank(bank.deps, { uiDir });
      return { app, close: async () => (await app.close(), await bank.close()) };
    },
  },
];

describe('operator consoles at /admin/', () => {
  after(() => {
    rmSync(built, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  for (const party of PARTIES) {
    test(`${party.page}: the built page and its script; /admin redirects; the API behind it still needs the token`, async (ctx) => {
      const s = await party.make(built);
      ctx.after(() => s.close());
      const page = await s.app.inject({ url: '/admin/' });
      assert.equal(page.statusCode, 200);
      assert.match(page.headers['content-type'] as string, /^text\/html/);
      assert.ok(page.body.includes(`<title>${party.page}</title>`), page.body);
      assert.ok(page.body.includes(`<script type="module" crossorigin src="${SCRIPT(party.page)}">`));
      assert.equal(page.headers['x-frame-options'], 'DENY', 'an approve or revoke button must not be framable');
      const script = await s.app.inject({ url: `/admin/assets/index-${party.page}.js` });
      assert.equal(script.statusCode, 200);
      assert.match(script.headers['content-type'] as string, /^text\/javascript/);
      const bare = await s.app.inject({ url: '/admin' });
      assert.equal(bare.statusCode, 308);
      assert.equal(bare.headers.location, '/admin/');
      // Another party's console is not served here.
      const other = PARTIES.find((p) => p !== party)!.page;
      assert.equal((await s.app.inject({ url: `/admin/assets/index-${other}.js` })).statusCode, 404);
      const api = await s.app.inject({ url: party.adminApi });
      assert.equal(api.statusCode, 401);
      assert.equal(api.json<{ code: string }>().code, 'HTTP_AUTH_REQUIRED');
    });

    test(`${party.page}: not built → 503 saying how to build it`, async (ctx) => {
      const s = await party.make(empty);
      ctx.after(() => s.close());
      const r = await s.app.inject({ url: '/admin/' });
      assert.equal(r.statusCode, 503);
      assert.match(r.body, /npm run build:web/);
      assert.ok(r.body.includes(party.page));
    });

    test(`${party.page}: the page's source loads its script and is found by the build`, () => {
      const html = join(import.meta.dirname, '..', '..', 'web', 'pages', party.page, 'index.html');
      assert.ok(existsSync(html));
      assert.match(readFileSync(html, 'utf8'), /<script type="module" src="\.\/main\.tsx"><\/script>/);
    });
  }
});
