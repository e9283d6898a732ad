// Interoperability with an independent RFC 9474 implementation,
// @cloudflare/blindrsa-ts (pure JS, RSABSSA-SHA384-PSSZERO-Deterministic), in
// both directions. Its signer takes about half a second per signature, so it
// signs once here.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { blindSign, denominationPublicKey, generateDenominationKey } from '../../src/crypto/blind-signer.ts';
import type { Result } from '../../src/protocol/result.ts';
import { BLINDING_SEED_EXTRA_BYTES, blind, blindingFactorFromSeed, finalize, verify, type BlindRsaPublicKey } from '../../src/protocol/rfc9474.ts';

function value<T>(r: Result<T, string>): T {
  if (!r.ok) assert.fail(`${r.code}: ${r.message}`);
  return r.value;
}

const suite = RSABSSA.SHA384.PSSZero.Deterministic();
const algorithm = { name: 'RSA-PSS', hash: 'SHA-384' };
let denom: Awaited<ReturnType<typeof generateDenominationKey>>;
let pk: BlindRsaPublicKey;
let theirPublic: CryptoKey;
let theirPrivate: CryptoKey;

before(async () => {
  denom = await generateDenominationKey(2048);
  pk = denominationPublicKey(denom.publicKey);
  // The library needs extractable RSA-PSS CryptoKeys; same key material as our KeyObjects.
  theirPublic = await crypto.subtle.importKey('jwk', denom.publicKey.export({ format: 'jwk' }), algorithm, true, ['verify']);
  theirPrivate = await crypto.subtle.importKey('jwk', denom.privateKey.export({ format: 'jwk' }), algorithm, true, ['sign']);
});

void describe('@cloudflare/blindrsa-ts interop (RSABSSA-SHA384-PSSZERO-Deterministic)', () => {
  void test('the library is the variant we implement', () => {
    assert.equal(suite.toString(), 'RSABSSA-SHA384-PSSZERO-Deterministic');
  });

  void test('their client + our signer: their finalize accepts our blind signature; both verifiers accept the result', async () => {
    for (const coin of [crypto.getRandomValues(new Uint8Array(32)), new TextEncoder().encode('a coin public key stand-in')]) {
      const msg = suite.prepare(coin);
      assert.deepEqual(msg, coin); // Deterministic: identity Prepare
      const { blindedMsg, inv } = await suite.blind(theirPublic, msg);
      const blindSig = value(blindSign(denom.privateKey, blindedMsg));
      const sig = await suite.finalize(theirPublic, msg, blindSig, inv);
      assert.equal(await suite.verify(theirPublic, sig, msg), true);
      assert.equal(value(await verify(pk, msg, sig)), true);
      // Our finalize on their envelope state gives the very same signature.
      assert.deepEqual(value(await finalize(pk, msg, blindSig, inv)), new Uint8Array(sig));
    }
  });

  void test('our client + their signer: our finalize accepts their blind signature; both verifiers accept the result', async () => {
    const coin = crypto.getRandomValues(new Uint8Array(32));
    const seed = crypto.getRandomValues(new Uint8Array(256 + BLINDING_SEED_EXTRA_BYTES));
    const env = value(await blind(pk, coin, value(blindingFactorFromSeed(pk, seed))));
    const theirBlindSig = await suite.blindSign(theirPrivate, env.blindedMsg); // the slow pure-JS RSASP1
    // RSASP1 is a function: OpenSSL and the library must agree byte for byte.
    assert.deepEqual(new Uint8Array(theirBlindSig), value(blindSign(denom.privateKey, env.blindedMsg)));
    const sig = value(await finalize(pk, coin, theirBlindSig, env.inv));
    assert.equal(value(await verify(pk, coin, sig)), true);
    assert.equal(await suite.verify(theirPublic, sig, coin), true);
  });

  void test('their verifier rejects what ours rejects: a flipped byte', async () => {
    const coin = new Uint8Array(32).fill(5);
    const seed = new Uint8Array(256 + BLINDING_SEED_EXTRA_BYTES).fill(6);
    const env = value(await blind(pk, coin, value(blindingFactorFromSeed(pk, seed))));
    const sig = value(await finalize(pk, coin, value(blindSign(denom.privateKey, env.blindedMsg)), env.inv));
    sig[17]! ^= 0x01;
    assert.equal(await suite.verify(theirPublic, sig, coin), false);
    assert.equal((await verify(pk, coin, sig)).ok, false);
  });
});
