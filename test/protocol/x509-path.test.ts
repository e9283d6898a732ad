// Path validation: every check has a test that shows the attack fails with its code.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePath, x509, type PathPolicy } from '../../src/protocol/x509/index.ts';
import {
  asCaHandle,
  buildPki,
  generateKeyPair,
  LEAF_NOT_AFTER,
  LEAF_NOT_BEFORE,
  makeIntermediate,
  makeLeaf,
  makeRoot,
  partyName,
  PKI_NOW,
  profileCaExtensions,
  profileLeafExtensions,
  rawCertificate,
  type TestPki,
} from '../fixtures/pki.ts';

async function expectCode(chain: Uint8Array[], policy: PathPolicy, code: string): Promise<void> {
  const r = await validatePath(chain, policy);
  assert.equal(r.ok, false, `expected ${code}, got ok`);
  if (!r.ok) assert.equal(r.code, code, r.message);
}

for (const keyKind of ['Ed25519', 'P-256'] as const) {
  void describe(`validatePath (${keyKind})`, () => {
    let pki: TestPki;
    void before(async () => {
      pki = await buildPki({ keyKind });
    });

    void test('a profile leaf validates and yields its identity', async () => {
      const leaf = await pki.leaf({ role: 'merchant', partyId: 'shop-7', displayName: 'Tokyo Books, Ltd.' });
      const r = await validatePath(leaf.chain, await pki.policy({ expectedRoles: ['merchant'] }));
      assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.message}`);
      assert.equal(r.value.identity.kind, 'certified');
      assert.equal(r.value.identity.partyId, 'shop-7');
      assert.equal(r.value.identity.role, 'merchant');
      assert.equal(r.value.identity.displayName, 'Tokyo Books, Ltd.');
      assert.match(r.value.identity.fingerprint, /^[0-9a-f]{64}$/);
      assert.match(r.value.identity.issuer, /Quittance Test Issuing CA/);
      assert.equal(r.value.keyAlgorithm, keyKind === 'Ed25519' ? 'Ed25519' : 'ES256');
    });

    void test('a chain that includes the root also validates', async () => {
      const leaf = await pki.leaf();
      const r = await validatePath([...leaf.chain, pki.root.der], await pki.policy());
      assert.ok(r.ok);
    });
  });
}

void describe('validatePath attacks', () => {
  let pki: TestPki;
  void before(async () => {
    pki = await buildPki();
  });

  void test('empty chain and garbage are MALFORMED', async () => {
    const policy = await pki.policy();
    await expectCode([], policy, 'PROTO_CERT_MALFORMED');
    await expectCode([new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])], policy, 'PROTO_CERT_MALFORMED');
    const leaf = await pki.leaf();
    const truncated = leaf.der.slice(0, leaf.der.length - 1);
    await expectCode([truncated, pki.intermediate.der], policy, 'PROTO_CERT_MALFORMED');
    const trailing = new Uint8Array([...leaf.der, 0]);
    await expectCode([trailing, pki.intermediate.der], policy, 'PROTO_CERT_MALFORMED');
  });

  void test('wrongly typed arguments throw TypeError', async () => {
    const policy = await pki.policy();
    await assert.rejects(validatePath('x' as unknown as Uint8Array[], policy), TypeError);
    await assert.rejects(validatePath([], { ...policy, now: 'today' as unknown as Date }), TypeError);
  });

  void test('a chain to another root is UNTRUSTED_ROOT', async () => {
    const otherRoot = await makeRoot({ commonName: 'Some Other Root' });
    const other = { root: otherRoot };
    const leaf = await makeLeaf(await makeIntermediate(otherRoot));
    await expectCode(leaf.chain, await pki.policy(), 'PROTO_CERT_UNTRUSTED_ROOT');
    // Even when the foreign root itself is sent along.
    await expectCode([...leaf.chain, other.root.der], await pki.policy(), 'PROTO_CERT_UNTRUSTED_ROOT');
  });

  void test('a forged root with the trusted name fails on the signature', async () => {
    const fake = await makeRoot(); // same default name, different key
    const fakeInter = await makeIntermediate(fake);
    const leaf = await makeLeaf(fakeInter);
    await expectCode(leaf.chain, await pki.policy(), 'PROTO_CERT_SIGNATURE_INVALID');
  });

  void test('a leaf signed by the wrong key is SIGNATURE_INVALID', async () => {
    const keys = await generateKeyPair();
    const stranger = await generateKeyPair();
    const der = await rawCertificate({
      subject: partyName('mallory'),
      keys,
      issuer: pki.intermediate,
      signWith: stranger.privateKey,
      extensions: await profileLeafExtensions(keys.publicKey, pki.intermediate, 'client', 'mallory'),
    });
    await expectCode([der, pki.intermediate.der], await pki.policy(), 'PROTO_CERT_SIGNATURE_INVALID');
  });

  void test('a flipped byte in the signed part is SIGNATURE_INVALID', async () => {
    const leaf = await pki.leaf({ partyId: 'alice' });
    const tampered = leaf.der.slice();
    const at = new TextDecoder('latin1').decode(tampered).indexOf('alice');
    assert.ok(at > 0);
    tampered[at] = 'm'.charCodeAt(0); // alice -> mlice, in subject
    await expectCode([tampered, pki.intermediate.der], await pki.policy(), 'PROTO_CERT_SIGNATURE_INVALID');
  });

  void test('chain out of order or skipping a link is CHAIN_BROKEN', async () => {
    const leaf = await pki.leaf();
    const inter2 = await makeIntermediate(pki.root, { commonName: 'Another Issuing CA' });
    await expectCode([leaf.der, inter2.der], await pki.policy(), 'PROTO_CERT_CHAIN_BROKEN');
  });

  void test('an intermediate without the CA flag is NOT_CA', async () => {
    const keys = await generateKeyPair();
    const exts = (await profileCaExtensions(keys.publicKey, pki.root)).filter((e) => e.type !== '2.5.29.19');
    exts.push(new x509.BasicConstraintsExtension(false, undefined, true));
    const der = await rawCertificate({ subject: 'CN=Not A CA', keys, issuer: pki.root, extensions: exts, notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T00:00:00Z') });
    const fakeCa = asCaHandle(der, keys);
    const leaf = await makeLeaf(fakeCa);
    await expectCode(leaf.chain, await pki.policy(), 'PROTO_CERT_NOT_CA');
  });

  void test('a leaf used as an issuer (no basicConstraints at all) is NOT_CA', async () => {
    const keys = await generateKeyPair();
    const exts = (await profileCaExtensions(keys.publicKey, pki.root)).filter((e) => e.type !== '2.5.29.19');
    const der = await rawCertificate({ subject: 'CN=No BC', keys, issuer: pki.root, extensions: exts, notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T00:00:00Z') });
    const leaf = await makeLeaf(asCaHandle(der, keys));
    await expectCode(leaf.chain, await pki.policy(), 'PROTO_CERT_NOT_CA');
  });

  void test('a CA without keyCertSign is KEY_USAGE', async () => {
    const keys = await generateKeyPair();
    const exts = (await profileCaExtensions(keys.publicKey, pki.root)).filter((e) => e.type !== '2.5.29.15');
    exts.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign, true));
    const der = await rawCertificate({ subject: 'CN=No keyCertSign', keys, issuer: pki.root, extensions: exts, notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T00:00:00Z') });
    const leaf = await makeLeaf(asCaHandle(der, keys));
    await expectCode(leaf.chain, await pki.policy(), 'PROTO_CERT_KEY_USAGE');
  });

  void test('a leaf without digitalSignature, or with keyCertSign, is KEY_USAGE', async () => {
    for (const usage of [x509.KeyUsageFlags.keyCertSign, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign]) {
      const keys = await generateKeyPair();
      const exts = (await profileLeafExtensions(keys.publicKey, pki.intermediate, 'client', 'eve')).filter((e) => e.type !== '2.5.29.15');
      exts.push(new x509.KeyUsagesExtension(usage, true));
      const der = await rawCertificate({ subject: partyName('eve'), keys, issuer: pki.intermediate, extensions: exts });
      await expectCode([der, pki.intermediate.der], await pki.policy(), 'PROTO_CERT_KEY_USAGE');
    }
  });

  void test('a CA certificate presented as the signing leaf is LEAF_IS_CA', async () => {
    await expectCode([pki.intermediate.der], await pki.policy(), 'PROTO_CERT_LEAF_IS_CA');
  });

  void test('a chain deeper than maxDepth is PATH_TOO_LONG', async () => {
    const i2 = await makeIntermediate(pki.intermediate, { commonName: 'Level 2' });
    const i3 = await makeIntermediate(i2, { commonName: 'Level 3' });
    const leaf = await makeLeaf(i3);
    const chain = [leaf.der, i3.der, i2.der, pki.intermediate.der];
    const crls = [...(await pki.crls()), await pki.crl(i2), await pki.crl(i3)];
    // 5 certificates including the root, default limit 4.
    await expectCode(chain, await pki.policy({ crls }), 'PROTO_CERT_PATH_TOO_LONG');
    // The same chain is fine when the policy allows it: the code is about depth only.
    const r = await validatePath(chain, await pki.policy({ crls, maxDepth: 5 }));
    assert.ok(r.ok, r.ok ? '' : r.code);
    // A chain that is itself too long is refused before any parsing.
    await expectCode(Array.from({ length: 6 }, () => new Uint8Array([1])), await pki.policy(), 'PROTO_CERT_PATH_TOO_LONG');
  });

  void test('pathLenConstraint is enforced (PATH_TOO_LONG)', async () => {
    const root = await makeRoot({ pathLength: 0 });
    const inter = await makeIntermediate(root);
    const leaf = await makeLeaf(inter);
    // pathLen 0 on the root still allows a leaf directly below an intermediate? No:
    // pathLen counts intermediate CAs below the root, and there is one.
    const policy: PathPolicy = { trustAnchors: [root.der], now: PKI_NOW, crls: [await pki.crl(root), await pki.crl(inter)], crlMaxAgeSeconds: 86_400 };
    await expectCode(leaf.chain, policy, 'PROTO_CERT_PATH_TOO_LONG');
    const direct = await makeLeaf(root);
    const r = await validatePath([direct.der], { ...policy, crls: [await pki.crl(root)] });
    assert.ok(r.ok, r.ok ? '' : r.code);
  });

  void test('an expired leaf is EXPIRED, a future one NOT_YET_VALID', async () => {
    const leaf = await pki.leaf();
    const policy = await pki.policy();
    await expectCode(leaf.chain, { ...policy, now: new Date(LEAF_NOT_AFTER.getTime() + 1000) }, 'PROTO_CERT_EXPIRED');
    await expectCode(leaf.chain, { ...policy, now: new Date(LEAF_NOT_BEFORE.getTime() - 1000) }, 'PROTO_CERT_NOT_YET_VALID');
  });

  void test('validity is inclusive at exactly notBefore and notAfter', async () => {
    const leaf = await pki.leaf();
    const atStart = await validatePath(leaf.chain, await pki.policy({ now: LEAF_NOT_BEFORE, crls: [await pki.crl(pki.root, { thisUpdate: LEAF_NOT_BEFORE }), await pki.crl(pki.intermediate, { thisUpdate: LEAF_NOT_BEFORE })] }));
    assert.ok(atStart.ok, atStart.ok ? '' : atStart.code);
    const atEnd = await validatePath(leaf.chain, await pki.policy({ now: LEAF_NOT_AFTER, crls: [await pki.crl(pki.root, { thisUpdate: LEAF_NOT_AFTER, nextUpdate: new Date(LEAF_NOT_AFTER.getTime() + 3_600_000) }), await pki.crl(pki.intermediate, { thisUpdate: LEAF_NOT_AFTER, nextUpdate: new Date(LEAF_NOT_AFTER.getTime() + 3_600_000) })] }));
    assert.ok(atEnd.ok, atEnd.ok ? '' : atEnd.code);
  });

  void test('an expired intermediate makes the whole path EXPIRED', async () => {
    const inter = await makeIntermediate(pki.root, { notAfter: new Date('2025-08-01T00:00:00Z') });
    const leaf = await makeLeaf(inter, { notAfter: new Date('2025-07-01T00:00:00Z') });
    await expectCode(leaf.chain, await pki.policy({ crls: [await pki.crl(pki.root), await pki.crl(inter)] }), 'PROTO_CERT_EXPIRED');
  });

  void test('an unknown critical extension is CRITICAL_EXTENSION', async () => {
    const keys = await generateKeyPair();
    const exts = await profileLeafExtensions(keys.publicKey, pki.intermediate, 'client', 'carol');
    exts.push(new x509.Extension('1.3.6.1.4.1.55555.1', true, new Uint8Array([0x05, 0x00])));
    const der = await rawCertificate({ subject: partyName('carol'), keys, issuer: pki.intermediate, extensions: exts });
    await expectCode([der, pki.intermediate.der], await pki.policy(), 'PROTO_CERT_CRITICAL_EXTENSION');
  });

  void test('the same unknown extension, non-critical, is accepted', async () => {
    const keys = await generateKeyPair();
    const exts = await profileLeafExtensions(keys.publicKey, pki.intermediate, 'client', 'carol');
    exts.push(new x509.Extension('1.3.6.1.4.1.55555.1', false, new Uint8Array([0x05, 0x00])));
    const der = await rawCertificate({ subject: partyName('carol'), keys, issuer: pki.intermediate, extensions: exts });
    const r = await validatePath([der, pki.intermediate.der], await pki.policy());
    assert.ok(r.ok, r.ok ? '' : r.code);
  });

  void test('a role outside expectedRoles is ROLE_MISMATCH', async () => {
    const leaf = await pki.leaf({ role: 'client' });
    await expectCode(leaf.chain, await pki.policy({ expectedRoles: ['merchant', 'payment'] }), 'PROTO_CERT_ROLE_MISMATCH');
  });

  void test('profile violations are PROFILE_INVALID', async () => {
    const policy = await pki.policy();
    const make = async (subject: x509.Name | string, sans: x509.JsonGeneralNames | undefined): Promise<Uint8Array> => {
      const keys = await generateKeyPair();
      const exts = (await profileLeafExtensions(keys.publicKey, pki.intermediate, 'client', 'x')).filter((e) => e.type !== '2.5.29.17');
      if (sans) exts.push(new x509.SubjectAlternativeNameExtension(sans));
      return rawCertificate({ subject, keys, issuer: pki.intermediate, extensions: exts });
    };
    const role = { type: 'url' as const, value: 'urn:quittance:role:client' };
    const party = { type: 'url' as const, value: 'urn:quittance:party:bob' };
    const cases: [string, Uint8Array][] = [
      ['no SAN', await make(partyName('bob'), undefined)],
      ['no role', await make(partyName('bob'), [party])],
      ['two roles', await make(partyName('bob'), [role, { type: 'url', value: 'urn:quittance:role:bank' }, party])],
      ['unknown role', await make(partyName('bob'), [{ type: 'url', value: 'urn:quittance:role:god' }, party])],
      ['party URI differs from UID', await make(partyName('bob'), [role, { type: 'url', value: 'urn:quittance:party:alice' }])],
      ['no UID', await make('CN=Bob', [role, party])],
      ['extra subject attribute', await make('CN=Bob, 0.9.2342.19200300.100.1.1=bob, O=Real Name Inc', [role, party])],
    ];
    for (const [name, der] of cases) {
      const r = await validatePath([der, pki.intermediate.der], policy);
      assert.equal(r.ok ? 'ok' : r.code, 'PROTO_CERT_PROFILE_INVALID', name);
    }
  });

  void test('an RSA-signed or RSA-keyed certificate is ALG_NOT_ALLOWED', async () => {
    const rsa = (await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const der = await rawCertificate({
      subject: partyName('rsa'),
      keys: rsa,
      issuer: pki.intermediate,
      extensions: await profileLeafExtensions(rsa.publicKey, pki.intermediate, 'client', 'rsa'),
    });
    await expectCode([der, pki.intermediate.der], await pki.policy(), 'PROTO_CERT_ALG_NOT_ALLOWED');
    // Policy can narrow the set: ES256 only refuses our Ed25519 chain.
    const leaf = await pki.leaf();
    await expectCode(leaf.chain, await pki.policy({ allowedAlgorithms: ['ES256'] }), 'PROTO_CERT_ALG_NOT_ALLOWED');
  });

  void describe('revocation', () => {
    void test('a revoked leaf is REVOKED', async () => {
      const leaf = await pki.leaf();
      const crls = [await pki.crl(pki.root), await pki.crl(pki.intermediate, { revoked: [leaf.der] })];
      await expectCode(leaf.chain, await pki.policy({ crls }), 'PROTO_CERT_REVOKED');
    });

    void test('a revoked intermediate is REVOKED, even when the leaf is not', async () => {
      const leaf = await pki.leaf();
      const crls = [await pki.crl(pki.root, { revoked: [pki.intermediate.der] }), await pki.crl(pki.intermediate)];
      await expectCode(leaf.chain, await pki.policy({ crls }), 'PROTO_CERT_REVOKED');
    });

    void test('a revocation in an older CRL still counts', async () => {
      const leaf = await pki.leaf();
      const crls = [
        await pki.crl(pki.root),
        await pki.crl(pki.intermediate, { revoked: [leaf.der], thisUpdate: new Date(PKI_NOW.getTime() - 7_200_000), crlNumber: 1 }),
        await pki.crl(pki.intermediate, { crlNumber: 2 }),
      ];
      await expectCode(leaf.chain, await pki.policy({ crls }), 'PROTO_CERT_REVOKED');
    });

    void test('a CRL past nextUpdate, or older than crlMaxAge, is CRL_STALE', async () => {
      const leaf = await pki.leaf();
      const pastNext = [await pki.crl(pki.root), await pki.crl(pki.intermediate, { thisUpdate: new Date(PKI_NOW.getTime() - 7_200_000), nextUpdate: new Date(PKI_NOW.getTime() - 1000) })];
      await expectCode(leaf.chain, await pki.policy({ crls: pastNext }), 'PROTO_CERT_CRL_STALE');
      const tooOld = [await pki.crl(pki.root), await pki.crl(pki.intermediate, { thisUpdate: new Date(PKI_NOW.getTime() - 2 * 86_400_000) })];
      await expectCode(leaf.chain, await pki.policy({ crls: tooOld }), 'PROTO_CERT_CRL_STALE');
      // Exactly at nextUpdate is still fresh (inclusive, like certificate validity).
      const edge = [await pki.crl(pki.root), await pki.crl(pki.intermediate, { nextUpdate: PKI_NOW })];
      assert.ok((await validatePath(leaf.chain, await pki.policy({ crls: edge }))).ok);
    });

    void test('a missing CRL is CRL_MISSING unless requireCrl is false', async () => {
      const leaf = await pki.leaf();
      await expectCode(leaf.chain, await pki.policy({ crls: [await pki.crl(pki.root)] }), 'PROTO_CERT_CRL_MISSING');
      await expectCode(leaf.chain, await pki.policy({ crls: [await pki.crl(pki.intermediate)] }), 'PROTO_CERT_CRL_MISSING');
      const r = await validatePath(leaf.chain, await pki.policy({ crls: [], requireCrl: false }));
      assert.ok(r.ok);
    });

    void test('a CRL signed by the wrong key is CRL_INVALID', async () => {
      const leaf = await pki.leaf();
      const forger = await generateKeyPair();
      // The forged CRL names the intermediate and would "unrevoke" nothing, but it
      // must still not be trusted: a forger could as well omit a revocation.
      const crls = [await pki.crl(pki.root), await pki.crl(pki.intermediate, { signWith: forger.privateKey })];
      await expectCode(leaf.chain, await pki.policy({ crls }), 'PROTO_CERT_CRL_INVALID');
    });

    void test('an unparseable CRL is CRL_INVALID', async () => {
      const leaf = await pki.leaf();
      const crls = [...(await pki.crls()), new Uint8Array([0x30, 0x00])];
      await expectCode(leaf.chain, await pki.policy({ crls }), 'PROTO_CERT_CRL_INVALID');
    });
  });
});
