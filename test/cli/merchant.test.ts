// `quittance merchant …`: init from CA-issued certificates (wrong role, wrong
// key and a payment chain that is not a payment server refused), serve as a
// real process that signs a hello and invoices an order from a CA-issued
// client, then `orders` and `show` read the stored order.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { decryptPrivateKey } from '../../src/crypto/index.ts';
import { sellingConditionsHash } from '../../src/merchant/config.ts';
import { HELLO_RESPONSE_TYP, INVOICE_TYP, ORDER_TYP, parseDocument } from '../../src/protocol/documents/index.ts';
import { signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { pemToDer, x509 } from '../../src/protocol/x509/index.ts';
import { BIN, PASS, cli, initCaDir, issue, tempDir } from './helpers.ts';

function chainDer(pem: string): Uint8Array[] {
  return x509.PemConverter.decodeWithHeaders(pem).map((b) => new Uint8Array(b.rawData));
}

describe('merchant init / serve / orders / show', () => {
  const tmp = tempDir();
  const ca = join(tmp.dir, 'ca');
  const shopCert = join(tmp.dir, 'shop');
  const payCert = join(tmp.dir, 'pay');
  const clientCert = join(tmp.dir, 'client');
  const data = join(tmp.dir, 'merchant');
  let shopId = '';
  let payId = '';
  let clientId = '';
  let token = '';
  const chain = (dir: string) => join(dir, 'chain.pem');
  const key = (dir: string) => join(dir, 'key.pem');

  before(async () => {
    await initCaDir(ca);
    shopId = (await issue(ca, 'merchant', 'Tokyo On-line Mail Order Dealer', shopCert)).partyId;
    payId = (await issue(ca, 'payment', 'Quittance Pay', payCert)).partyId;
    clientId = (await issue(ca, 'client', 'Alice', clientCert)).partyId;
  });
  after(() => tmp.remove());

  test('--help for every command', async () => {
    for (const c of ['init', 'serve', 'orders', 'show']) {
      const r = await cli(['merchant', c, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp(`^Usage: quittance merchant ${c}`));
    }
  });

  test('init refuses another role, a key that is not the certified one, and a payment chain of another role', async () => {
    const base = ['merchant', 'init', '--data', data];
    const role = await cli([...base, '--cert', chain(payCert), '--key', key(payCert)]);
    assert.equal(role.code, 1);
    assert.match(role.err, /^MERCHANT_CERT_ROLE_NOT_MERCHANT: /);
    const mismatch = await cli([...base, '--cert', chain(shopCert), '--key', key(payCert)]);
    assert.match(mismatch.err, /^MERCHANT_KEY_CERT_MISMATCH: /);
    const leafOnly = await cli([...base, '--cert', join(shopCert, 'cert.pem'), '--key', key(shopCert)]);
    assert.match(leafOnly.err, /^MERCHANT_CERT_INVALID: .*CA root/);
    const payRole = await cli([...base, '--cert', chain(shopCert), '--key', key(shopCert), '--payment-url', 'http://127.0.0.1:7003', '--payment-cert', chain(clientCert)]);
    assert.match(payRole.err, /^MERCHANT_PAYMENT_CERT_INVALID: /);
    const half = await cli([...base, '--cert', chain(shopCert), '--key', key(shopCert), '--payment-url', 'http://127.0.0.1:7003']);
    assert.equal(half.code, 2);
    assert.equal(existsSync(join(data, 'merchant.json')), false);
  });

  test('init writes the config with the demo catalogue and prints the operator token once; init again is refused', async () => {
    const r = await cli(['merchant', 'init', '--data', data, '--cert', chain(shopCert), '--key', key(shopCert), '--payment-url', 'http://127.0.0.1:7003', '--payment-cert', chain(payCert), '--due-minutes', '45']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`party id: ${shopId}`));
    assert.match(r.out, new RegExp(`payment server: ${payId} \\("Quittance Pay"\\) at http://127.0.0.1:7003/`));
    token = /operator token \(shown once, keep it secret\): (\S+)/.exec(r.out)![1]!;
    const config = JSON.parse(readFileSync(join(data, 'merchant.json'), 'utf8')) as {
      paymentServer: unknown;
      paymentDueMinutes: number;
      catalogue: { articles: { name: string; unitPrice: string }[] };
      adminTokenHashes: string[];
    };
    assert.deepEqual(config.paymentServer, { url: 'http://127.0.0.1:7003/' });
    assert.equal(config.paymentDueMinutes, 45);
    assert.deepEqual(
      config.catalogue.articles.map((a) => `${a.name} ${a.unitPrice}`),
      ['ARTICLE A JPY:1000', 'ARTICLE B JPY:2000', 'ARTICLE C JPY:1500', 'ARTICLE D JPY:500'],
    );
    assert.equal(JSON.stringify(config).includes(token), false, 'only the token hash is stored');
    const again = await cli(['merchant', 'init', '--data', data, '--cert', chain(shopCert), '--key', key(shopCert)]);
    assert.match(again.err, /^MERCHANT_DATA_EXISTS: /);
    const empty = await cli(['merchant', 'orders', '--data', data]);
    assert.equal(empty.code, 0, empty.err);
    assert.equal(empty.out, 'no orders yet\n');
  });

  test('serve (real process): signed hello, an order from a CA-issued client invoiced; orders and show list it', async () => {
    const child = spawn(process.execPath, [BIN, 'merchant', 'serve', '--data', data, '--port', '0'], {
      env: { PATH: process.env.PATH, QUITTANCE_PASSPHRASE: PASS, QUITTANCE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const url = await new Promise<string>((resolve, reject) => {
        lines.on('line', (line) => {
          const msg = JSON.parse(line) as { event?: string; party?: string; url?: string };
          if (msg.event === 'ready' && msg.party === 'merchant' && msg.url) resolve(msg.url);
        });
        child.once('exit', (code) => reject(new Error(`merchant serve exited early (${code})`)));
      });
      const root = pemToDer(readFileSync(join(ca, 'ca-cert.pem'), 'utf8'), 'CERTIFICATE')!;
      const policy = (typ: string) => ({ now: new Date(), trustAnchors: [root], crls: [], requireCrl: false, crlMaxAgeSeconds: 86_400, expectedTyp: typ, signers: [{ roles: ['merchant' as const] }] });

      const nonce = 'AAECAwQFBgcICQoLDA0ODw';
      const hello = await fetch(`${url}/v1/hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nonce }) });
      assert.equal(hello.status, 200);
      const h = await verifyDocument(await hello.json(), policy(HELLO_RESPONSE_TYP));
      assert.ok(h.ok, JSON.stringify(h));
      const helloDoc = parseDocument(HELLO_RESPONSE_TYP, h.value.payload);
      assert.ok(helloDoc.ok);
      assert.equal(helloDoc.value.nonce, nonce);
      assert.equal(helloDoc.value.merchant.id, shopId);
      assert.equal(helloDoc.value.merchant.url, `${url}/`);

      const catalogue = (await (await fetch(`${url}/v1/catalogue`)).json()) as { articles: { id: string; name: string; unitPrice: string }[]; sellingConditions: { text: string; hash: string } };
      assert.equal(catalogue.sellingConditions.hash, sellingConditionsHash(catalogue.sellingConditions.text));
      const [a, , c] = catalogue.articles;
      const clientKey = await decryptPrivateKey(readFileSync(key(clientCert), 'utf8'), PASS);
      assert.ok(clientKey.ok);
      const order = await signDocument({
        payload: {
          typ: ORDER_TYP,
          orderId: 'b3JkZXItZnJvbS10aGUtY2xp',
          merchantId: shopId,
          purchaserId: clientId,
          lines: [
            { article: a!.id, name: a!.name, quantity: 1, unitPrice: a!.unitPrice },
            { article: c!.id, name: c!.name, quantity: 2, unitPrice: c!.unitPrice },
          ],
          total: 'JPY:4000',
          paymentMode: 'ecash',
          sellingConditionsHash: catalogue.sellingConditions.hash,
          time: new Date().toISOString(),
        },
        typ: ORDER_TYP,
        privateKey: clientKey.value.privateKey,
        alg: 'EdDSA',
        x5c: chainDer(readFileSync(chain(clientCert), 'utf8')),
      });
      const res = await fetch(`${url}/v1/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order }) });
      assert.equal(res.status, 201, await res.clone().text());
      const body = (await res.json()) as { transactionId: string; invoice: unknown };
      const inv = await verifyDocument(body.invoice, policy(INVOICE_TYP));
      assert.ok(inv.ok, JSON.stringify(inv));
      const invoice = parseDocument(INVOICE_TYP, inv.value.payload);
      assert.ok(invoice.ok);
      assert.deepEqual(invoice.value.paymentServer, { id: payId, name: 'Quittance Pay' });
      assert.equal(Date.parse(invoice.value.paymentDueTime) - Date.parse(invoice.value.billTime), 45 * 60_000);

      const admin = await fetch(`${url}/v1/admin/orders`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(admin.status, 200);
      assert.deepEqual(((await admin.json()) as { orders: { transactionId: string }[] }).orders.map((o) => o.transactionId), [body.transactionId]);
    } finally {
      // Wait for the exit: the server must have closed its database before this process opens it.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }

    const list = await cli(['merchant', 'orders', '--data', data, '--json']);
    assert.equal(list.code, 0, list.err);
    const orders = (JSON.parse(list.out) as { orders: { transactionId: string; amount: string; paymentState: string; purchaserId: string }[] }).orders;
    assert.equal(orders.length, 1);
    assert.deepEqual([orders[0]!.amount, orders[0]!.paymentState, orders[0]!.purchaserId], ['JPY:4000', 'UNPAID', clientId]);
    const text = await cli(['merchant', 'orders', '--data', data]);
    assert.match(text.out, new RegExp(`^${orders[0]!.transactionId}\\s+UNPAID\\s+JPY:4000\\s+ecash`));
    const show = await cli(['merchant', 'show', orders[0]!.transactionId, '--data', data]);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /ARTICLE-C\s+ARTICLE C\s+2 × JPY:1500/);
    const missing = await cli(['merchant', 'show', 'tx-none', '--data', data]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^MERCHANT_ORDER_NOT_FOUND: /);
  });
});
