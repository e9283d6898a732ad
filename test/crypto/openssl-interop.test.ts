// OpenSSL 3 must read our keys and we must read its keys (STYLE "Interop").
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decryptPrivateKey, encryptPrivateKey, exportSpkiDer, generateKeyPair } from '../../src/crypto/index.ts';

const PASS = 's3cret passphrase';
const dir = mkdtempSync(join(tmpdir(), 'quittance-openssl-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The passphrase goes through the environment, not argv.
function openssl(args: string[], pass = PASS): Buffer {
  return execFileSync('openssl', args, { env: { ...process.env, KEYPASS: pass }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** An openssl-made key, encrypted with the given `openssl pkcs8 -topk8` options. */
function opensslKey(name: string, genArgs: string[], topk8: string[]): string {
  const plain = join(dir, `${name}.plain.pem`);
  const enc = join(dir, `${name}.pem`);
  openssl(['genpkey', ...genArgs, '-out', plain]);
  openssl(['pkcs8', '-topk8', '-in', plain, '-out', enc, '-passout', 'env:KEYPASS', ...topk8]);
  return enc;
}

function opensslSpki(encPath: string): Buffer {
  return openssl(['pkey', '-in', encPath, '-passin', 'env:KEYPASS', '-pubout', '-outform', 'DER']);
}

const STRONG = ['-v2', 'aes-256-cbc', '-v2prf', 'hmacWithSHA256', '-iter', '600000'];

void describe('openssl interop', () => {
  void test('openssl reads our encrypted key, and only with the right passphrase', async () => {
    const { privateKey, publicKey } = await generateKeyPair('Ed25519');
    const path = join(dir, 'ours.pem');
    writeFileSync(path, await encryptPrivateKey(privateKey, PASS));
    assert.deepEqual(new Uint8Array(opensslSpki(path)), await exportSpkiDer(publicKey));
    openssl(['pkey', '-in', path, '-passin', 'env:KEYPASS', '-noout']);
    assert.throws(() => openssl(['pkey', '-in', path, '-passin', 'env:KEYPASS', '-noout'], 'wrong'));
    // openssl describes what it parsed: PBES2, PBKDF2 (SHA-256, 600000), AES-256-CBC.
    const info = openssl(['asn1parse', '-in', path]).toString();
    assert.match(info, /PBES2/);
    assert.match(info, /PBKDF2/);
    assert.match(info, /hmacWithSHA256/);
    assert.match(info, /aes-256-cbc/);
    assert.match(info, /:0927C0\b/); // 600000
  });

  for (const [alg, gen] of [
    ['Ed25519', ['-algorithm', 'ed25519']],
    ['P-256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
  ] as const) {
    void test(`we read an openssl ${alg} key encrypted with PBKDF2-SHA256, 600000 iterations`, async () => {
      const path = opensslKey(`theirs-${alg}`, [...gen], STRONG);
      const r = await decryptPrivateKey(readFileSync(path, 'utf8'), PASS);
      assert.ok(r.ok, r.ok ? '' : r.message);
      assert.equal(r.value.alg, alg);
      assert.deepEqual(await exportSpkiDer(r.value.publicKey), new Uint8Array(opensslSpki(path)));
    });
  }

  void test("openssl's default 2048 iterations are refused as CRYPTO_KEY_WEAK_KDF", async () => {
    const path = opensslKey('weak', ['-algorithm', 'ed25519'], ['-v2', 'aes-256-cbc', '-iter', '2048']);
    const r = await decryptPrivateKey(readFileSync(path, 'utf8'), PASS);
    assert.equal(!r.ok && r.code, 'CRYPTO_KEY_WEAK_KDF');
  });

  void test('scrypt-protected keys are refused as CRYPTO_KEY_WEAK_KDF (KDF not accepted)', async () => {
    const path = opensslKey('scrypt', ['-algorithm', 'ed25519'], ['-scrypt']);
    const r = await decryptPrivateKey(readFileSync(path, 'utf8'), PASS);
    assert.equal(!r.ok && r.code, 'CRYPTO_KEY_WEAK_KDF');
    assert.match(!r.ok ? r.message : '', /scrypt/);
  });
});
