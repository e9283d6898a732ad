// Only the environment path is tested: the terminal path needs a real TTY.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readPassphrase } from '../../src/crypto/index.ts';

void test('the passphrase comes from QUITTANCE_PASSPHRASE by default, or a named variable', async () => {
  assert.equal(await readPassphrase({ environment: { QUITTANCE_PASSPHRASE: 'from env' } }), 'from env');
  assert.equal(await readPassphrase({ env: 'CA_KEY_PASS', environment: { CA_KEY_PASS: 'named', QUITTANCE_PASSPHRASE: 'other' } }), 'named');
});

void test('process.env is read when no environment is injected', async () => {
  const name = `QUITTANCE_TEST_PASSPHRASE_${process.pid}`;
  process.env[name] = 'from process';
  try {
    assert.equal(await readPassphrase({ env: name }), 'from process');
  } finally {
    delete process.env[name];
  }
});

void test('an empty variable is an error naming the variable, not an empty passphrase', async () => {
  await assert.rejects(readPassphrase({ environment: { QUITTANCE_PASSPHRASE: '' } }), /QUITTANCE_PASSPHRASE is set but empty/);
});
