import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { exportPublicJwk, exportSpkiDer, generateKeyPair, keyAlgorithmOf } from '../../src/crypto/index.ts';

void test('a private CryptoKey prints and serialises no key material', async () => {
  for (const alg of ['Ed25519', 'P-256'] as const) {
    const { privateKey } = await generateKeyPair(alg);
    const jwk = await crypto.subtle.exportKey('jwk', privateKey);
    assert.ok(jwk.d !== undefined && jwk.d.length > 20);
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', privateKey));
    const shown = [inspect(privateKey, { depth: Infinity, showHidden: true }), String(privateKey), JSON.stringify(privateKey), `${JSON.stringify({ k: privateKey })}`];
    for (const s of shown) {
      assert.ok(!s.includes(jwk.d), `private scalar leaked: ${s}`);
      assert.ok(!s.includes(pkcs8.toString('base64')) && !s.includes(pkcs8.toString('hex')), `pkcs8 leaked: ${s}`);
    }
    assert.equal(JSON.stringify(privateKey), '{}');
    assert.match(inspect(privateKey), /CryptoKey/);
  }
});

void test('generateKeyPair gives signing keys of the requested algorithm', async () => {
  const ed = await generateKeyPair('Ed25519');
  const p256 = await generateKeyPair('P-256');
  assert.equal(keyAlgorithmOf(ed.privateKey), 'Ed25519');
  assert.equal(keyAlgorithmOf(p256.privateKey), 'P-256');
  assert.equal(ed.privateKey.extractable, true);
  await assert.rejects(generateKeyPair('RSA' as never), TypeError);
});

void test('public key export: SPKI DER and a JWK without private members; private keys refused', async () => {
  const { publicKey, privateKey } = await generateKeyPair('P-256');
  const spki = await exportSpkiDer(publicKey);
  assert.equal(spki[0], 0x30);
  assert.equal(spki.length, 91); // P-256 uncompressed SPKI
  const jwk = await exportPublicJwk(publicKey);
  assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kty', 'x', 'y']);
  const ed = await exportPublicJwk((await generateKeyPair('Ed25519')).publicKey);
  assert.deepEqual(Object.keys(ed).sort(), ['crv', 'kty', 'x']);
  await assert.rejects(exportPublicJwk(privateKey), TypeError);
  await assert.rejects(exportSpkiDer(privateKey), TypeError);
});
