// The payment server's coin check (RFC 9474 §4.5 Verify on OpenSSL) against
// the wallet's bigint verify (src/protocol/rfc9474.ts): the RFC's vector, our
// own blind-signed coins, and the same answer for every altered byte.
import assert from 'node:assert/strict';
import { constants, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { blindSign, denominationPublicKey, generateDenominationKey } from '../../src/crypto/blind-signer.ts';
import { denominationVerifyKey, verifyCoinSignature } from '../../src/crypto/coin-verify.ts';
import { BLINDING_SEED_EXTRA_BYTES, blind, blindingFactorFromSeed, finalize, verify, type BlindRsaPublicKey } from '../../src/protocol/rfc9474.ts';
import { value } from '../helpers/results.ts';

type Vector = Record<'n' | 'e' | 'msg' | 'sig', string>;
const v = JSON.parse(readFileSync(new URL('../vectors/rfc9474.json', import.meta.url), 'utf8')) as Vector;
const hex = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(s, 'hex'));

let denom: { privateKey: KeyObject; publicKey: KeyObject };
let other: { privateKey: KeyObject; publicKey: KeyObject };
let pk: BlindRsaPublicKey;
let coin: Uint8Array<ArrayBuffer>;
let coinSig: Uint8Array<ArrayBuffer>;

/** Blind → BlindSign (OpenSSL) → Finalize, as a withdrawal does. */
async function blindSigned(key: { privateKey: KeyObject }, pub: BlindRsaPublicKey, msg: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const kLen = Math.ceil(pub.n.toString(2).length / 8);
  const r = value(blindingFactorFromSeed(pub, crypto.getRandomValues(new Uint8Array(kLen + BLINDING_SEED_EXTRA_BYTES))));
  const b = value(await blind(pub, msg, r));
  return value(await finalize(pub, msg, value(blindSign(key.privateKey, b.blindedMsg)), b.inv));
}

/** Both verifiers' answers: they must always agree. */
async function both(key: KeyObject, pub: BlindRsaPublicKey, msg: Uint8Array, sig: Uint8Array): Promise<[boolean, boolean]> {
  return [verifyCoinSignature(key, msg, sig), (await verify(pub, msg, sig)).ok];
}

before(async () => {
  [denom, other] = await Promise.all([generateDenominationKey(2048), generateDenominationKey(2048)]);
  pk = denominationPublicKey(denom.publicKey);
  coin = crypto.getRandomValues(new Uint8Array(32));
  coinSig = await blindSigned(denom, pk, coin);
});

void describe('verifyCoinSignature (RSABSSA-SHA384-PSSZERO-Deterministic on OpenSSL)', () => {
  void test('accepts the RFC 9474 Appendix A signature', () => {
    const key = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(v.n, 'hex').toString('base64url'), e: Buffer.from(v.e, 'hex').toString('base64url') }, format: 'jwk' });
    assert.equal(verifyCoinSignature(key, hex(v.msg), hex(v.sig)), true);
    const bad = hex(v.sig);
    bad[bad.length - 1]! ^= 1;
    assert.equal(verifyCoinSignature(key, hex(v.msg), bad), false);
  });

  void test('a blind-signed coin verifies here and in the wallet, and is the one signature OpenSSL makes with salt length 0', async () => {
    assert.deepEqual(await both(denom.publicKey, pk, coin, coinSig), [true, true]);
    // PSS with an empty salt is deterministic: the unblinded signature is byte for byte OpenSSL's own.
    const direct = sign('sha384', coin, { key: denom.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 });
    assert.deepEqual(new Uint8Array(direct), coinSig);
  });

  void test('a PSS signature with a salt (another variant) fails both verifiers', async () => {
    const salted = new Uint8Array(sign('sha384', coin, { key: denom.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }));
    assert.equal(verifyCoinSignature(denom.publicKey, coin, salted), false);
    assert.equal((await verify(pk, coin, salted)).ok, false);
  });

  void test('another denomination key, another coin, s ≥ n, or another length: false', async () => {
    const otherPk = denominationPublicKey(other.publicKey);
    const signedByOther = await blindSigned(other, otherPk, coin);
    assert.deepEqual(await both(denom.publicKey, pk, coin, signedByOther), [false, false]);
    assert.deepEqual(await both(other.publicKey, otherPk, coin, signedByOther), [true, true]);
    assert.deepEqual(await both(denom.publicKey, pk, crypto.getRandomValues(new Uint8Array(32)), coinSig), [false, false]);
    const toBytes = (x: bigint) => Buffer.from(x.toString(16).padStart(512, '0'), 'hex');
    for (const bad of [toBytes(pk.n), toBytes(pk.n + 1n), Buffer.alloc(256, 0xff)]) assert.deepEqual(await both(denom.publicKey, pk, coin, bad), [false, false]);
    // s + n is s modulo n: a second encoding of a valid signature, refused because it is not below n.
    let alias: { msg: Uint8Array; sig: Buffer } | undefined;
    for (let i = 0; i < 64 && !alias; i++) {
      const msg = crypto.getRandomValues(new Uint8Array(32));
      const s = BigInt(`0x${sign('sha384', msg, { key: denom.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 }).toString('hex')}`);
      if (s + pk.n < 2n ** 2048n) alias = { msg, sig: toBytes(s + pk.n) };
    }
    assert.ok(alias, 'some signature s has s + n below 2^2048');
    assert.deepEqual(await both(denom.publicKey, pk, alias.msg, alias.sig), [false, false]);
    // The same integer in 257 bytes, and the signature cut short: one encoding per coin.
    assert.equal(verifyCoinSignature(denom.publicKey, coin, Buffer.concat([Buffer.from([0]), coinSig])), false);
    assert.equal(verifyCoinSignature(denom.publicKey, coin, coinSig.subarray(1)), false);
    assert.equal(verifyCoinSignature(denom.publicKey, coin, new Uint8Array(0)), false);
  });

  void test('property: any flipped bit of the signature or the coin fails, in both verifiers alike', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 7 }), async (inSig, at, bit) => {
        const sig = coinSig.slice();
        const msg = coin.slice();
        const target = inSig ? sig : msg;
        target[at % target.length]! ^= 1 << bit;
        assert.deepEqual(await both(denom.publicKey, pk, msg, sig), [false, false]);
      }),
      { numRuns: 64 },
    );
  });

  void test('refuses what is not a 2048-8192-bit RSA public key, and non-byte arguments, with a TypeError', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ed = generateKeyPairSync('ed25519');
    for (const key of [denom.privateKey, small.publicKey, ed.publicKey, {} as KeyObject]) {
      assert.throws(() => verifyCoinSignature(key, coin, coinSig), TypeError);
    }
    assert.throws(() => verifyCoinSignature(denom.publicKey, 'coin' as unknown as Uint8Array, coinSig), TypeError);
    assert.throws(() => verifyCoinSignature(denom.publicKey, coin, [1, 2] as unknown as Uint8Array), TypeError);
  });

  void test('denominationVerifyKey reads the published SPKI and refuses non-RSA keys', () => {
    const spki = new Uint8Array(denom.publicKey.export({ type: 'spki', format: 'der' }));
    assert.equal(verifyCoinSignature(denominationVerifyKey(spki), coin, coinSig), true);
    const edSpki = new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }));
    assert.throws(() => denominationVerifyKey(edSpki), TypeError);
    assert.throws(() => denominationVerifyKey('spki' as unknown as Uint8Array), TypeError);
  });
});
