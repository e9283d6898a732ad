// Coin and reserve keys come from (seed, index) alone: a crashed withdrawal is
// redone with the same keys and envelopes. Checked against node:crypto's HKDF
// and Ed25519 as independent implementations.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto';
import { test } from 'node:test';
import { BLINDING_SEED_BYTES, deriveCoin, deriveReserve } from '../../src/wallet/derive.ts';
import { blind, blindingFactorFromSeed, blindRsaPublicKeyFromJwk } from '../../src/protocol/rfc9474.ts';

const seed = new Uint8Array(32).map((_, i) => i + 1);
const other = new Uint8Array(32).map((_, i) => 200 - i);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('same (seed, index) gives the same coin key, blinding seed and reserve key', async () => {
  const a = await deriveCoin(seed, 7);
  const b = await deriveCoin(seed, 7);
  assert.equal(hex(a.publicKeyBytes), hex(b.publicKeyBytes));
  assert.equal(hex(a.blindingSeed), hex(b.blindingSeed));
  assert.equal(a.blindingSeed.length, BLINDING_SEED_BYTES);
  assert.equal(hex((await deriveReserve(seed, 7)).publicKeyBytes), hex((await deriveReserve(seed, 7)).publicKeyBytes));
});

test('different index, seed or purpose gives unrelated keys', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const c = await deriveCoin(seed, i);
    seen.add(hex(c.publicKeyBytes));
    seen.add(hex(c.blindingSeed.subarray(0, 32)));
    seen.add(hex((await deriveReserve(seed, i)).publicKeyBytes));
    seen.add(hex((await deriveCoin(other, i)).publicKeyBytes));
  }
  assert.equal(seen.size, 20);
});

test('the coin key is HKDF-SHA256(seed, "quittance/coin/v1" || index as 8 bytes) used as an Ed25519 secret', async () => {
  const index = 258;
  const info = Buffer.concat([Buffer.from('quittance/coin/v1'), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2])]);
  const secret = Buffer.from(hkdfSync('sha256', seed, Buffer.from('quittance/wallet-seed'), info, 32));
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  const coin = await deriveCoin(seed, index);
  assert.equal(hex(coin.publicKeyBytes), hex(spki.subarray(spki.length - 32)));
  // The private half signs what the public half verifies.
  const msg = new TextEncoder().encode('invoice hash');
  const sig = await crypto.subtle.sign('Ed25519', coin.privateKey, msg);
  assert.ok(await crypto.subtle.verify('Ed25519', coin.publicKey, sig, msg));
  const blindInfo = Buffer.concat([Buffer.from('quittance/blind/v1'), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2])]);
  assert.equal(hex(coin.blindingSeed), Buffer.from(hkdfSync('sha256', seed, Buffer.from('quittance/wallet-seed'), blindInfo, BLINDING_SEED_BYTES)).toString('hex'));
});

test('the blinding seed yields the same RFC 9474 envelope on a retry', async () => {
  const rsa = (await crypto.subtle.generateKey(
    { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const key = blindRsaPublicKeyFromJwk(await crypto.subtle.exportKey('jwk', rsa.publicKey));
  assert.ok(key.ok);
  const envelope = async () => {
    const coin = await deriveCoin(seed, 3);
    const r = blindingFactorFromSeed(key.value, coin.blindingSeed);
    assert.ok(r.ok);
    const b = await blind(key.value, coin.publicKeyBytes, r.value);
    assert.ok(b.ok);
    return hex(b.value.blindedMsg);
  };
  assert.equal(await envelope(), await envelope());
});

test('bad arguments are TypeErrors naming the argument', async () => {
  await assert.rejects(deriveCoin(new Uint8Array(31), 0), /seed/);
  await assert.rejects(deriveCoin(seed, -1), /index/);
  await assert.rejects(deriveReserve(seed, 1.5), /index/);
});
