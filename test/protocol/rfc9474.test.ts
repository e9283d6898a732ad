// RFC 9474 client side (blind, finalize, verify) against the RFC's known-answer
// vector, and the refusals. Signing with OpenSSL is in test/crypto/blind-signer.test.ts.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  BLINDING_SEED_EXTRA_BYTES,
  blind,
  blindingFactorFromSeed,
  blindRsaPublicKey,
  blindRsaPublicKeyFromJwk,
  blindRsaPublicKeyFromSpki,
  emsaPssEncode,
  finalize,
  modulusBytes,
  verify,
  type BlindRsaPublicKey,
} from '../../src/protocol/rfc9474.ts';
import { modInverse, value } from '../helpers/results.ts';

type Vector = Record<'name' | 'p' | 'q' | 'n' | 'e' | 'd' | 'msg' | 'salt' | 'encoded_msg' | 'inv' | 'blinded_msg' | 'blind_sig' | 'sig', string>;
const v = JSON.parse(readFileSync(new URL('../vectors/rfc9474.json', import.meta.url), 'utf8')) as Vector;
const hex = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const int = (s: string): bigint => BigInt(`0x${s}`);



const key = value(blindRsaPublicKey(int(v.n), int(v.e)));
const kLen = value(modulusBytes(key));
const msg = hex(v.msg);
// The RFC lists inv = r^-1 mod n; r is its inverse.
const r = hex(modInverse(int(v.inv), key.n).toString(16).padStart(kLen * 2, '0'));

function otherKey(bits = 2048): BlindRsaPublicKey {
  const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
  return value(blindRsaPublicKeyFromJwk(jwk));
}

void describe('RFC 9474 Appendix A, RSABSSA-SHA384-PSSZERO-Deterministic', () => {
  void test('the vector is the variant we implement, with an empty salt', () => {
    assert.equal(v.name, 'RSABSSA-SHA384-PSSZERO-Deterministic');
    assert.equal(v.salt, '');
    assert.equal(key.n, int(v.p) * int(v.q));
  });

  void test('EMSA-PSS-ENCODE(msg, modBits - 1) gives encoded_msg', async () => {
    assert.equal(toHex(await emsaPssEncode(msg, 4095)), v.encoded_msg);
  });

  void test('blind with the vector r gives blinded_msg and inv', async () => {
    const out = value(await blind(key, msg, r));
    assert.equal(toHex(out.blindedMsg), v.blinded_msg);
    assert.equal(toHex(out.inv), v.inv);
  });

  void test('finalize(blind_sig, inv) gives sig, which verifies', async () => {
    assert.equal(toHex(value(await finalize(key, msg, hex(v.blind_sig), hex(v.inv)))), v.sig);
    assert.equal(value(await verify(key, msg, hex(v.sig))), true);
  });

  void test('the vector sig is a plain RSASSA-PSS signature to WebCrypto (saltLength 0)', async () => {
    const jwk = { kty: 'RSA', n: Buffer.from(v.n, 'hex').toString('base64url'), e: 'AQAB' };
    const pub = await crypto.subtle.importKey('jwk', jwk, { name: 'RSA-PSS', hash: 'SHA-384' }, false, ['verify']);
    assert.equal(await crypto.subtle.verify({ name: 'RSA-PSS', saltLength: 0 }, pub, hex(v.sig), msg), true);
  });
});

void describe('verification refuses what it must', () => {
  const sig = hex(v.sig);

  void test('a flipped bit anywhere in the signature or the message fails', async () => {
    for (const i of [0, 1, kLen >> 1, kLen - 2, kLen - 1]) {
      const bad = sig.slice();
      bad[i]! ^= 0x01;
      const res = await verify(key, msg, bad);
      assert.equal(res.ok, false, `byte ${i}`);
      if (!res.ok) assert.equal(res.code, 'PROTO_BLIND_SIGNATURE_INVALID');
    }
    for (const i of [0, msg.length - 1]) {
      const bad = msg.slice();
      bad[i]! ^= 0x80;
      assert.equal((await verify(key, bad, sig)).ok, false);
    }
  });

  void test('a signature of the wrong length, or not below n, fails', async () => {
    assert.equal((await verify(key, msg, sig.subarray(1))).ok, false);
    assert.equal((await verify(key, msg, new Uint8Array([0, ...sig]))).ok, false);
    assert.equal((await verify(key, msg, hex(v.n))).ok, false);
  });

  void test('a signature under another key fails', async () => {
    const res = await verify(otherKey(4096), msg, sig);
    assert.equal(res.ok, false);
    if (!res.ok) assert.equal(res.code, 'PROTO_BLIND_SIGNATURE_INVALID');
  });

  void test('finalize refuses a blind signature that does not unblind to a valid one', async () => {
    const bad = hex(v.blind_sig);
    bad[10]! ^= 0x04;
    const res = await finalize(key, msg, bad, hex(v.inv));
    assert.equal(res.ok, false);
    if (!res.ok) assert.equal(res.code, 'PROTO_BLIND_SIGNATURE_INVALID');
    const short = await finalize(key, msg, hex(v.blind_sig).subarray(1), hex(v.inv));
    assert.equal(short.ok ? '' : short.code, 'PROTO_BLIND_SIGNATURE_INVALID');
  });

  void test('verify does not read the caller’s buffer after it returns control', async () => {
    const mine = sig.slice();
    const pending = verify(key, msg, mine);
    mine.fill(0);
    assert.equal((await pending).ok, true);
  });
});

void describe('keys', () => {
  void test('a modulus below 2048 bits is refused, by every entry point', async () => {
    const small = int(v.p) >> 1n | 1n; // 2047 bits, odd
    const res = blindRsaPublicKey(small, 65537n);
    assert.equal(res.ok ? '' : res.code, 'PROTO_BLIND_KEY_INVALID');
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const fromJwk = blindRsaPublicKeyFromJwk(weak.export({ format: 'jwk' }));
    assert.equal(fromJwk.ok ? '' : fromJwk.code, 'PROTO_BLIND_KEY_INVALID');
    const fromSpki = await blindRsaPublicKeyFromSpki(weak.export({ type: 'spki', format: 'der' }));
    assert.equal(fromSpki.ok ? '' : fromSpki.code, 'PROTO_BLIND_KEY_INVALID');
    const raw = await blind({ n: small, e: 65537n }, msg, r.subarray(0, 256));
    assert.equal(raw.ok ? '' : raw.code, 'PROTO_BLIND_KEY_INVALID');
  });

  void test('even moduli, bad exponents and private JWKs are refused', () => {
    for (const [n, e] of [[key.n + 1n, 65537n], [key.n, 65536n], [key.n, 1n], [key.n, (1n << 65n) + 1n]] as const) {
      assert.equal(blindRsaPublicKey(n, e).ok, false, `${e}`);
    }
    const priv = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
    assert.equal(blindRsaPublicKeyFromJwk(priv).ok, false);
    assert.equal(blindRsaPublicKeyFromJwk({ kty: 'EC', n: 'AQAB', e: 'AQAB' }).ok, false);
  });

  void test('SPKI and JWK give the same key', async () => {
    const pub = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const a = value(await blindRsaPublicKeyFromSpki(pub.export({ type: 'spki', format: 'der' })));
    const b = value(blindRsaPublicKeyFromJwk(pub.export({ format: 'jwk' })));
    assert.deepEqual([a.n, a.e], [b.n, b.e]);
    assert.equal((await blindRsaPublicKeyFromSpki(new Uint8Array([0x30, 0x00]))).ok, false);
  });

  void test('wrongly typed arguments throw TypeError naming the argument', async () => {
    await assert.rejects(blind(key, 'msg' as unknown as Uint8Array, r), /msg/);
    await assert.rejects(blind({ n: 1, e: 3 } as unknown as BlindRsaPublicKey, msg, r), /key/);
  });
});

void describe('blinding factor', () => {
  void test('r out of [1, n), of the wrong length, or sharing a factor with n is refused', async () => {
    const cases = [new Uint8Array(kLen), hex(v.n), r.subarray(1), hex(v.p.padStart(kLen * 2, '0'))];
    for (const bad of cases) {
      const res = await blind(key, msg, bad);
      assert.equal(res.ok ? '' : res.code, 'PROTO_BLIND_INPUT_INVALID');
    }
  });

  void test('blindingFactorFromSeed is deterministic, in range, and needs extra bytes', async () => {
    const seed = new Uint8Array(kLen + BLINDING_SEED_EXTRA_BYTES).fill(0xff);
    const a = value(blindingFactorFromSeed(key, seed));
    assert.deepEqual(a, value(blindingFactorFromSeed(key, seed)));
    assert.equal(a.length, kLen);
    assert.ok(int(toHex(a)) < key.n);
    assert.throws(() => blindingFactorFromSeed(key, seed.subarray(1)), RangeError);
    // Same message and r: the same envelope (a retried withdrawal is identical).
    const e1 = value(await blind(key, msg, a));
    const e2 = value(await blind(key, msg, a));
    assert.deepEqual(e1, e2);
    const other = value(blindingFactorFromSeed(key, seed.map((b, i) => (i === 0 ? 0 : b))));
    assert.notDeepEqual(value(await blind(key, msg, other)).blindedMsg, e1.blindedMsg);
  });
});
