import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readKeyFile, writeKeyFile } from '../../src/crypto/index.ts';

const PEM_A = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n';
const PEM_B = '-----BEGIN ENCRYPTED PRIVATE KEY-----\nBBBB\n-----END ENCRYPTED PRIVATE KEY-----\n';

void test('key files are owner-only, replaced whole, and leave no temporary file behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'quittance-keyfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'ca.key.pem');
  await writeKeyFile(path, PEM_A);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(await readKeyFile(path), PEM_A);

  // Replacing a file someone left world-readable makes it 0600 too.
  writeFileSync(path, 'old', { mode: 0o644 });
  await writeKeyFile(path, PEM_B);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(await readKeyFile(path), PEM_B);
  assert.deepEqual(readdirSync(dir), ['ca.key.pem']);
});

void test('a failed write leaves the old key in place', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'quittance-keyfile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'k.pem');
  await writeKeyFile(path, PEM_A);
  await assert.rejects(writeKeyFile(join(dir, 'missing-dir', 'k.pem'), PEM_B));
  await assert.rejects(writeKeyFile(path, 'not a pem'), TypeError);
  assert.equal(await readKeyFile(path), PEM_A);
  assert.deepEqual(readdirSync(dir), ['k.pem']);
});
