// Raw Ed25519 over labelled RFC 8785 bytes (src/protocol/ed25519.ts): what
// reserve and coin keys sign. Weak keys are refused before WebCrypto sees
// them, because Node imports any 32 bytes as an Ed25519 public key.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { ed25519PublicKeyProblem, signEd25519, signingBytes, verifyEd25519 } from '../../src/protocol/ed25519.ts';

async function keyPair() {
  const k = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: k.privateKey, pub: encodeBase64url(new Uint8Array(await crypto.subtle.exportKey('raw', k.publicKey))) };
}

const bytesOf = (f: (b: Uint8Array) => void) => {
  const b = new Uint8Array(32);
  f(b);
  return b;
};
/** y = 1: the neutral element (order 1). */
const IDENTITY = bytesOf((b) => (b[0] = 1));
/** y = 0, x = sqrt(-1): a point of order 4. */
const ORDER_4 = bytesOf(() => {});
/** y = 2 is not on the curve. */
const OFF_CURVE = bytesOf((b) => (b[0] = 2));
/** y = p (non-canonical encoding of y = 0). */
const NON_CANONICAL = bytesOf((b) => {
  b.fill(0xff);
  b[0] = 0xed;
  b[31] = 0x7f;
});

test('signingBytes is label, a zero byte, then RFC 8785 JSON', () => {
  const b = signingBytes('quittance/test/v1', { b: 1, a: 'x' });
  assert.equal(new TextDecoder().decode(b), 'quittance/test/v1\u0000{"a":"x","b":1}');
});

test('a signature verifies for its label and body only', async () => {
  const k = await keyPair();
  const msg = signingBytes('quittance/withdraw/v1', { requestId: 'r1' });
  const sig = encodeBase64url(await signEd25519(k.privateKey, msg));
  assert.equal(await verifyEd25519(k.pub, sig, msg), true);
  assert.equal(await verifyEd25519(k.pub, sig, signingBytes('quittance/swap/v1', { requestId: 'r1' })), false);
  assert.equal(await verifyEd25519(k.pub, sig, signingBytes('quittance/withdraw/v1', { requestId: 'r2' })), false);
  assert.equal(await verifyEd25519((await keyPair()).pub, sig, msg), false);
});

test('malformed keys and signatures are false, never a throw', async () => {
  const k = await keyPair();
  const msg = signingBytes('l', {});
  const sig = encodeBase64url(await signEd25519(k.privateKey, msg));
  for (const [pub, s] of [['', sig], [k.pub, ''], [`${k.pub}A`, sig], [k.pub, `${sig}A`], ['!!!', sig], [k.pub.slice(1), sig]]) {
    assert.equal(await verifyEd25519(pub!, s!, msg), false, `${pub} / ${s}`);
  }
});

test('no curve point, non-canonical and small-order keys are refused', async () => {
  assert.equal(ed25519PublicKeyProblem(OFF_CURVE), 'not-a-point');
  assert.equal(ed25519PublicKeyProblem(NON_CANONICAL), 'not-a-point');
  assert.equal(ed25519PublicKeyProblem(IDENTITY), 'small-order');
  assert.equal(ed25519PublicKeyProblem(ORDER_4), 'small-order');
  // With the identity as key, the signature (R = identity, S = 0) satisfies the
  // verification equation for every message; we refuse it before WebCrypto.
  const forged = encodeBase64url(new Uint8Array([...IDENTITY, ...new Uint8Array(32)]));
  assert.equal(await verifyEd25519(encodeBase64url(IDENTITY), forged, signingBytes('l', { any: 'thing' })), false);
});

test('property: every real Ed25519 public key passes the point check', () => {
  fc.assert(
    fc.property(fc.integer(), () => {
      const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
      assert.equal(ed25519PublicKeyProblem(new Uint8Array(raw)), undefined);
    }),
    { numRuns: 50 },
  );
});
