import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { decryptPrivateKey, encryptPrivateKey, exportSpkiDer, generateKeyPair } from '../../src/crypto/index.ts';
import { signingAlgorithm } from '../../src/crypto/keys.ts';

const PASS = 'correct horse battery staple';
const MESSAGE = new TextEncoder().encode('invoice 42');

function derOf(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
function pemOf(der: Uint8Array): string {
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${Buffer.from(der).toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}
/** Replaces the one occurrence of `from` in the DER with `to` (same length). */
function patch(pem: string, from: number[], to: number[]): string {
  const der = derOf(pem);
  const at = der.indexOf(Buffer.from(from));
  assert.ok(at >= 0 && der.indexOf(Buffer.from(from), at + 1) < 0, 'pattern must occur once');
  der.set(to, at);
  return pemOf(der);
}

void describe('encrypted PKCS#8', () => {
  let ed: CryptoKeyPair;
  let pem: string;
  before(async () => {
    ed = await generateKeyPair('Ed25519');
    pem = await encryptPrivateKey(ed.privateKey, PASS);
  });

  void test('Ed25519: the decrypted key signs what the original public key verifies', async () => {
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END ENCRYPTED PRIVATE KEY-----\n$/);
    const r = await decryptPrivateKey(pem, PASS);
    assert.ok(r.ok, r.ok ? '' : r.message);
    assert.equal(r.value.alg, 'Ed25519');
    assert.equal(r.value.privateKey.extractable, false);
    const sig = await crypto.subtle.sign('Ed25519', r.value.privateKey, MESSAGE);
    assert.equal(await crypto.subtle.verify('Ed25519', ed.publicKey, sig, MESSAGE), true);
    assert.deepEqual(await exportSpkiDer(r.value.publicKey), await exportSpkiDer(ed.publicKey));
    // Fresh salt and IV each time: the same key never encrypts to the same bytes.
    assert.notEqual(await encryptPrivateKey(ed.privateKey, PASS), pem);
  });

  void test('P-256: round trip keeps the exact key', async () => {
    const p = await generateKeyPair('P-256');
    const r = await decryptPrivateKey(await encryptPrivateKey(p.privateKey, 'pässwörd ✓'), 'pässwörd ✓', { extractable: true });
    assert.ok(r.ok);
    assert.equal(r.value.alg, 'P-256');
    assert.deepEqual(await crypto.subtle.exportKey('pkcs8', r.value.privateKey), await crypto.subtle.exportKey('pkcs8', p.privateKey));
    const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
    const sig = await crypto.subtle.sign(ecdsa, r.value.privateKey, MESSAGE);
    assert.equal(await crypto.subtle.verify(ecdsa, p.publicKey, sig, MESSAGE), true);
  });

  void test('a wrong passphrase is CRYPTO_KEY_PASSPHRASE_WRONG', async () => {
    const r = await decryptPrivateKey(pem, PASS + '!');
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'CRYPTO_KEY_PASSPHRASE_WRONG');
  });

  void test('fewer than 600,000 iterations is CRYPTO_KEY_WEAK_KDF', async () => {
    // INTEGER 600000 = 02 03 09 27 c0; 599999 = ...bf.
    const r = await decryptPrivateKey(patch(pem, [2, 3, 0x09, 0x27, 0xc0], [2, 3, 0x09, 0x27, 0xbf]), PASS);
    assert.equal(!r.ok && r.code, 'CRYPTO_KEY_WEAK_KDF');
    assert.match(!r.ok ? r.message : '', /599999 iterations/);
  });

  void test('PBKDF2 with HMAC-SHA1 is CRYPTO_KEY_WEAK_KDF', async () => {
    // hmacWithSHA256 1.2.840.113549.2.9 → hmacWithSHA1 1.2.840.113549.2.7
    const sha256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
    const r = await decryptPrivateKey(patch(pem, sha256, [...sha256.slice(0, -1), 0x07]), PASS);
    assert.equal(!r.ok && r.code, 'CRYPTO_KEY_WEAK_KDF');
  });

  void test('a cipher other than AES-CBC is CRYPTO_KEY_UNSUPPORTED', async () => {
    // aes256-CBC 2.16.840.1.101.3.4.1.42 → aes256-GCM .46
    const cbc = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
    const r = await decryptPrivateKey(patch(pem, cbc, [...cbc.slice(0, -1), 0x2e]), PASS);
    assert.equal(!r.ok && r.code, 'CRYPTO_KEY_UNSUPPORTED');
  });

  void test('broken or unencrypted PEM is CRYPTO_KEY_MALFORMED', async () => {
    const der = derOf(pem);
    const unencrypted = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(await crypto.subtle.exportKey('pkcs8', ed.privateKey)).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    for (const bad of ['', 'hello', unencrypted, pemOf(der.subarray(0, der.length - 5)), pemOf(Buffer.concat([der, Buffer.of(0)])), pemOf(Buffer.of(0x30, 0x00))]) {
      const r = await decryptPrivateKey(bad, PASS);
      assert.equal(!r.ok && r.code, 'CRYPTO_KEY_MALFORMED', bad.slice(0, 40));
    }
    const r = await decryptPrivateKey(unencrypted, PASS);
    assert.match(!r.ok ? r.message : '', /not encrypted/);
  });

  void test('only extractable Ed25519/P-256 private keys and non-empty passphrases are accepted', async () => {
    await assert.rejects(encryptPrivateKey(ed.publicKey, PASS), TypeError);
    const locked = await crypto.subtle.generateKey(signingAlgorithm('Ed25519'), false, ['sign', 'verify']);
    await assert.rejects(encryptPrivateKey((locked as CryptoKeyPair).privateKey, PASS), TypeError);
    await assert.rejects(encryptPrivateKey(ed.privateKey, ''), TypeError);
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    await assert.rejects(encryptPrivateKey(hmac as CryptoKey, PASS), TypeError);
    await assert.rejects(decryptPrivateKey(pem, ''), TypeError);
  });
});
