// `quittance ca init`: the root key never touches the disk in the clear, the
// root certificate is a CA that OpenSSL accepts, the operator token is stored
// only as a hash, and an existing CA is never overwritten.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PASS, cli, openssl, spawnBin, tempDir } from './helpers.ts';

describe('ca init through the real binary', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'ca');
  let first: { code: number; out: string; err: string };
  before(() => {
    first = spawnBin(['ca', 'init', '--data', data, '--name', 'CLI Test Root'], { QUITTANCE_PASSPHRASE: PASS });
  });
  after(() => tmp.remove());

  test('exits 0 and names the certificate, its fingerprint and the token', () => {
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, new RegExp(`certificate: ${join(data, 'ca-cert.pem')}`));
    assert.match(first.out, /SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.match(first.out, /operator token \(shown once, keep it secret\): \S+/);
  });

  test('ca-key.pem: mode 0600, encrypted PKCS#8 that OpenSSL opens with the passphrase only', () => {
    const keyPath = join(data, 'ca-key.pem');
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const pem = readFileSync(keyPath, 'utf8');
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    assert.doesNotMatch(pem, /BEGIN PRIVATE KEY/);
    const good = openssl(['pkey', '-in', keyPath, '-passin', `pass:${PASS}`, '-noout']);
    assert.equal(good.status, 0, good.stderr);
    const bad = openssl(['pkey', '-in', keyPath, '-passin', 'pass:wrong passphrase', '-noout']);
    assert.notEqual(bad.status, 0);
  });

  test('ca-cert.pem: a self-signed CA certificate (CA:TRUE) with the given name', () => {
    const certPath = join(data, 'ca-cert.pem');
    const text = openssl(['x509', '-in', certPath, '-noout', '-text']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text.stdout, /Subject: .*CN ?= ?CLI Test Root/);
    // Self-signed: it verifies against itself.
    const v = openssl(['verify', '-CAfile', certPath, certPath]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /: OK$/m);
  });

  test('ca.json holds only the SHA-256 of the printed token, never the token', () => {
    const token = /operator token \(shown once, keep it secret\): (\S+)/.exec(first.out)?.[1];
    assert.ok(token);
    const raw = readFileSync(join(data, 'ca.json'), 'utf8');
    assert.ok(!raw.includes(token), 'token stored in the clear');
    const config = JSON.parse(raw) as { adminTokenHashes: string[] };
    assert.deepEqual(config.adminTokenHashes, [createHash('sha256').update(token).digest('hex')]);
  });

  test('a second init on the same directory refuses (exit 1) and changes nothing', () => {
    const files = ['ca-key.pem', 'ca-cert.pem', 'ca.json'].map((f) => join(data, f));
    const before = files.map((f) => readFileSync(f));
    const again = spawnBin(['ca', 'init', '--data', data], { QUITTANCE_PASSPHRASE: 'another passphrase' });
    assert.equal(again.code, 1);
    assert.match(again.err, /CLI_CA_EXISTS: .*already holds a CA; refusing to overwrite it/);
    assert.doesNotMatch(again.out, /operator token/);
    files.forEach((f, i) => assert.deepEqual(readFileSync(f), before[i], `${f} changed`));
  });
});

describe('ca init refusals', () => {
  test('a passphrase shorter than 8 characters is refused and nothing is written', async () => {
    const tmp = tempDir();
    try {
      const data = join(tmp.dir, 'ca');
      const r = await cli(['ca', 'init', '--data', data], { QUITTANCE_PASSPHRASE: 'short12' });
      assert.equal(r.code, 1);
      assert.match(r.err, /CLI_PASSPHRASE_TOO_SHORT: .*at least 8 characters/);
      assert.equal(existsSync(join(data, 'ca-key.pem')), false);
      assert.equal(existsSync(join(data, 'ca.json')), false);
    } finally {
      tmp.remove();
    }
  });

  test('an out-of-range --cert-days is a usage error and leaves no half-made CA', async () => {
    const tmp = tempDir();
    try {
      const data = join(tmp.dir, 'ca');
      const r = await cli(['ca', 'init', '--data', data, '--cert-days', '5000']);
      assert.equal(r.code, 2);
      assert.match(r.err, /--cert-days must be an integer 1\.\.3650/);
      assert.equal(existsSync(join(data, 'ca-key.pem')), false);
      // …so a corrected init still works.
      assert.equal((await cli(['ca', 'init', '--data', data, '--cert-days', '30'])).code, 0);
    } finally {
      tmp.remove();
    }
  });

  test('no passphrase and no terminal: refused with a message naming the variable', async () => {
    const tmp = tempDir();
    try {
      // The spawned process has no controlling terminal to prompt on.
      const r = spawnBin(['ca', 'init', '--data', join(tmp.dir, 'ca')], {});
      assert.equal(r.code, 1);
      assert.match(r.err, /QUITTANCE_PASSPHRASE/);
      assert.equal(existsSync(join(tmp.dir, 'ca', 'ca-key.pem')), false);
    } finally {
      tmp.remove();
    }
  });

  test('a bad --alg is a usage error', async () => {
    const tmp = tempDir();
    try {
      const r = await cli(['ca', 'init', '--data', join(tmp.dir, 'ca'), '--alg', 'rsa']);
      assert.equal(r.code, 2);
      assert.match(r.err, /--alg must be ed25519 or p256/);
    } finally {
      tmp.remove();
    }
  });
});
