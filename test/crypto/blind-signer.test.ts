// The OpenSSL blind signer (RFC 9474 §4.3) with our bigint client: the RFC
// vector, round trips, determinism, and the envelopes it must refuse.
import assert from 'node:assert/strict';
import type * as NodeCrypto from 'node:crypto';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { blindSign, denominationPublicKey, generateDenominationKey } from '../../src/crypto/blind-signer.ts';
import { BLINDING_SEED_EXTRA_BYTES, blind, blindingFactorFromSeed, finalize, verify, type BlindRsaPublicKey } from '../../src/protocol/rfc9474.ts';
import { modInverse, value } from '../helpers/results.ts';

type Vector = Record<'p' | 'q' | 'n' | 'e' | 'd' | 'msg' | 'inv' | 'blinded_msg' | 'blind_sig' | 'sig', string>;
const v = JSON.parse(readFileSync(new URL('../vectors/rfc9474.json', import.meta.url), 'utf8')) as Vector;
const hex = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64u = (x: bigint): string => Buffer.from(x.toString(16).padStart(Math.ceil(x.toString(16).length / 2) * 2, '0'), 'hex').toString('base64url');



/** The RFC's key as an OpenSSL KeyObject, with the CRT parameters the RFC leaves out. */
function vectorPrivateKey() {
  const [p, q, d] = [BigInt(`0x${v.p}`), BigInt(`0x${v.q}`), BigInt(`0x${v.d}`)];
  const jwk = { kty: 'RSA', n: b64u(p * q), e: 'AQAB', d: b64u(d), p: b64u(p), q: b64u(q), dp: b64u(d % (p - 1n)), dq: b64u(d % (q - 1n)), qi: b64u(modInverse(q, p)) };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

function seedFor(pk: BlindRsaPublicKey, byte: number): Uint8Array {
  const kLen = Math.ceil(pk.n.toString(2).length / 8);
  return value(blindingFactorFromSeed(pk, new Uint8Array(kLen + BLINDING_SEED_EXTRA_BYTES).fill(byte)));
}

let denom: { privateKey: KeyObject; publicKey: KeyObject };
let pk: BlindRsaPublicKey;
before(async () => {
  denom = await generateDenominationKey(2048);
  pk = denominationPublicKey(denom.publicKey);
});

void describe('RFC 9474 vector through OpenSSL', () => {
  void test('blindSign(blinded_msg) gives blind_sig', () => {
    const sk = vectorPrivateKey();
    assert.equal(toHex(value(blindSign(sk, hex(v.blinded_msg)))), v.blind_sig);
    assert.equal(denominationPublicKey(sk).n, BigInt(`0x${v.n}`));
  });
});

void describe('round trip with a fresh 2048-bit denomination key', () => {
  void test('blind → blindSign → finalize gives a signature that verifies, here and in WebCrypto', async () => {
    const coin = crypto.getRandomValues(new Uint8Array(32));
    const env = value(await blind(pk, coin, seedFor(pk, 7)));
    const sig = value(await finalize(pk, coin, value(blindSign(denom.privateKey, env.blindedMsg)), env.inv));
    assert.equal(sig.length, 256);
    assert.equal(value(await verify(pk, coin, sig)), true);
    const pub = await crypto.subtle.importKey('jwk', denom.publicKey.export({ format: 'jwk' }), { name: 'RSA-PSS', hash: 'SHA-384' }, false, ['verify']);
    assert.equal(await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 0 }, pub, sig, coin), true);
  });

  void test('deterministic: same (message, r) → same envelope → same blind signature → same signature', async () => {
    const coin = new Uint8Array(32).fill(42);
    const run = async (): Promise<Uint8Array[]> => {
      const env = value(await blind(pk, coin, seedFor(pk, 3)));
      const blindSig = value(blindSign(denom.privateKey, env.blindedMsg));
      return [env.blindedMsg, blindSig, value(await finalize(pk, coin, blindSig, env.inv))];
    };
    const [a, b] = [await run(), await run()];
    assert.deepEqual(a, b);
    // A different r hides the same coin behind a different envelope, yet unblinds to the same signature.
    const env = value(await blind(pk, coin, seedFor(pk, 4)));
    assert.notDeepEqual(env.blindedMsg, a[0]);
    assert.deepEqual(value(await finalize(pk, coin, value(blindSign(denom.privateKey, env.blindedMsg)), env.inv)), a[2]);
  });

  void test('a signature by another denomination key does not verify, and finalize refuses it', async () => {
    // An envelope is only signable by a key with a larger modulus (else
    // blindSign refuses it as out of range): order the two keys by modulus so
    // this test always reaches finalize's own check.
    const other = await generateDenominationKey(2048);
    const [small, large] = denominationPublicKey(other.publicKey).n > pk.n ? [{ key: denom, pk }, { key: other, pk: denominationPublicKey(other.publicKey) }] : [{ key: other, pk: denominationPublicKey(other.publicKey) }, { key: denom, pk }];
    const coin = new Uint8Array(32).fill(1);
    const env = value(await blind(small.pk, coin, seedFor(small.pk, 9)));
    const wrong = value(blindSign(large.key.privateKey, env.blindedMsg));
    const fin = await finalize(small.pk, coin, wrong, env.inv);
    assert.equal(fin.ok ? '' : fin.code, 'PROTO_BLIND_SIGNATURE_INVALID');
    const env2 = value(await blind(large.pk, coin, seedFor(large.pk, 9)));
    const sigLarge = value(await finalize(large.pk, coin, value(blindSign(large.key.privateKey, env2.blindedMsg)), env2.inv));
    const res = await verify(small.pk, coin, sigLarge);
    assert.equal(res.ok ? '' : res.code, 'PROTO_BLIND_SIGNATURE_INVALID');
  });

  void test('property: for random coins and random r, finalize(blindSign(blind(m))) verifies; a flipped byte does not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 256 + BLINDING_SEED_EXTRA_BYTES, maxLength: 256 + BLINDING_SEED_EXTRA_BYTES }),
        fc.nat(255),
        async (coin, seed, at) => {
          const env = value(await blind(pk, coin, value(blindingFactorFromSeed(pk, seed))));
          const sig = value(await finalize(pk, coin, value(blindSign(denom.privateKey, env.blindedMsg)), env.inv));
          assert.equal((await verify(pk, coin, sig)).ok, true);
          const bad = sig.slice();
          bad[at]! ^= 0x20;
          assert.equal((await verify(pk, coin, bad)).ok, false);
        },
      ),
      { numRuns: 30 },
    );
  });
});

void describe('the signer refuses', () => {
  void test('a blinded message not below n, or not modulus-length (RSASP1 out of range)', () => {
    const n = hex(pk.n.toString(16).padStart(512, '0'));
    const nMinus1 = n.slice();
    nMinus1[255]! -= 1; // n is odd, so no borrow
    assert.equal(value(blindSign(denom.privateKey, nMinus1)).length, 256);
    for (const bad of [n, new Uint8Array(256).fill(0xff), new Uint8Array(255), new Uint8Array(257)]) {
      const res = blindSign(denom.privateKey, bad);
      assert.equal(res.ok ? '' : res.code, 'PROTO_BLIND_INPUT_INVALID');
    }
  });

  void test('to release a faulty RSASP1 result (RFC 9474 §4.3 steps 3-4): it throws instead', () => {
    // Simulate a CRT fault: one flipped bit in OpenSSL's output. A released
    // faulty signature s gives gcd(s^e - m, n) = a prime factor of n.
    const nodeCrypto = createRequire(import.meta.url)('node:crypto') as typeof NodeCrypto;
    const real = nodeCrypto.privateDecrypt;
    const m = new Uint8Array(256).fill(0x11);
    nodeCrypto.privateDecrypt = (key, buf) => {
      const out = real(key, buf);
      out[100]! ^= 0x01;
      return out;
    };
    syncBuiltinESMExports();
    try {
      assert.throws(() => blindSign(denom.privateKey, m), /signing failure/);
    } finally {
      nodeCrypto.privateDecrypt = real;
      syncBuiltinESMExports();
    }
    assert.equal(value(blindSign(denom.privateKey, m)).length, 256);
  });

  void test('keys under 2048 bits, non-RSA keys and public keys, by TypeError', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    assert.throws(() => blindSign(weak, new Uint8Array(128)), TypeError);
    assert.throws(() => blindSign(generateKeyPairSync('ed25519').privateKey, new Uint8Array(32)), TypeError);
    assert.throws(() => blindSign(denom.publicKey, new Uint8Array(256)), TypeError);
    await assert.rejects(generateDenominationKey(1024), TypeError);
  });
});
