// Security review of keys at rest: attacks on decryptPrivateKey that used to
// get a different answer than they should (see the review report).
import assert from 'node:assert/strict';
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { decryptPrivateKey, encryptPrivateKey, generateKeyPair } from '../../src/crypto/index.ts';
import { nul, octets, oid, seq, uint } from '../../src/crypto/der.ts';
import { MIN_ITERATIONS, pbes2Encrypt } from '../../src/crypto/rfc8018.ts';

const PASS = 'correct horse battery staple';

function pemOf(der: Uint8Array): string {
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${Buffer.from(der).toString('base64')}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/** A PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC EncryptedPrivateKeyInfo with a salt of our choosing. */
function encryptWithSalt(plain: Uint8Array, passphrase: string, salt: Uint8Array): Uint8Array {
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(passphrase, 'utf8'), salt, MIN_ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  return seq(
    seq(
      oid('1.2.840.113549.1.5.13'),
      seq(
        seq(oid('1.2.840.113549.1.5.12'), seq(octets(salt), uint(MIN_ITERATIONS), seq(oid('1.2.840.113549.2.9'), nul()))),
        seq(oid('2.16.840.1.101.3.4.1.42'), octets(iv)),
      ),
    ),
    octets(encrypted),
  );
}

void describe('review: keys at rest', () => {
  let pkcs8: Uint8Array;
  let pem: string;
  before(async () => {
    const keys = await generateKeyPair('Ed25519');
    pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    pem = await encryptPrivateKey(keys.privateKey, PASS);
  });

  void test('bad padding and good padding over garbage give the same answer (no padding oracle)', async () => {
    // Wrong passphrase: CBC padding check fails (almost always).
    const badPadding = await decryptPrivateKey(pem, `${PASS}!`);
    // Right key, valid padding, plaintext that is not PKCS#8: what a tampered
    // ciphertext block with lucky padding produces.
    const garbage = await decryptPrivateKey(pemOf(await pbes2Encrypt(randomBytes(40), PASS)), PASS);
    assert.equal(badPadding.ok, false);
    assert.equal(garbage.ok, false);
    // Code AND message identical: an oracle that tells valid padding from invalid
    // decrypts CBC one byte at a time.
    assert.deepEqual(
      { code: !badPadding.ok && badPadding.code, message: !badPadding.ok && badPadding.message },
      { code: !garbage.ok && garbage.code, message: !garbage.ok && garbage.message },
    );
  });

  void test('a salt shorter than 8 octets is CRYPTO_KEY_WEAK_KDF (RFC 8018 §4.1)', async () => {
    // Control: the hand-built file with a 16-octet salt decrypts.
    const good = await decryptPrivateKey(pemOf(encryptWithSalt(pkcs8, PASS, randomBytes(16))), PASS);
    assert.ok(good.ok, good.ok ? '' : good.message);
    // No salt: one precomputed dictionary attacks every such file at once.
    for (const salt of [new Uint8Array(0), randomBytes(7)]) {
      const r = await decryptPrivateKey(pemOf(encryptWithSalt(pkcs8, PASS, salt)), PASS);
      assert.equal(!r.ok && r.code, 'CRYPTO_KEY_WEAK_KDF', `salt of ${salt.length} octets`);
    }
  });
});
