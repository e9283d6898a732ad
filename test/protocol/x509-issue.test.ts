// Issuing helpers, profile reading, serials, fingerprints, PEM.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import {
  certificateToPem,
  fingerprintSha256,
  formatFingerprint,
  issueCrl,
  issueFromCsr,
  issueLeaf,
  normalizeSerialHex,
  parseCertificateDer,
  parseCertificatePem,
  parseCrlDer,
  readProfile,
  serialFromBytes,
  x509,
} from '../../src/protocol/x509/index.ts';
import { buildPki, generateKeyPair, LEAF_NOT_AFTER, LEAF_NOT_BEFORE, nextSerial } from '../fixtures/pki.ts';

void describe('x509 issuing helpers', () => {
  void test('serials: caller bytes become a positive, minimal INTEGER of at most 20 octets', () => {
    assert.equal(serialFromBytes(new Uint8Array([0xff, 0x01])), '7f01');
    assert.equal(serialFromBytes(new Uint8Array([0x80, 0x00, 0x01])), '01');
    assert.equal(serialFromBytes(new Uint8Array([0x00, 0x90])), '0090');
    assert.equal(serialFromBytes(new Uint8Array(20).fill(0xff)).length, 40);
    assert.throws(() => serialFromBytes(new Uint8Array(21)), TypeError);
    assert.throws(() => serialFromBytes(new Uint8Array(0)), TypeError);
    assert.throws(() => serialFromBytes(new Uint8Array([0x80])), TypeError); // zero after clearing the sign bit
    assert.equal(normalizeSerialHex('00007F'), '7f');
    assert.equal(normalizeSerialHex('0080'), '0080');
  });

  void test('fingerprint: SHA-256 of DER, lower-case hex; display form colon-separated upper case', async () => {
    const pki = await buildPki();
    const fp = await fingerprintSha256(pki.root.der);
    assert.equal(fp, nodeCrypto.createHash('sha256').update(pki.root.der).digest('hex'));
    assert.equal(formatFingerprint(fp), new nodeCrypto.X509Certificate(pki.root.der).fingerprint256);
  });

  void test('PEM round trip and parse failures', async () => {
    const pki = await buildPki();
    const pem = certificateToPem(pki.root.der);
    const parsed = parseCertificatePem(pem);
    assert.ok(parsed.ok);
    assert.deepEqual(new Uint8Array(parsed.value.rawData), pki.root.der);
    assert.equal(parseCertificatePem('not pem').ok, false);
    const bad = parseCertificateDer(new Uint8Array([1, 2, 3]));
    assert.equal(bad.ok ? 'ok' : bad.code, 'PROTO_CERT_MALFORMED');
    const badCrl = parseCrlDer(new Uint8Array([1, 2, 3]));
    assert.equal(badCrl.ok ? 'ok' : badCrl.code, 'PROTO_CERT_CRL_INVALID');
  });

  void test('issueLeaf writes the profile, readProfile reads it back', async () => {
    const pki = await buildPki();
    const leaf = await pki.leaf({ role: 'notary', partyId: 'notary.1', displayName: '#Not hex, \\ and "quotes"', dnsNames: ['notary.example'] });
    const p = readProfile(leaf.cert);
    assert.ok(p.ok);
    assert.deepEqual(p.value, { partyId: 'notary.1', role: 'notary', displayName: '#Not hex, \\ and "quotes"' });
    const san = leaf.cert.getExtension(x509.SubjectAlternativeNameExtension)!;
    assert.deepEqual(san.names.toJSON(), [
      { type: 'url', value: 'urn:quittance:role:notary' },
      { type: 'url', value: 'urn:quittance:party:notary.1' },
      { type: 'dns', value: 'notary.example' },
    ]);
    assert.equal(leaf.cert.getExtension(x509.BasicConstraintsExtension)?.critical, true);
    assert.equal(leaf.cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  });

  void test('issuing refuses bad decisions with TypeError', async () => {
    const pki = await buildPki();
    const keys = await generateKeyPair();
    const base = { issuer: pki.intermediate.issuer, subjectPublicKey: keys.publicKey, partyId: 'ok', displayName: 'Ok', role: 'client' as const, notBefore: LEAF_NOT_BEFORE, notAfter: LEAF_NOT_AFTER, serial: nextSerial() };
    assert.ok((await issueLeaf(base)).der.length > 0);
    await assert.rejects(issueLeaf({ ...base, partyId: 'Bad Id' }), TypeError);
    await assert.rejects(issueLeaf({ ...base, role: 'king' as never }), TypeError);
    await assert.rejects(issueLeaf({ ...base, displayName: 'a\nb' }), TypeError);
    await assert.rejects(issueLeaf({ ...base, notAfter: new Date('2040-01-01T00:00:00Z') }), TypeError); // beyond the issuer
    await assert.rejects(issueLeaf({ ...base, notBefore: LEAF_NOT_AFTER, notAfter: LEAF_NOT_BEFORE }), TypeError);
    await assert.rejects(issueLeaf({ ...base, subjectPublicKey: keys.privateKey }), TypeError);
    await assert.rejects(issueLeaf({ ...base, dnsNames: ['Not A DNS name'] }), TypeError);
    await assert.rejects(issueCrl({ issuer: pki.intermediate.issuer, thisUpdate: LEAF_NOT_AFTER, nextUpdate: LEAF_NOT_BEFORE, entries: [], crlNumber: 1 }), TypeError);
  });

  void test('CRL: entries, number and signature are what we asked for', async () => {
    const pki = await buildPki({ keyKind: 'P-256' });
    const leaf = await pki.leaf();
    const der = await pki.crl(pki.intermediate, { revoked: [leaf.der], crlNumber: 42 });
    const crl = parseCrlDer(der);
    assert.ok(crl.ok);
    assert.equal(crl.value.entries.length, 1);
    assert.equal(normalizeSerialHex(crl.value.entries[0]!.serialNumber), normalizeSerialHex(leaf.cert.serialNumber));
    assert.equal(crl.value.entries[0]!.reason, x509.X509CrlReason.keyCompromise);
    assert.equal(await crl.value.verify({ publicKey: pki.intermediate.cert }), true);
    assert.equal(await crl.value.verify({ publicKey: pki.root.cert }), false);
  });

  void test('issueFromCsr: P-256 request made by the library; RSA request refused', async () => {
    const pki = await buildPki();
    const keys = await generateKeyPair('P-256');
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=ignored', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
    const params = { issuer: pki.intermediate.issuer, partyId: 'carol', displayName: 'Carol', role: 'merchant' as const, notBefore: LEAF_NOT_BEFORE, notAfter: LEAF_NOT_AFTER, serial: nextSerial() };
    const r = await issueFromCsr({ ...params, csr: new Uint8Array(csr.rawData) });
    assert.ok(r.ok, r.ok ? '' : r.code);
    const cert = new x509.X509Certificate(r.value.der.slice());
    assert.deepEqual(new Uint8Array(cert.publicKey.rawData), new Uint8Array(csr.publicKey.rawData));
    const rsa = (await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const rsaCsr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=rsa', keys: rsa, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } });
    const bad = await issueFromCsr({ ...params, csr: rsaCsr.toString('pem') });
    assert.equal(bad.ok ? 'ok' : bad.code, 'PROTO_CERT_ALG_NOT_ALLOWED');
  });
});
