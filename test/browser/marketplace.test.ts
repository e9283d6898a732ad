// The marketplace in a real browser (Debian's chromium through playwright-core):
// the real `quittance demo` process; storefront → two articles → Pay with
// Quittance → the wallet page shows the verified shop and the invoice → OK →
// receipt → the shop's dashboard shows PAID → a refund from the wallet → both
// show it. And a tampered invoice (altered by a proxy between the wallet
// daemon and the shop) ends in the hard stop. Screenshots: artifacts/screenshots/.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BIN, REPO, tempDir } from '../cli/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO, 'artifacts', 'screenshots');

type Ready = { urls: { merchant: string }; wallet: string; storefront: string; dashboard: string };

function startDemo(data: string, basePort: number): Promise<{ child: ChildProcess; ready: Ready; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, 'demo', '--data', data, '--base-port', String(basePort), '--json'], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t));
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    lines.once('line', (line) => resolve({ child, ready: JSON.parse(line) as Ready, stderr: () => err }));
    child.once('exit', (code) => reject(Object.assign(new Error(`demo exited early (${code}): ${err}`), { stderr: err })));
  });
}

/**
 * A proxy in front of the shop that alters the invoice in the answer to POST
 * /v1/orders (one more yen in its signed payload), as a network attacker would.
 */
let tampered = 0;

function tamperingProxy(target: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const t = new URL(target);
      const up = httpRequest({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        const body: Buffer[] = [];
        r.on('data', (c: Buffer) => body.push(c));
        r.on('end', () => {
          let out = Buffer.concat(body);
          if (req.method === 'POST' && req.url === '/v1/orders' && (r.statusCode ?? 0) >= 200 && (r.statusCode ?? 0) < 300) {
            tampered++;
            const answer = JSON.parse(out.toString('utf8')) as { invoice: { payload: string } };
            const invoice = JSON.parse(Buffer.from(answer.invoice.payload, 'base64url').toString('utf8')) as { amount: string };
            invoice.amount = invoice.amount.replace(/\d+$/, (d) => String(Number(d) - 1));
            answer.invoice.payload = Buffer.from(JSON.stringify(invoice)).toString('base64url');
            out = Buffer.from(JSON.stringify(answer));
          }
          const headers = { ...r.headers, 'content-length': String(out.length) };
          res.writeHead(r.statusCode ?? 502, headers);
          res.end(out);
        });
      });
      up.on('error', () => res.writeHead(502).end());
      up.end(Buffer.concat(chunks));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` })));
}

describe('the marketplace in the browser', () => {
  const tmp = tempDir('quittance-browser-');
  let demo: Awaited<ReturnType<typeof startDemo>>;
  let browser: Browser;
  let page: Page;
  let proxy: Server | undefined;
  let dataDir = '';
  let step = 0;
  const shot = async (name: string) => {
    step++;
    await page.screenshot({ path: join(SHOTS, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  before(async () => {
    // No silent skip: a machine without the browser fails here, saying how to get it.
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install it with \`apt-get install -y --no-install-recommends chromium\` (.ci/run does)`);
    mkdirSync(SHOTS, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      try {
        dataDir = join(tmp.dir, `demo-${attempt}`);
        demo = await startDemo(dataDir, 20_000 + Math.floor(Math.random() * 20_000));
        break;
      } catch (e) {
        if (attempt >= 5 || !/CLI_PORT_IN_USE/.test((e as { stderr?: string }).stderr ?? '')) throw e;
      }
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    proxy?.close();
    if (demo?.child.exitCode === null) demo.child.kill('SIGKILL');
    tmp.remove();
  });

  test('storefront → two articles → pay in the wallet (verified shop, invoice, OK, receipt) → dashboard PAID → refund shows on both sides', async () => {
    // The wallet link carries the session token; the page keeps it in this tab and drops it from the address.
    await page.goto(demo.ready.wallet);
    await page.getByTestId('balance-JPY').waitFor();
    assert.doesNotMatch(page.url(), /token=/);
    assert.match(await page.getByTestId('balance-JPY').innerText(), /20,000/);
    await shot('wallet-home');

    await page.goto(demo.ready.storefront);
    await page.getByTestId('article-ARTICLE-A').getByRole('button', { name: /Add/ }).click();
    await page.getByTestId('article-ARTICLE-C').getByRole('button', { name: /Add/ }).click();
    await page.getByTestId('article-ARTICLE-C').getByRole('button', { name: /Add/ }).click();
    // 1,000 + 2 × 1,500.
    assert.match(await page.getByTestId('cart-total').innerText(), /4,000/);
    const uri = await page.getByTestId('payment-uri').inputValue();
    assert.match(uri, /^quittance:\/\/pay\?shop=.+&items=ARTICLE-A:1,ARTICLE-C:2$/);
    await shot('storefront-cart');

    await page.getByTestId('pay-link').click();
    await page.getByTestId('pay-start').click();
    await page.getByTestId('trusted-display').waitFor();
    assert.match(await page.getByTestId('trusted-display').innerText(), /Verified shop/);
    assert.equal(await page.getByTestId('shop-name').innerText(), 'Tokyo On-line Mail Order Dealer');
    assert.match(await page.getByTestId('shop-fingerprint').innerText(), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    await shot('wallet-verified-shop');
    await page.getByTestId('accept-merchant').click();

    await page.getByTestId('invoice').waitFor();
    assert.match(await page.getByTestId('invoice-amount').innerText(), /4,000/);
    assert.match(await page.getByTestId('invoice-lines').innerText(), /ARTICLE A[\s\S]*ARTICLE C/);
    const tx = await page.getByTestId('invoice-transaction').innerText();
    await shot('wallet-invoice');
    await page.getByTestId('accept-invoice').click();

    await page.getByTestId('receipt').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('receipt-transaction').innerText(), tx);
    assert.match(await page.getByTestId('receipt').innerText(), /4,000/);
    await shot('wallet-receipt');

    // The shop's dashboard: log in with the operator token, the order is PAID.
    const operatorToken = (JSON.parse(readFileSync(join(dataDir, 'demo.json'), 'utf8')) as { operatorTokens: { merchant: string } }).operatorTokens.merchant;
    const dash = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await dash.goto(demo.ready.dashboard);
    await dash.getByLabel('Operator token').fill('wrong-token');
    await dash.getByRole('button', { name: 'Log in' }).click();
    await dash.getByRole('alert').waitFor();
    assert.match(await dash.getByRole('alert').innerText(), /HTTP_AUTH_INVALID|401/);
    await dash.getByLabel('Operator token').fill(operatorToken);
    await dash.getByRole('button', { name: 'Log in' }).click();
    const row = dash.getByTestId(`order-${tx}`);
    await row.waitFor();
    assert.match(await row.getByTestId('order-state').innerText(), /^PAID$/);
    await dash.screenshot({ path: join(SHOTS, `${String(++step).padStart(2, '0')}-dashboard-paid.png`), fullPage: true });

    // A refund from the wallet: the purchase, the request (fig. 24), the permit (fig. 25).
    await page.getByTestId('open-purchase').click();
    await page.getByTestId('purchase-detail').waitFor();
    await page.getByLabel(/^Amount/).fill('JPY:1000');
    await page.getByLabel('Reason').fill('ARTICLE A returned');
    await page.getByTestId('refund-submit').click();
    await page.getByTestId('refund-notice').waitFor({ timeout: 30_000 });
    const refund = page.getByTestId('refund');
    await refund.waitFor();
    assert.match(await refund.innerText(), /1,000[\s\S]*ARTICLE A returned[\s\S]*COMPLETED/);
    assert.match(await refund.innerText(), /Repayment permit \(fig\. 25\)[\s\S]*Permit id/);
    await shot('wallet-refund');

    // The shop learns the refund from the payment server (its notification, or its sweep): reload until it shows.
    const refunded = async () => (await dash.locator(`[data-testid="order-${tx}"] [data-testid="order-state"]`).textContent()) === 'PARTIALLY_REFUNDED';
    for (let i = 0; i < 60 && !(await refunded()); i++) {
      await dash.getByRole('button', { name: 'Reload' }).click();
      await dash.waitForTimeout(500);
    }
    assert.ok(await refunded(), 'the dashboard shows the order PARTIALLY_REFUNDED');
    await dash.getByRole('button', { name: `Open order ${tx}` }).click();
    await dash.getByTestId('order-lines').waitFor();
    assert.match(await dash.getByTestId('order-detail').innerText(), /ARTICLE A returned/);
    await dash.screenshot({ path: join(SHOTS, `${String(++step).padStart(2, '0')}-dashboard-refund.png`), fullPage: true });
    await dash.close();
  });

  test('a tampered invoice: the hard stop, with the code and no OK', async () => {
    const p = await tamperingProxy(demo.ready.urls.merchant);
    proxy = p.server;
    const uri = `quittance://pay?shop=${encodeURIComponent(p.url)}&items=ARTICLE-B:1`;
    const wallet = new URL(demo.ready.wallet);
    await page.goto(`${wallet.origin}/#pay=${encodeURIComponent(uri)}`);
    await page.getByTestId('pay-start').click();
    await page.getByTestId('accept-merchant').click();
    await page.getByTestId('hard-stop').waitFor({ timeout: 30_000 }).catch(async (e: unknown) => {
      await shot('wallet-hard-stop-missing');
      throw e;
    });
    assert.match(await page.getByTestId('hard-stop-code').innerText(), /^[A-Z]+_[A-Z_]+$/);
    assert.equal(await page.getByTestId('hard-stop-code').innerText(), 'PROTO_JWS_SIGNATURE_INVALID');
    assert.equal(await page.getByTestId('accept-invoice').count(), 0);
    assert.equal(tampered, 1, 'the proxy altered the invoice');
    await shot('wallet-hard-stop');
  });

  test('the storefront at 390 px: everything reachable without sideways scrolling', async () => {
    const small = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await small.goto(demo.ready.storefront);
    await small.getByTestId('article-ARTICLE-A').getByRole('button', { name: /Add/ }).click();
    await small.getByTestId('pay-link').waitFor();
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 0) console.log(await small.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth && !e.closest('.table-wrap')).slice(0, 8).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).join('\n')));
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    const box = await small.getByTestId('pay-link').boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, 'the pay button is on screen');
    await small.screenshot({ path: join(SHOTS, `${String(++step).padStart(2, '0')}-storefront-390.png`), fullPage: true });
    await small.close();
  });
});
