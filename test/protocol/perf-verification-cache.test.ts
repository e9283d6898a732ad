// The verification cache (src/protocol/x509/verification-cache.ts) may only make
// validation faster: every flawed chain must fail with the same code through a
// cache that has already accepted the valid version, and no caller can poison it.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createVerificationCache, validatePath, type PathPolicy, type VerificationCache } from '../../src/protocol/x509/index.ts';
import { buildPki, LEAF_NOT_AFTER, LEAF_NOT_BEFORE, makeIntermediate, makeRoot, PKI_NOW, type LeafHandle, type TestPki } from '../fixtures/pki.ts';

type Outcome = { ok: true; identity: unknown; keyAlgorithm: string } | { ok: false; code: string; message: string; details: unknown };

async function outcome(chain: Uint8Array[], policy: PathPolicy): Promise<Outcome> {
  const r = await validatePath(chain, policy);
  return r.ok ? { ok: true, identity: r.value.identity, keyAlgorithm: r.value.keyAlgorithm } : { ok: false, code: r.code, message: r.message, details: r.details };
}

/** Asserts the warm-cache outcome equals the uncached one, and that it is the expected code. */
async function sameThroughCache(chain: Uint8Array[], policy: PathPolicy, cache: VerificationCache, code: string): Promise<void> {
  const plain = await outcome(chain, policy);
  const cached = await outcome(chain, { ...policy, cache });
  assert.deepEqual(cached, plain);
  assert.equal(cached.ok ? 'ok' : cached.code, code);
}

function flipLast(der: Uint8Array): Uint8Array {
  const out = der.slice();
  out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 0x01; // inside the signature BIT STRING
  return out;
}

for (const keyKind of ['Ed25519', 'P-256'] as const) {
  void describe(`validatePath with a warm cache (${keyKind})`, () => {
    let pki: TestPki;
    let leaf: LeafHandle;
    let policy: PathPolicy;
    let cache: VerificationCache;

    void before(async () => {
      pki = await buildPki({ keyKind });
      leaf = await pki.leaf({ role: 'merchant', partyId: 'shop-1' });
      policy = await pki.policy({ expectedRoles: ['merchant'] });
      cache = createVerificationCache({ maxEntries: 1000 });
      // Warm: the valid chain, its CRLs, keys and signatures are all in the cache.
      const warm = await validatePath(leaf.chain, { ...policy, cache });
      assert.ok(warm.ok);
      assert.ok(cache.size > 0);
    });

    void test('the valid chain gives the same identity with and without the cache', async () => {
      await sameThroughCache(leaf.chain, policy, cache, 'ok');
    });

    void test('same leaf, a new CRL that revokes it: REVOKED', async () => {
      const crls = [await pki.crl(pki.root), await pki.crl(pki.intermediate, { revoked: [leaf.der], crlNumber: 2 })];
      await sameThroughCache(leaf.chain, { ...policy, crls }, cache, 'PROTO_CERT_REVOKED');
      // The older, cached CRL still in the list does not hide the newer revocation.
      await sameThroughCache(leaf.chain, { ...policy, crls: [...policy.crls, ...crls] }, cache, 'PROTO_CERT_REVOKED');
    });

    void test('the intermediate revoked by the root later: REVOKED', async () => {
      const crls = [await pki.crl(pki.root, { revoked: [pki.intermediate.der], crlNumber: 2 }), policy.crls[1]!];
      await sameThroughCache(leaf.chain, { ...policy, crls }, cache, 'PROTO_CERT_REVOKED');
    });

    void test('moving now: EXPIRED, NOT_YET_VALID, and the cached CRLs turn stale', async () => {
      await sameThroughCache(leaf.chain, { ...policy, now: new Date(LEAF_NOT_AFTER.getTime() + 1000) }, cache, 'PROTO_CERT_EXPIRED');
      await sameThroughCache(leaf.chain, { ...policy, now: new Date(LEAF_NOT_BEFORE.getTime() - 1000) }, cache, 'PROTO_CERT_NOT_YET_VALID');
      await sameThroughCache(leaf.chain, { ...policy, now: new Date(PKI_NOW.getTime() + 2 * 86_400_000) }, cache, 'PROTO_CERT_CRL_STALE');
      await sameThroughCache(leaf.chain, { ...policy, crlMaxAgeSeconds: 60 }, cache, 'PROTO_CERT_CRL_STALE');
    });

    void test('a tampered signature byte of a cached certificate: SIGNATURE_INVALID', async () => {
      await sameThroughCache([flipLast(leaf.der), pki.intermediate.der], policy, cache, 'PROTO_CERT_SIGNATURE_INVALID');
      await sameThroughCache([leaf.der, flipLast(pki.intermediate.der)], policy, cache, 'PROTO_CERT_SIGNATURE_INVALID');
    });

    void test('a tampered signature byte of a cached CRL: CRL_INVALID', async () => {
      await sameThroughCache(leaf.chain, { ...policy, crls: [policy.crls[0]!, flipLast(policy.crls[1]!)] }, cache, 'PROTO_CERT_CRL_INVALID');
    });

    void test('a different intermediate with the same name: SIGNATURE_INVALID', async () => {
      const twin = await makeIntermediate(pki.root, { keyKind }); // same default name, other key
      await sameThroughCache([leaf.der, twin.der], policy, cache, 'PROTO_CERT_SIGNATURE_INVALID');
      // And a twin root with the trusted root's name does not borrow its cached signatures.
      const fakeRoot = await makeRoot({ keyKind });
      const fakeInter = await makeIntermediate(fakeRoot, { keyKind });
      await sameThroughCache([leaf.der, fakeInter.der], policy, cache, 'PROTO_CERT_SIGNATURE_INVALID');
    });

    void test('policy changes are applied to cached facts', async () => {
      await sameThroughCache(leaf.chain, { ...policy, expectedRoles: ['client'] }, cache, 'PROTO_CERT_ROLE_MISMATCH');
      const other = keyKind === 'Ed25519' ? 'ES256' : 'Ed25519';
      await sameThroughCache(leaf.chain, { ...policy, allowedAlgorithms: [other] }, cache, 'PROTO_CERT_ALG_NOT_ALLOWED');
      await sameThroughCache(leaf.chain, { ...policy, maxDepth: 2 }, cache, 'PROTO_CERT_PATH_TOO_LONG');
      await sameThroughCache(leaf.chain, { ...policy, crls: [policy.crls[0]!] }, cache, 'PROTO_CERT_CRL_MISSING');
      const forged = await pki.crl(pki.intermediate, { signWith: (await makeRoot({ keyKind })).keys.privateKey });
      await sameThroughCache(leaf.chain, { ...policy, crls: [policy.crls[0]!, forged] }, cache, 'PROTO_CERT_CRL_INVALID');
      const elsewhere = await makeRoot({ keyKind, commonName: 'Elsewhere' });
      await sameThroughCache(leaf.chain, { ...policy, trustAnchors: [elsewhere.der] }, cache, 'PROTO_CERT_UNTRUSTED_ROOT');
      await sameThroughCache([new Uint8Array([0x30, 0x00])], policy, cache, 'PROTO_CERT_MALFORMED');
      // Back to the original policy: still fine, nothing was poisoned.
      await sameThroughCache(leaf.chain, policy, cache, 'ok');
    });
  });
}

void describe('the cache cannot be poisoned through shared buffers or results', () => {
  let pki: TestPki;
  void before(async () => {
    pki = await buildPki();
  });

  void test('mutating an input buffer after a call changes nothing cached', async () => {
    const leaf = await pki.leaf();
    const policy = await pki.policy();
    const cache = createVerificationCache({ maxEntries: 1000 });
    const buffer = leaf.der.slice();
    assert.ok((await validatePath([buffer, pki.intermediate.der], { ...policy, cache })).ok);
    // The caller now turns its buffer into a tampered certificate: it must fail...
    buffer[buffer.length - 1] = (buffer[buffer.length - 1] ?? 0) ^ 0x01;
    const tampered = await validatePath([buffer, pki.intermediate.der], { ...policy, cache });
    assert.equal(tampered.ok ? 'ok' : tampered.code, 'PROTO_CERT_SIGNATURE_INVALID');
    // ...and the pristine bytes still pass, with the fingerprint of the pristine bytes.
    const pristine = await validatePath([leaf.der, pki.intermediate.der], { ...policy, cache });
    const plain = await validatePath([leaf.der, pki.intermediate.der], policy);
    assert.ok(pristine.ok && plain.ok);
    assert.deepEqual(pristine.value.identity, plain.value.identity);
    // The other way round: a tampered buffer repaired after the call passes.
    const crl = policy.crls[1]!.slice();
    crl[crl.length - 1] = (crl[crl.length - 1] ?? 0) ^ 0x01;
    const bad = await validatePath(leaf.chain, { ...policy, crls: [policy.crls[0]!, crl], cache });
    assert.equal(bad.ok ? 'ok' : bad.code, 'PROTO_CERT_CRL_INVALID');
    crl[crl.length - 1] = (crl[crl.length - 1] ?? 0) ^ 0x01;
    assert.ok((await validatePath(leaf.chain, { ...policy, crls: [policy.crls[0]!, crl], cache })).ok);
  });

  void test('mutating a buffer during a call changes nothing', async () => {
    const leaf = await pki.leaf();
    const policy = await pki.policy();
    const cache = createVerificationCache({ maxEntries: 1000 });
    const buffer = leaf.der.slice();
    const pending = validatePath([buffer, pki.intermediate.der], { ...policy, cache });
    buffer.fill(0);
    assert.ok((await pending).ok);
    assert.ok((await validatePath(leaf.chain, { ...policy, cache })).ok);
  });

  void test('results handed out cannot alter what the next caller gets', async () => {
    const leaf = await pki.leaf();
    const policy = await pki.policy();
    const cache = createVerificationCache({ maxEntries: 1000 });
    const first = await validatePath(leaf.chain, { ...policy, cache });
    assert.ok(first.ok);
    assert.throws(() => {
      (first.value.publicKey.algorithm as { name: string }).name = 'HMAC';
    }, TypeError);
    assert.throws(() => Object.defineProperty(first.value.publicKey, 'algorithm', { value: { name: 'HMAC' } }), TypeError);
    first.value.identity.notAfter.setTime(0);
    first.value.leaf.notAfter.setTime(0);
    const second = await validatePath(leaf.chain, { ...policy, cache });
    assert.ok(second.ok);
    assert.equal(second.value.publicKey.algorithm.name, 'Ed25519');
    assert.equal(second.value.identity.notAfter.getTime(), LEAF_NOT_AFTER.getTime());
    assert.equal(second.value.leaf.notAfter.getTime(), LEAF_NOT_AFTER.getTime());
    assert.notEqual(second.value.leaf, first.value.leaf);
  });
});

void describe('createVerificationCache', () => {
  let pki: TestPki;
  void before(async () => {
    pki = await buildPki();
  });

  void test('is bounded: least-recently-used entries are evicted', async () => {
    const policy = await pki.policy();
    const a = await pki.leaf({ partyId: 'a' });
    const b = await pki.leaf({ partyId: 'b' });
    const probe = createVerificationCache({ maxEntries: 1000 });
    assert.ok((await validatePath(a.chain, { ...policy, cache: probe })).ok);
    const perPath = probe.size;
    assert.ok(perPath >= 10, `one path should fill several entries, got ${perPath}`);

    const cache = createVerificationCache({ maxEntries: perPath });
    assert.ok((await validatePath(a.chain, { ...policy, cache })).ok);
    assert.equal(cache.size, perPath);
    // Another leaf adds its own entries; the size stays at the bound, results stay right.
    assert.ok((await validatePath(b.chain, { ...policy, cache })).ok);
    assert.equal(cache.size, perPath);
    const revoked = await validatePath(a.chain, { ...policy, crls: [policy.crls[0]!, await pki.crl(pki.intermediate, { revoked: [a.der] })], cache });
    assert.equal(revoked.ok ? 'ok' : revoked.code, 'PROTO_CERT_REVOKED');
    assert.equal(cache.size, perPath);

    const tiny = createVerificationCache({ maxEntries: 3 });
    assert.ok((await validatePath(a.chain, { ...policy, cache: tiny })).ok);
    assert.equal(tiny.size, 3);
    // A byte budget smaller than any key keeps nothing, and changes no result.
    const none = createVerificationCache({ maxEntries: 1000, maxKeyBytes: 16 });
    assert.ok((await validatePath(a.chain, { ...policy, cache: none })).ok);
    assert.equal(none.size, 0);
    cache.clear();
    assert.equal(cache.size, 0);
  });

  void test('refuses bad options and foreign cache objects with TypeError', async () => {
    assert.throws(() => createVerificationCache({ maxEntries: 0 }), TypeError);
    assert.throws(() => createVerificationCache({ maxEntries: 1.5 }), TypeError);
    assert.throws(() => createVerificationCache(undefined as unknown as { maxEntries: number }), TypeError);
    const policy = await pki.policy();
    const fake = { size: 0, clear() {} } as unknown as VerificationCache;
    await assert.rejects(validatePath((await pki.leaf()).chain, { ...policy, cache: fake }), TypeError);
  });
});
