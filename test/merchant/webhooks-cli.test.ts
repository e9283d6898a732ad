// `quittance merchant webhook add|list|remove|deliveries|redeliver` on a shop
// made with `merchant init`: the secret is printed once and never listed,
// bad URLs and descriptions are refused with their codes and change nothing,
// deliveries show what was sent, redeliver queues an event again.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openMerchantStore } from '../../src/merchant/open.ts';
import { deliverDueOnce } from '../../src/merchant/webhook-delivery.ts';
import { enqueueEvent } from '../../src/merchant/webhooks.ts';
import { cli, initCaDir, issue, tempDir } from '../cli/helpers.ts';
import { startReceiver, type Receiver } from './webhook-receiver.ts';

const NO_PASSPHRASE = {};

void describe('quittance merchant webhook', () => {
  const tmp = tempDir();
  const ca = join(tmp.dir, 'ca');
  const data = join(tmp.dir, 'merchant');
  let receiver: Receiver;
  const hook = (...args: string[]) => cli(['merchant', 'webhook', ...args, '--data', data], NO_PASSPHRASE);

  before(async () => {
    receiver = await startReceiver();
    await initCaDir(ca);
    await issue(ca, 'merchant', 'Tokyo On-line Mail Order Dealer', join(tmp.dir, 'shop'));
    await issue(ca, 'payment', 'Quittance Pay', join(tmp.dir, 'pay'));
    const init = await cli([
      'merchant', 'init', '--data', data,
      '--cert', join(tmp.dir, 'shop', 'chain.pem'), '--key', join(tmp.dir, 'shop', 'key.pem'),
      '--payment-url', 'http://127.0.0.1:7003', '--payment-cert', join(tmp.dir, 'pay', 'chain.pem'),
    ]);
    assert.equal(init.code, 0, init.err);
  });
  after(async () => {
    await receiver.close();
    tmp.remove();
  });

  void test('--help on the command and on each subcommand describes every subcommand', async () => {
    for (const sub of [[], ['add'], ['list'], ['remove'], ['deliveries'], ['redeliver']]) {
      const r = await cli(['merchant', 'webhook', ...sub, '--help'], NO_PASSPHRASE);
      assert.equal(r.code, 0, r.err);
      for (const line of ['webhook add URL [--description TEXT]', 'webhook list [--all]', 'webhook remove ENDPOINT_ID', 'webhook deliveries [--state STATE]', 'webhook redeliver EVENT_ID']) {
        assert.ok(r.out.includes(line), `${sub.join(' ')} --help lacks "${line}"`);
      }
    }
  });

  void test('usage errors: exit 2, nothing written', async () => {
    for (const args of [[], ['frobnicate'], ['add'], ['add', 'http://a/', 'http://b/'], ['remove'], ['list', '--description', 'x'], ['deliveries', '--state', 'lost'], ['deliveries', '--limit', '0'], ['redeliver', '--all']]) {
      const r = await hook(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    }
    assert.match((await hook('list')).out, /^no webhook endpoints$/m);
  });

  void test('a URL that is not http(s), carries credentials or a fragment, or a bad description: refused with its code, nothing added', async () => {
    for (const url of ['ftp://example.com/hook', 'not a url', 'http://user:pw@example.com/hook', 'https://example.com/hook#x', 'javascript:alert(1)']) {
      const r = await hook('add', url);
      assert.equal(r.code, 1, url);
      assert.match(r.err, /^MERCHANT_WEBHOOK_URL_INVALID: /, url);
    }
    const bad = await hook('add', 'https://example.com/hook', '--description', 'line\nbreak');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^MERCHANT_WEBHOOK_DESCRIPTION_INVALID: /);
    const json = await hook('add', 'ftp://example.com/', '--json');
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.out) as { code: string }).code, 'MERCHANT_WEBHOOK_URL_INVALID');
    assert.match((await hook('list')).out, /^no webhook endpoints$/m);
  });

  void test('add prints the secret once; list never shows it; deliveries, redeliver, remove', async () => {
    const added = await hook('add', receiver.url, '--description', 'shop backend');
    assert.equal(added.code, 0, added.err);
    const secret = /signing secret \(shown once, keep it in the shop backend\): (whsec_\S+)/.exec(added.out)?.[1];
    assert.ok(secret, added.out);
    const endpointId = /^(we_[0-9a-f]{24}) {2}/m.exec(added.out)?.[1];
    assert.ok(endpointId, added.out);

    const listed = await hook('list');
    assert.equal(listed.code, 0);
    assert.match(listed.out, new RegExp(`^${endpointId} {2}${receiver.url.replaceAll('.', '\\.')} {2}"shop backend"`, 'm'));
    const listedJson = await hook('list', '--json');
    assert.ok(!listed.out.includes(secret) && !listedJson.out.includes(secret) && !listedJson.out.includes('whsec_'));
    assert.deepEqual((JSON.parse(listedJson.out) as { endpoints: { endpointId: string }[] }).endpoints.map((e) => e.endpointId), [endpointId]);

    // An event, sent the way `merchant serve` sends it.
    const store = await openMerchantStore(data);
    let eventId: string;
    try {
      eventId = (await store.db.transaction().execute((trx) => enqueueEvent(trx, 'order.paid', { transactionId: 'tx-cli' }, new Date()))).eventId;
      assert.equal((await deliverDueOnce({ db: store.db, clock: () => new Date() })).delivered, 1);
    } finally {
      await store.close();
    }
    assert.equal(receiver.received.length, 1);

    const shown = await hook('deliveries');
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, new RegExp(`^${eventId} {2}order\\.paid {7}${endpointId} {2}delivered {4}1 attempt {3}delivered \\S+  last: HTTP 200$`, 'm'));
    assert.deepEqual(JSON.parse((await hook('deliveries', '--state', 'pending', '--json')).out), { deliveries: [] });

    const again = await hook('redeliver', eventId);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /: 1 delivery queued again$/m);
    const pending = JSON.parse((await hook('deliveries', '--state', 'pending', '--json')).out) as { deliveries: { eventId: string; attempts: number }[] };
    assert.deepEqual(pending.deliveries.map((d) => [d.eventId, d.attempts]), [[eventId, 0]]);
    const unknown = await hook('redeliver', 'evt_00000000000000000000000000000000');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^MERCHANT_WEBHOOK_EVENT_NOT_FOUND: /);

    const removed = await hook('remove', endpointId);
    assert.equal(removed.code, 0, removed.err);
    assert.match(removed.out, new RegExp(`^removed ${endpointId} \\(1 pending delivery given up\\)$`, 'm'));
    const twice = await hook('remove', endpointId);
    assert.equal(twice.code, 1);
    assert.match(twice.err, /^MERCHANT_WEBHOOK_ENDPOINT_NOT_FOUND: /);
    assert.match((await hook('list')).out, /^no webhook endpoints$/m);
    assert.match((await hook('list', '--all')).out, new RegExp(`^${endpointId} .* removed \\S+$`, 'm'));
    assert.match((await hook('deliveries', '--state', 'failed')).out, /last: endpoint removed$/m);
  });
});
