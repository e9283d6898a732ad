// Merchants by contract (issue 4): only a `merchant` certificate of the
// payment server's own CA is added, once; suspending and re-activating it;
// and the operator commands `payment add-merchant | merchants | suspend-merchant`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addMerchant, checkMerchantChain, isActiveMerchant, listMerchants, setMerchantStatus } from '../../src/payment/merchants.ts';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { PAYMENT_MIGRATIONS } from '../../src/payment/migrations/index.ts';
import { certificateToPem } from '../../src/protocol/x509/index.ts';
import { migrate } from '../../src/store/index.ts';
import { cli, initCaDir, issue, tempDir } from '../cli/helpers.ts';
import { buildPki, PKI_NOW, type LeafHandle } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';

const PKI = await buildPki();
const OTHER = await buildPki();
const pem = (leaf: LeafHandle) => leaf.chain.map((c) => certificateToPem(c)).join('');

for (const t of testDatabases()) {
  void describe(`payment merchants (${t.name})`, () => {
    async function open(ctx: { after: (fn: () => Promise<void>) => void }) {
      const h = await t.open<PaymentDatabase>();
      ctx.after(() => h.cleanup());
      await migrate(h.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
      return h.db;
    }

    void test('add, list, suspend, activate; the same merchant twice is PAY_MERCHANT_EXISTS', async (ctx) => {
      const db = await open(ctx);
      const shop = await PKI.leaf({ role: 'merchant', partyId: 'shop-1', displayName: 'Tokyo On-line Mail Order Dealer' });
      const added = value(await addMerchant(db, { chainPem: pem(shop), payoutAccount: null, trustAnchor: PKI.root.der, now: PKI_NOW }));
      assert.equal(added.merchantId, 'shop-1');
      assert.equal(added.displayName, 'Tokyo On-line Mail Order Dealer');
      assert.equal(added.status, 'active');
      assert.match(added.fingerprint, /^[0-9a-f]{64}$/);
      assert.equal(await isActiveMerchant(db, 'shop-1'), true);
      const again = await addMerchant(db, { chainPem: pem(shop), payoutAccount: null, trustAnchor: PKI.root.der, now: PKI_NOW });
      assert.equal(!again.ok && again.code, 'PAY_MERCHANT_EXISTS');
      assert.equal(value(await setMerchantStatus(db, 'shop-1', 'suspended', PKI_NOW)).status, 'suspended');
      assert.equal(await isActiveMerchant(db, 'shop-1'), false);
      value(await setMerchantStatus(db, 'shop-1', 'active', PKI_NOW));
      assert.equal(await isActiveMerchant(db, 'shop-1'), true);
      const unknown = await setMerchantStatus(db, 'shop-9', 'suspended', PKI_NOW);
      assert.equal(!unknown.ok && unknown.code, 'PAY_MERCHANT_UNKNOWN');
      assert.deepEqual((await listMerchants(db)).map((m) => m.merchantId), ['shop-1']);
      assert.equal(await isActiveMerchant(db, 'shop-9'), false);
    });

    void test('refused: another role, another CA, expired, not PEM; nothing written', async (ctx) => {
      const db = await open(ctx);
      const client = await PKI.leaf({ role: 'client', partyId: 'shop-1' });
      const foreign = await OTHER.leaf({ role: 'merchant', partyId: 'shop-1' });
      const expired = await PKI.leaf({ role: 'merchant', partyId: 'shop-1', notAfter: new Date(PKI_NOW.getTime() - 1000) });
      for (const [chainPem, cause] of [
        [pem(client), 'PROTO_CERT_ROLE_MISMATCH'],
        [pem(foreign), 'PROTO_CERT_SIGNATURE_INVALID'],
        [pem(expired), 'PROTO_CERT_EXPIRED'],
      ] as const) {
        const r = await addMerchant(db, { chainPem, payoutAccount: null, trustAnchor: PKI.root.der, now: PKI_NOW });
        assert.ok(!r.ok);
        assert.equal(r.code, 'PAY_MERCHANT_CERT_INVALID');
        assert.deepEqual(r.details, { code: cause });
      }
      const notPem = await checkMerchantChain('hello', PKI.root.der, PKI_NOW);
      assert.equal(!notPem.ok && notPem.code, 'PAY_CERT_INVALID');
      assert.deepEqual(await listMerchants(db), []);
    });
  });
}

void describe('quittance payment add-merchant / merchants / suspend-merchant', () => {
  const tmp = tempDir();
  const ca = join(tmp.dir, 'ca');
  const data = join(tmp.dir, 'payment');
  let shopId = '';

  before(async () => {
    await initCaDir(ca);
    await issue(ca, 'payment', 'Quittance Pay', join(tmp.dir, 'pay'));
    shopId = (await issue(ca, 'merchant', 'A Shop', join(tmp.dir, 'shop'))).partyId;
    await issue(ca, 'client', 'Alice', join(tmp.dir, 'alice'));
    const init = await cli(['payment', 'init', '--data', data, '--cert', join(tmp.dir, 'pay', 'chain.pem'), '--key', join(tmp.dir, 'pay', 'key.pem')]);
    assert.equal(init.code, 0, init.err);
  });
  after(() => tmp.remove());

  void test('a merchant certificate of this CA is added once; a client certificate is refused; suspend shows in the list', async () => {
    const wrongRole = await cli(['payment', 'add-merchant', '--data', data, '--cert', join(tmp.dir, 'alice', 'chain.pem')], {});
    assert.equal(wrongRole.code, 1);
    assert.match(wrongRole.err, /^PAY_MERCHANT_CERT_INVALID: /);
    const badPayout = await cli(['payment', 'add-merchant', '--data', data, '--cert', join(tmp.dir, 'shop', 'chain.pem'), '--payout', 'QB00NOTANACCOUNT'], {});
    assert.equal(badPayout.code, 2, badPayout.err);

    const added = await cli(['payment', 'add-merchant', '--data', data, '--cert', join(tmp.dir, 'shop', 'chain.pem'), '--json'], {});
    assert.equal(added.code, 0, added.err);
    assert.equal((JSON.parse(added.out) as { merchant: { merchantId: string; status: string } }).merchant.merchantId, shopId);
    const twice = await cli(['payment', 'add-merchant', '--data', data, '--cert', join(tmp.dir, 'shop', 'chain.pem'), '--json'], {});
    assert.equal(twice.code, 1);
    assert.equal((JSON.parse(twice.out) as { code: string }).code, 'PAY_MERCHANT_EXISTS');

    const suspended = await cli(['payment', 'suspend-merchant', shopId, '--data', data], {});
    assert.equal(suspended.code, 0, suspended.err);
    const list = await cli(['payment', 'merchants', '--data', data, '--json'], {});
    assert.deepEqual(
      (JSON.parse(list.out) as { merchants: { merchantId: string; status: string }[] }).merchants.map((m) => [m.merchantId, m.status]),
      [[shopId, 'suspended']],
    );
    const text = await cli(['payment', 'merchants', '--data', data], {});
    assert.match(text.out, new RegExp(`^${shopId}\\s+suspended\\s+\\(no payout account\\)\\s+A Shop`));
    const unknown = await cli(['payment', 'suspend-merchant', 'nobody', '--data', data], {});
    assert.match(unknown.err, /^PAY_MERCHANT_UNKNOWN: /);
  });

  void test('notify-merchant sets and clears where the shop is notified; bad URLs are usage errors and change nothing', async () => {
    const notifyOf = async () => (JSON.parse((await cli(['payment', 'merchants', '--data', data, '--json'], {})).out) as { merchants: { notifyUrl: string | null }[] }).merchants[0]!.notifyUrl;
    assert.equal(await notifyOf(), null, 'added without --notify');
    const set = await cli(['payment', 'notify-merchant', shopId, '--data', data, '--notify', 'http://127.0.0.1:7004'], {});
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /notified at http:\/\/127\.0\.0\.1:7004\//);
    assert.equal(await notifyOf(), 'http://127.0.0.1:7004/');
    for (const bad of [['--notify', 'ftp://shop.example'], ['--notify', 'not a url'], ['--notify', 'http://shop.example/?q=1'], [], ['--notify', 'http://a.example', '--off']]) {
      const r = await cli(['payment', 'notify-merchant', shopId, '--data', data, ...bad], {});
      assert.equal(r.code, 2, `${bad.join(' ')}: ${r.err}`);
    }
    assert.equal(await notifyOf(), 'http://127.0.0.1:7004/', 'refused changes changed nothing');
    const unknown = await cli(['payment', 'notify-merchant', 'nobody', '--data', data, '--off'], {});
    assert.match(unknown.err, /^PAY_MERCHANT_UNKNOWN: /);
    const off = await cli(['payment', 'notify-merchant', shopId, '--data', data, '--off'], {});
    assert.equal(off.code, 0, off.err);
    assert.equal(await notifyOf(), null);
  });
});
