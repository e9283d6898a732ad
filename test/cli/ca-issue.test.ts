// `quittance ca issue | list | show | revoke | crl` on one CA, checked with OpenSSL.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CertificateView } from '../../src/protocol/messages/ca.ts';
import { MERCHANT_NAME, PASS, cli, initCaDir, issue, openssl, tempDir } from './helpers.ts';

describe('ca issue / list / revoke / crl', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'ca');
  const caCert = join(data, 'ca-cert.pem');
  const shop = join(tmp.dir, 'shop');
  let issued: { serial: string; partyId: string; out: string };

  before(async () => {
    await initCaDir(data);
    issued = await issue(data, 'merchant', MERCHANT_NAME, shop, ['--dns', 'shop.example', '--party-id', 'tokyo-online']);
  });
  after(() => tmp.remove());

  test('writes cert.pem, chain.pem (leaf then CA) and an encrypted key.pem', () => {
    assert.equal(issued.partyId, 'tokyo-online');
    const cert = readFileSync(join(shop, 'cert.pem'), 'utf8');
    const chain = readFileSync(join(shop, 'chain.pem'), 'utf8');
    assert.equal(chain, cert + readFileSync(caCert, 'utf8'));
    const key = readFileSync(join(shop, 'key.pem'), 'utf8');
    assert.match(key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.equal(statSync(join(shop, 'key.pem')).mode & 0o777, 0o600);
    const k = openssl(['pkey', '-in', join(shop, 'key.pem'), '-passin', `pass:${PASS}`, '-noout']);
    assert.equal(k.status, 0, k.stderr);
  });

  test('OpenSSL verifies the certificate against the CA and shows CN, UID, role URI and DNS name', () => {
    const v = openssl(['verify', '-CAfile', caCert, join(shop, 'cert.pem')]);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /cert\.pem: OK$/m);
    const t = openssl(['x509', '-in', join(shop, 'cert.pem'), '-noout', '-text']);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, new RegExp(`Subject: CN ?= ?${MERCHANT_NAME}, UID ?= ?tokyo-online`));
    assert.match(t.stdout, /URI:urn:quittance:role:merchant\b/);
    assert.match(t.stdout, /DNS:shop\.example\b/);
    assert.match(t.stdout, /CA:FALSE/);
    const serial = openssl(['x509', '-in', join(shop, 'cert.pem'), '-noout', '-serial']);
    assert.equal(serial.stdout.trim(), `serial=${issued.serial.toUpperCase()}`);
  });

  test('without --dns there is no DNS name', async () => {
    const out = join(tmp.dir, 'operator');
    await issue(data, 'operator', 'Night Operator', out);
    const t = openssl(['x509', '-in', join(out, 'cert.pem'), '-noout', '-text']);
    assert.match(t.stdout, /URI:urn:quittance:role:operator\b/);
    assert.doesNotMatch(t.stdout, /DNS:/);
  });

  test('ca list --certificates --json lists it', async () => {
    const r = await cli(['ca', 'list', '--data', data, '--certificates', '--json'], {});
    assert.equal(r.code, 0, r.err);
    const { certificates } = JSON.parse(r.out) as { certificates: CertificateView[] };
    const mine = certificates.find((c) => c.serial === issued.serial);
    assert.ok(mine, r.out);
    assert.equal(mine.role, 'merchant');
    assert.equal(mine.displayName, MERCHANT_NAME);
    assert.equal(mine.partyId, 'tokyo-online');
    assert.equal(mine.revokedAt, undefined);
  });

  test('ca show prints the stored certificate', async () => {
    const r = await cli(['ca', 'show', issued.serial.toUpperCase(), '--data', data], {});
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.includes(readFileSync(join(shop, 'cert.pem'), 'utf8')));
    const missing = await cli(['ca', 'show', '00ff', '--data', data], {});
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^CA_CERTIFICATE_NOT_FOUND: /m);
  });

  test('usage errors: invalid --role, missing --name, bad --party-id → exit 2, nothing issued', async () => {
    const before = await certificateCount(data);
    const bad = await cli(['ca', 'issue', '--data', data, '--role', 'emperor', '--name', 'X', '--out', join(tmp.dir, 'x')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--role must be one of client, merchant/);
    const noName = await cli(['ca', 'issue', '--data', data, '--role', 'merchant', '--out', join(tmp.dir, 'x')]);
    assert.equal(noName.code, 2);
    assert.match(noName.err, /--name is required/);
    const badId = await cli(['ca', 'issue', '--data', data, '--role', 'merchant', '--name', 'X', '--party-id', 'Not Valid', '--out', join(tmp.dir, 'x')]);
    assert.equal(badId.code, 2);
    assert.equal(await certificateCount(data), before);
  });

  test('an existing key in --out is never overwritten', async () => {
    const key = readFileSync(join(shop, 'key.pem'));
    const r = await cli(['ca', 'issue', '--data', data, '--role', 'merchant', '--name', 'Second', '--out', shop]);
    assert.equal(r.code, 1);
    assert.match(r.err, /CLI_OUTPUT_EXISTS/);
    assert.deepEqual(readFileSync(join(shop, 'key.pem')), key);
    const list = JSON.parse((await cli(['ca', 'list', '--data', data, '--certificates', '--json'])).out) as { certificates: unknown[] };
    assert.equal(list.certificates.filter((c) => (c as { displayName: string }).displayName === 'Second').length, 0, 'nothing issued');
  });

  test('serials are accepted as openssl prints them (upper case, colons)', async () => {
    const colons = issued.serial.toUpperCase().match(/../g)!.join(':');
    const r = await cli(['ca', 'show', colons, '--data', data, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { serial: string }).serial, issued.serial);
  });

  test('a party id that already has a certificate is refused', async () => {
    const before = await certificateCount(data);
    const r = await cli(['ca', 'issue', '--data', data, '--role', 'merchant', '--name', 'Copycat', '--party-id', 'tokyo-online', '--out', join(tmp.dir, 'copy')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^CA_PARTY_ID_TAKEN: /m);
    assert.equal(await certificateCount(data), before);
  });

  test('revoke (keyCompromise), revoke again, bad reason; the CRL lists the serial', async () => {
    const victim = await issue(data, 'client', 'Hanako', join(tmp.dir, 'client'));
    // An empty CRL first: revocation must make the CA sign a new one.
    const crl0 = join(tmp.dir, 'crl0.pem');
    assert.equal((await cli(['ca', 'crl', '--data', data, '--out', crl0])).code, 0);
    assert.doesNotMatch(openssl(['crl', '-in', crl0, '-noout', '-text']).stdout, new RegExp(victim.serial, 'i'));

    const badReason = await cli(['ca', 'revoke', victim.serial, '--data', data, '--reason', 'boredom'], {});
    assert.equal(badReason.code, 2);
    assert.match(badReason.err, /--reason must be one of/);

    const r = await cli(['ca', 'revoke', victim.serial, '--data', data, '--reason', 'keyCompromise'], {});
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`revoked ${victim.serial}`));

    const again = await cli(['ca', 'revoke', victim.serial, '--data', data, '--reason', 'superseded'], {});
    assert.equal(again.code, 1);
    assert.match(again.err, /^CA_CERTIFICATE_ALREADY_REVOKED: /m);

    const unknown = await cli(['ca', 'revoke', '0badc0de', '--data', data, '--reason', 'keyCompromise'], {});
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^CA_CERTIFICATE_NOT_FOUND: /m);

    // The first revocation's reason stays: revocation is final.
    const listed = await cli(['ca', 'list', '--data', data, '--certificates', '--json'], {});
    const view = (JSON.parse(listed.out) as { certificates: CertificateView[] }).certificates.find((c) => c.serial === victim.serial);
    assert.equal(view?.revocationReason, 'keyCompromise');
    assert.ok(view?.revokedAt);

    const crlPath = join(tmp.dir, 'crl.pem');
    const c = await cli(['ca', 'crl', '--data', data, '--out', crlPath]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.err, /CRL #2 \(next update .*\) written to/);
    const text = openssl(['crl', '-in', crlPath, '-noout', '-text']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`Serial Number: ${victim.serial.toUpperCase()}\\s+Revocation Date: [^\\n]+\\s+CRL entry extensions:\\s+X509v3 CRL Reason Code:\\s+Key Compromise`));
    // The unrevoked merchant is not listed.
    assert.ok(!text.stdout.includes(issued.serial.toUpperCase()));
    // Signed by the CA: OpenSSL checks the CRL signature with the CA certificate.
    const sig = openssl(['crl', '-in', crlPath, '-CAfile', caCert, '-noout']);
    assert.equal(sig.status, 0, sig.stderr);
    assert.match(sig.stderr + sig.stdout, /verify OK/);
    // OpenSSL refuses the revoked certificate when it checks the CRL, and still accepts the other.
    const revoked = openssl(['verify', '-crl_check', '-CAfile', caCert, '-CRLfile', crlPath, join(tmp.dir, 'client', 'cert.pem')]);
    assert.notEqual(revoked.status, 0);
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
    const fine = openssl(['verify', '-crl_check', '-CAfile', caCert, '-CRLfile', crlPath, join(shop, 'cert.pem')]);
    assert.equal(fine.status, 0, fine.stdout + fine.stderr);
  });

  test('ca crl without --out prints PEM; --der without --out is a usage error', async () => {
    const pem = await cli(['ca', 'crl', '--data', data]);
    assert.equal(pem.code, 0, pem.err);
    assert.match(pem.out, /^-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n$/);
    const der = await cli(['ca', 'crl', '--data', data, '--der']);
    assert.equal(der.code, 2);
    assert.match(der.err, /--der needs --out/);
  });
});

async function certificateCount(data: string): Promise<number> {
  const r = await cli(['ca', 'list', '--data', data, '--certificates', '--json'], {});
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as { certificates: unknown[] }).certificates.length;
}
