// `quittance payment …`: init from a CA-issued certificate (wrong role and
// wrong key refused), rotate and list keys, and serve as a real process whose
// GET /v1/keys verifies against the CA root.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { checkDenominationKeys, DENOMINATION_KEYS_TYP, parseDocument } from '../../src/protocol/documents/index.ts';
import { verifyDocument } from '../../src/protocol/jws.ts';
import { pemToDer } from '../../src/protocol/x509/index.ts';
import { BIN, PASS, cli, initCaDir, issue, tempDir } from './helpers.ts';

describe('payment init / rotate / keys / serve', () => {
  const tmp = tempDir();
  const ca = join(tmp.dir, 'ca');
  const payCert = join(tmp.dir, 'pay');
  const shopCert = join(tmp.dir, 'shop');
  const data = join(tmp.dir, 'payment');
  let partyId = '';

  before(async () => {
    await initCaDir(ca);
    partyId = (await issue(ca, 'payment', 'Quittance Pay', payCert)).partyId;
    await issue(ca, 'merchant', 'A Shop', shopCert);
  });
  after(() => tmp.remove());

  test('init refuses a certificate of another role, and a key that is not the certified one', async () => {
    const role = await cli(['payment', 'init', '--data', data, '--cert', join(shopCert, 'chain.pem'), '--key', join(shopCert, 'key.pem')]);
    assert.equal(role.code, 1);
    assert.match(role.err, /^PAY_CERT_ROLE_NOT_PAYMENT: /);
    const mismatch = await cli(['payment', 'init', '--data', data, '--cert', join(payCert, 'chain.pem'), '--key', join(shopCert, 'key.pem')]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.err, /^PAY_KEY_CERT_MISMATCH: /);
    const wrongPass = await cli(['payment', 'init', '--data', data, '--cert', join(payCert, 'chain.pem'), '--key', join(payCert, 'key.pem')], { QUITTANCE_PASSPHRASE: 'not the passphrase' });
    assert.match(wrongPass.err, /^CRYPTO_KEY_PASSPHRASE_WRONG: /);
    assert.equal(existsSync(join(data, 'payment.json')), false);
  });

  test('init, rotate, keys; init again is refused', async () => {
    const init = await cli(['payment', 'init', '--data', data, '--cert', join(payCert, 'chain.pem'), '--key', join(payCert, 'key.pem'), '--max-value', 'JPY:16', '--withdraw-days', '20', '--overlap-days', '5']);
    assert.equal(init.code, 0, init.err);
    assert.match(init.out, new RegExp(`party id: ${partyId}`));
    const config = JSON.parse(readFileSync(join(data, 'payment.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.currencies, [{ maxValue: 'JPY:16' }]);
    assert.equal(config.withdrawDays, 20);
    const again = await cli(['payment', 'init', '--data', data, '--cert', join(payCert, 'chain.pem'), '--key', join(payCert, 'key.pem')]);
    assert.match(again.err, /^PAY_DATA_EXISTS: /);
    const badMax = await cli(['payment', 'init', '--data', join(tmp.dir, 'p2'), '--cert', join(payCert, 'chain.pem'), '--key', join(payCert, 'key.pem'), '--max-value', 'JPY:100']);
    assert.match(badMax.err, /^PAY_CONFIG_INVALID: .*power of two/);

    const rotate = await cli(['payment', 'rotate', '--data', data, '--json']);
    assert.equal(rotate.code, 0, rotate.err);
    assert.equal((JSON.parse(rotate.out) as { created: unknown[] }).created.length, 5);
    const keys = await cli(['payment', 'keys', '--data', data, '--json'], {});
    assert.equal(keys.code, 0, keys.err);
    const listed = (JSON.parse(keys.out) as { keys: { value: string; state: string }[] }).keys;
    assert.deepEqual(listed.map((k) => k.value), ['JPY:1', 'JPY:2', 'JPY:4', 'JPY:8', 'JPY:16']);
    assert.ok(listed.every((k) => k.state === 'active'));
    const text = await cli(['payment', 'keys', '--data', data], {});
    assert.match(text.out, /JPY:16\s+gen 1\s+active/);
  });

  test('serve (real process): GET /v1/keys verifies against the CA root as a payment-signed list', async () => {
    const child = spawn(process.execPath, [BIN, 'payment', 'serve', '--data', data, '--port', '0'], {
      env: { PATH: process.env.PATH, QUITTANCE_PASSPHRASE: PASS, QUITTANCE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const url = await new Promise<string>((resolve, reject) => {
        lines.on('line', (line) => {
          const msg = JSON.parse(line) as { event?: string; party?: string; url?: string };
          if (msg.event === 'ready' && msg.party === 'payment' && msg.url) resolve(msg.url);
        });
        child.once('exit', (code) => reject(new Error(`payment serve exited early (${code})`)));
      });
      const res = await fetch(`${url}/v1/keys`);
      assert.equal(res.status, 200);
      const v = await verifyDocument(await res.json(), {
        now: new Date(),
        trustAnchors: [pemToDer(readFileSync(join(ca, 'ca-cert.pem'), 'utf8'), 'CERTIFICATE')!],
        crls: [],
        requireCrl: false,
        crlMaxAgeSeconds: 86_400,
        expectedTyp: DENOMINATION_KEYS_TYP,
        signers: [{ roles: ['payment'] }],
      });
      assert.ok(v.ok, JSON.stringify(v));
      const doc = parseDocument(DENOMINATION_KEYS_TYP, v.value.payload);
      assert.ok(doc.ok);
      assert.equal((await checkDenominationKeys(doc.value, { signerPartyId: partyId })).ok, true);
      // The keys `rotate` made are the ones served (nothing was due at start-up).
      assert.equal(doc.value.keys.length, 5);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
