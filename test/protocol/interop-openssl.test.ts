// Interop: OpenSSL accepts and reads what we issue, we accept what OpenSSL
// issues on our profile, and we refuse what OpenSSL issues off it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { certificateToPem, crlToPem, issueFromCsr, pemToDer, validatePath, x509 } from '../../src/protocol/x509/index.ts';
import { buildPki, makeCrl, nextSerial, PKI_NOW, type CaHandle, type TestPki } from '../fixtures/pki.ts';

const run = promisify(execFile);
let dir: string;

async function openssl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run('openssl', args, { cwd: dir });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; code?: number };
    return { stdout: x.stdout ?? '', stderr: x.stderr ?? '', code: typeof x.code === 'number' ? x.code : 1 };
  }
}

async function write(name: string, text: string | Uint8Array): Promise<string> {
  await writeFile(join(dir, name), text);
  return name;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der.buffer, 'PRIVATE KEY');
}

const attime = String(Math.floor(PKI_NOW.getTime() / 1000));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'quittance-openssl-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const keyKind of ['Ed25519', 'P-256'] as const) {
  void describe(`OpenSSL reads our ${keyKind} certificates and CRLs`, () => {
    let pki: TestPki;
    const tag = keyKind.toLowerCase();
    before(async () => {
      pki = await buildPki({ keyKind });
    });

    void test('openssl verify accepts root -> intermediate -> leaf, with our CRLs', async () => {
      const leaf = await pki.leaf({ role: 'merchant', partyId: 'shop-1', displayName: 'Shop One' });
      await write(`root-${tag}.pem`, pki.root.pem);
      await write(`inter-${tag}.pem`, pki.intermediate.pem);
      await write(`leaf-${tag}.pem`, leaf.pem);
      const v = await openssl(['verify', '-attime', attime, '-CAfile', `root-${tag}.pem`, '-untrusted', `inter-${tag}.pem`, `leaf-${tag}.pem`]);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, new RegExp(`leaf-${tag}.pem: OK`));
      // With revocation checking on our CRLs, then with the leaf revoked.
      const crls = (await pki.crls()).map((d) => crlToPem(d)).join('');
      await write(`crls-${tag}.pem`, crls);
      const withCrl = await openssl(['verify', '-attime', attime, '-crl_check_all', '-CRLfile', `crls-${tag}.pem`, '-CAfile', `root-${tag}.pem`, '-untrusted', `inter-${tag}.pem`, `leaf-${tag}.pem`]);
      assert.equal(withCrl.code, 0, withCrl.stderr);
      const revoked = crlToPem(await pki.crl(pki.root)) + crlToPem(await pki.crl(pki.intermediate, { revoked: [leaf.der] }));
      await write(`crls-rev-${tag}.pem`, revoked);
      const rev = await openssl(['verify', '-attime', attime, '-crl_check_all', '-CRLfile', `crls-rev-${tag}.pem`, '-CAfile', `root-${tag}.pem`, '-untrusted', `inter-${tag}.pem`, `leaf-${tag}.pem`]);
      assert.notEqual(rev.code, 0);
      assert.match(rev.stdout + rev.stderr, /certificate revoked/);
    });

    void test('openssl x509 -text shows CN, UID and the role and party URIs', async () => {
      const leaf = await pki.leaf({ role: 'payment', partyId: 'pay-9', displayName: 'Pay Nine' });
      await write(`show-${tag}.pem`, leaf.pem);
      const t = await openssl(['x509', '-in', `show-${tag}.pem`, '-noout', '-text']);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /Subject: CN = Pay Nine, UID = pay-9/);
      assert.match(t.stdout, /URI:urn:quittance:role:payment/);
      assert.match(t.stdout, /URI:urn:quittance:party:pay-9/);
      assert.match(t.stdout, /Basic Constraints: critical\s+CA:FALSE/);
      assert.match(t.stdout, /Key Usage: critical\s+Digital Signature\n/);
      assert.match(t.stdout, /Subject Key Identifier/);
      assert.match(t.stdout, /Authority Key Identifier/);
      const ca = await openssl(['x509', '-in', `inter-${tag}.pem`, '-noout', '-text']);
      assert.match(ca.stdout, /Basic Constraints: critical\s+CA:TRUE/);
      assert.match(ca.stdout, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    });

    void test('openssl crl -text reads our DER CRL and lists the revoked serial', async () => {
      const leaf = await pki.leaf();
      const der = await pki.crl(pki.intermediate, { revoked: [leaf.der], crlNumber: 7 });
      await write(`crl-${tag}.der`, der);
      const t = await openssl(['crl', '-inform', 'DER', '-in', `crl-${tag}.der`, '-noout', '-text']);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, new RegExp(`Serial Number: ${leaf.cert.serialNumber.toUpperCase()}`));
      assert.match(t.stdout, /X509v3 CRL Number:\s+7/);
      assert.match(t.stdout, /Key Compromise/);
      assert.match(t.stdout, /Next Update:/);
    });
  });
}

void describe('OpenSSL-made requests and certificates', () => {
  let pki: TestPki;
  before(async () => {
    pki = await buildPki();
    await write('o-root.pem', pki.root.pem);
    await write('o-root.key', await exportKeyPem(pki.root.keys.privateKey));
    await write('o-inter.pem', pki.intermediate.pem);
    await write('o-inter.key', await exportKeyPem(pki.intermediate.keys.privateKey));
  });

  void test('a CSR from openssl req (Ed25519) is accepted; only its key is taken', async () => {
    assert.equal((await openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'csr.key'])).code, 0);
    const req = await openssl(['req', '-new', '-key', 'csr.key', '-subj', '/CN=I am the root/O=Evil', '-addext', 'basicConstraints=critical,CA:TRUE', '-out', 'csr.pem']);
    assert.equal(req.code, 0, req.stderr);
    const csrPem = await readFile(join(dir, 'csr.pem'), 'utf8');
    const issued = await issueFromCsr({
      csr: csrPem,
      issuer: pki.intermediate.issuer,
      partyId: 'bob',
      displayName: 'Bob',
      role: 'client',
      notBefore: new Date('2025-06-01T00:00:00Z'),
      notAfter: new Date('2026-06-01T00:00:00Z'),
      serial: nextSerial(),
    });
    assert.ok(issued.ok, issued.ok ? '' : issued.code);
    const r = await validatePath([issued.value.der, pki.intermediate.der], await pki.policy({ expectedRoles: ['client'] }));
    assert.ok(r.ok, r.ok ? '' : r.code);
    assert.equal(r.value.identity.partyId, 'bob');
    const cert = new x509.X509Certificate(issued.value.der.slice());
    assert.equal(cert.subject, 'CN=Bob, 0.9.2342.19200300.100.1.1=bob');
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    // The certificate carries the CSR's key: openssl derives the same public key.
    await write('from-csr.pem', issued.value.pem);
    const pubFromKey = await openssl(['pkey', '-in', 'csr.key', '-pubout']);
    const pubFromCert = await openssl(['x509', '-in', 'from-csr.pem', '-noout', '-pubkey']);
    assert.equal(pubFromCert.stdout, pubFromKey.stdout);
    const v = await openssl(['verify', '-attime', attime, '-CAfile', 'o-root.pem', '-untrusted', 'o-inter.pem', 'from-csr.pem']);
    assert.equal(v.code, 0, v.stderr);
  });

  void test('a CSR whose self-signature is broken is PROTO_CERT_SIGNATURE_INVALID; garbage is MALFORMED', async () => {
    const der = pemToDer(await readFile(join(dir, 'csr.pem'), 'utf8'), 'CERTIFICATE REQUEST')!;
    const text = new TextDecoder('latin1').decode(der);
    const at = text.indexOf('Evil');
    assert.ok(at > 0);
    const tampered = der.slice();
    tampered[at] = 'D'.charCodeAt(0);
    const base = { issuer: pki.intermediate.issuer, partyId: 'bob', displayName: 'Bob', role: 'client' as const, notBefore: new Date('2025-06-01T00:00:00Z'), notAfter: new Date('2026-06-01T00:00:00Z'), serial: nextSerial() };
    const r = await issueFromCsr({ ...base, csr: tampered });
    assert.equal(r.ok ? 'ok' : r.code, 'PROTO_CERT_SIGNATURE_INVALID');
    const g = await issueFromCsr({ ...base, csr: new Uint8Array([0x30, 0x01, 0x00]) });
    assert.equal(g.ok ? 'ok' : g.code, 'PROTO_CERT_MALFORMED');
  });

  /** Key, CSR and certificate made by openssl, signed by `issuer` (<issuer>.pem/.key in the temp dir). */
  async function opensslCert(name: string, issuer: string, subj: string, ext: string): Promise<Uint8Array> {
    await openssl(['genpkey', '-algorithm', 'ed25519', '-out', `${name}.key`]);
    await openssl(['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`]);
    await write(`${name}.ext`, ext);
    const serial = '0x' + Array.from(nextSerial(), (b) => b.toString(16).padStart(2, '0')).join('');
    const r = await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', serial, '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
    assert.equal(r.code, 0, r.stderr);
    return pemToDer(await readFile(join(dir, `${name}.pem`), 'utf8'), 'CERTIFICATE')!;
  }

  const PROFILE_LEAF = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'subjectAltName=URI:urn:quittance:role:client,URI:urn:quittance:party:bob',
    'subjectKeyIdentifier=hash',
    'authorityKeyIdentifier=keyid',
  ].join('\n');

  /** openssl -days counts from the real clock, so these checks run at the real time. */
  async function realTimePolicy(extraCas: CaHandle[] = []) {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const crl = (ca: CaHandle) => makeCrl(ca, { thisUpdate: new Date(now.getTime() - 3_600_000), nextUpdate: new Date(now.getTime() + 86_400_000) });
    return pki.policy({ now, crls: [await crl(pki.root), await crl(pki.intermediate), ...(await Promise.all(extraCas.map(crl)))] });
  }

  void test('control: an openssl-made leaf on our profile validates', async () => {
    const der = await opensslCert('good', 'o-inter', '/CN=Bob/UID=bob', PROFILE_LEAF);
    const r = await validatePath([der, pki.intermediate.der], await realTimePolicy());
    assert.ok(r.ok, r.ok ? '' : `${r.code} ${r.message}`);
    assert.equal(r.value.identity.partyId, 'bob');
  });

  void test('a CA without basicConstraints CA:TRUE used as intermediate is NOT_CA', async () => {
    const caDer = await opensslCert('noca', 'o-root', '/CN=Sneaky CA', 'keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid');
    const leaf = await opensslCert('leaf-noca', 'noca', '/CN=Bob/UID=bob', PROFILE_LEAF);
    const r = await validatePath([leaf, caDer], await realTimePolicy());
    assert.equal(r.ok ? 'ok' : r.code, 'PROTO_CERT_NOT_CA');
    // openssl refuses this path too.
    const v = await openssl(['verify', '-CAfile', 'o-root.pem', '-untrusted', 'noca.pem', 'leaf-noca.pem']);
    assert.notEqual(v.code, 0);
  });

  void test('a leaf with keyUsage keyCertSign only is KEY_USAGE', async () => {
    const der = await opensslCert('kcs', 'o-inter', '/CN=Bob/UID=bob', PROFILE_LEAF.replace('keyUsage=critical,digitalSignature', 'keyUsage=critical,keyCertSign'));
    const r = await validatePath([der, pki.intermediate.der], await realTimePolicy());
    assert.equal(r.ok ? 'ok' : r.code, 'PROTO_CERT_KEY_USAGE');
  });

  void test('a certificate without our SAN profile is PROFILE_INVALID', async () => {
    const der = await opensslCert('nosan', 'o-inter', '/CN=Bob/UID=bob', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid');
    const r = await validatePath([der, pki.intermediate.der], await realTimePolicy());
    assert.equal(r.ok ? 'ok' : r.code, 'PROTO_CERT_PROFILE_INVALID');
    // and openssl, which knows nothing of our profile, accepts it: the check is ours.
    const v = await openssl(['verify', '-CAfile', 'o-root.pem', '-untrusted', 'o-inter.pem', 'nosan.pem']);
    assert.equal(v.code, 0, v.stderr);
  });

  void test('certificateToPem round-trips through openssl', async () => {
    await write('rt.pem', certificateToPem(pki.root.der));
    const t = await openssl(['x509', '-in', 'rt.pem', '-outform', 'DER', '-out', 'rt.der']);
    assert.equal(t.code, 0, t.stderr);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'rt.der'))), pki.root.der);
  });
});
