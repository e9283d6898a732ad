// Security review of the certificate profile: the certified display name is
// what the wallet's "trusted display" shows, so it must display as signed.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validatePath, x509 } from '../../src/protocol/x509/index.ts';
import { ROOT_NOT_AFTER, ROOT_NOT_BEFORE, asCaHandle, buildPki, generateKeyPair, partyName, profileLeafExtensions, rawCertificate, type TestPki } from '../fixtures/pki.ts';

// U+202E RIGHT-TO-LEFT OVERRIDE: "\u202Eknab-yzal" renders as "lazy-bank".
const SPOOFED = ['Shop \u202Eknab-yzal', 'Shop \u2066isolate\u2069'];

void describe('review: display names with bidi controls', () => {
  let pki: TestPki;
  void before(async () => {
    pki = await buildPki();
  });

  void test('issueLeaf refuses a display name with bidi overrides or isolates', async () => {
    for (const displayName of SPOOFED) {
      await assert.rejects(pki.leaf({ role: 'merchant', partyId: 'shop-9', displayName }), TypeError, JSON.stringify(displayName));
    }
  });

  void test('validatePath refuses a certificate whose CN carries bidi controls (PROFILE_INVALID)', async () => {
    for (const displayName of SPOOFED) {
      const keys = await generateKeyPair();
      const der = await rawCertificate({
        subject: partyName('shop-9', displayName),
        keys,
        issuer: pki.intermediate,
        extensions: await profileLeafExtensions(keys.publicKey, pki.intermediate, 'merchant', 'shop-9'),
      });
      const r = await validatePath([der, pki.intermediate.der], await pki.policy());
      assert.equal(r.ok, false, JSON.stringify(displayName));
      assert.equal(!r.ok && r.code, 'PROTO_CERT_PROFILE_INVALID');
    }
    // Control: the same route with a plain name validates.
    const keys = await generateKeyPair();
    const der = await rawCertificate({
      subject: partyName('shop-9', 'Shop lazy-bank'),
      keys,
      issuer: pki.intermediate,
      extensions: await profileLeafExtensions(keys.publicKey, pki.intermediate, 'merchant', 'shop-9'),
    });
    const ok = await validatePath([der, pki.intermediate.der], await pki.policy());
    assert.ok(ok.ok, ok.ok ? '' : ok.code);
  });
});

test('a CRL from an issuer without cRLSign is refused (RFC 5280 §6.3.3(f))', async () => {
  const pki = await buildPki();
  const keys = await generateKeyPair();
  // An intermediate that may sign certificates but not CRLs.
  const der = await rawCertificate({
    subject: 'CN=No CRL Sign',
    keys,
    issuer: pki.root,
    notBefore: ROOT_NOT_BEFORE,
    notAfter: ROOT_NOT_AFTER,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(pki.root.cert.publicKey),
    ],
  });
  const inter = asCaHandle(der, keys);
  const leaf = await pki.leaf({ issuer: inter });
  const policy = await pki.policy({ crls: [await pki.crl(pki.root), await pki.crl(inter)] });
  const r = await validatePath([leaf.der, inter.der], policy);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, 'PROTO_CERT_CRL_INVALID');
});
