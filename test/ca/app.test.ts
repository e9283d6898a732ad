// The CA over HTTP, in-process: the full life of a certificate, and every kind
// of bad request refused with a stable code and nothing stored.
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { after, before, describe, test } from 'node:test';
import { issueAndRecord } from '../../src/ca/certificates.ts';
import { serialBytes } from '../../src/ca/registrations.ts';
import { serialHexFromDisplay, validatePath, x509 } from '../../src/protocol/x509/index.ts';
import { testDatabases } from '../helpers/db.ts';
import { auth, counts, makeCsr, registration, startTestCa, type TestCa } from './harness.ts';

function der(pem: string): Uint8Array {
  return new Uint8Array(new x509.X509Certificate(pem).rawData);
}

async function crlDer(ca: TestCa): Promise<Uint8Array<ArrayBuffer>> {
  const res = await ca.app.inject({ method: 'GET', url: '/v1/ca/crl' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/pkix-crl');
  return new Uint8Array(res.rawPayload);
}

async function register(ca: TestCa, body: unknown) {
  return ca.app.inject({ method: 'POST', url: '/v1/registrations', payload: body as object });
}

for (const t of testDatabases()) {
  describe(`CA server (${t.name})`, () => {
    test('registration → approval → certificate → revocation → the CRL lists it', async (ctx) => {
      const ca = await startTestCa(t);
      ctx.after(() => ca.close());
      const { pem: csr, keys } = await makeCsr();

      const reg = await register(ca, registration(csr));
      assert.equal(reg.statusCode, 201, reg.body);
      const { registrationId, status, certificate } = reg.json();
      assert.match(registrationId, /^reg_[A-Za-z0-9_-]{22}$/);
      assert.equal(status, 'pending');
      assert.equal(certificate, undefined);

      const pending = await ca.app.inject({ method: 'GET', url: `/v1/registrations/${registrationId}` });
      assert.equal(pending.json().status, 'pending');
      assert.equal(pending.json().certificate, undefined);
      // The public view never shows the real identity.
      assert.doesNotMatch(pending.body, /Hanako|Chiyoda|hanako@/);

      const list = await ca.app.inject({ method: 'GET', url: '/v1/admin/registrations?status=pending', headers: auth });
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().registrations[0].realIdentity.name, 'Hanako Yamada');

      ca.clock.now = new Date('2026-03-01T10:00:00.250Z');
      const ok = await ca.app.inject({
        method: 'POST',
        url: `/v1/admin/registrations/${registrationId}/approve`,
        headers: auth,
        payload: { identityCheck: 'passport seen at desk 3' },
      });
      assert.equal(ok.statusCode, 200, ok.body);
      const approved = ok.json();
      assert.equal(approved.status, 'approved');
      assert.match(approved.partyId, /^m-[a-z2-7]{16}$/);
      assert.equal(approved.chain.length, 2);
      assert.equal(approved.chain[1], ca.rootPem);

      const leaf = new x509.X509Certificate(approved.certificate);
      // Only the pseudonym is certified, never the real identity.
      assert.doesNotMatch(leaf.subject, /Hanako/);
      assert.match(leaf.subject, /CN=Tokyo On-line Mail Order Dealer/);
      // The certified key is the applicant's own key from the CSR.
      const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
      assert.deepEqual(new Uint8Array(leaf.publicKey.rawData), spki);
      assert.equal(leaf.notBefore.toISOString(), '2026-03-01T10:00:00.000Z');

      const fetched = await ca.app.inject({ method: 'GET', url: `/v1/registrations/${registrationId}` });
      assert.equal(fetched.json().certificate, approved.certificate);

      const policy = { trustAnchors: [ca.rootDer], now: ca.clock.now, crlMaxAgeSeconds: 86_400, expectedRoles: ['merchant' as const] };
      const valid = await validatePath([der(approved.certificate)], { ...policy, crls: [await crlDer(ca)] });
      assert.ok(valid.ok, JSON.stringify(valid));
      assert.equal(valid.value.identity.partyId, approved.partyId);
      assert.equal(valid.value.identity.role, 'merchant');
      assert.equal(valid.value.identity.displayName, 'Tokyo On-line Mail Order Dealer');

      const again = await ca.app.inject({
        method: 'POST',
        url: `/v1/admin/registrations/${registrationId}/approve`,
        headers: auth,
        payload: { identityCheck: 'twice' },
      });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'CA_REGISTRATION_NOT_PENDING');
      assert.equal((await counts(ca.deps)).certificates, 1);

      const serial = leaf.serialNumber.toLowerCase();
      const noAuth = await ca.app.inject({ method: 'POST', url: `/v1/admin/certificates/${serial}/revoke`, payload: { reason: 'keyCompromise' } });
      assert.equal(noAuth.statusCode, 401);
      assert.equal((await counts(ca.deps)).revoked, 0);

      ca.clock.now = new Date('2026-03-01T11:00:00Z');
      const revoked = await ca.app.inject({ method: 'POST', url: `/v1/admin/certificates/${serial}/revoke`, headers: auth, payload: { reason: 'keyCompromise' } });
      assert.equal(revoked.statusCode, 200, revoked.body);
      assert.equal(revoked.json().revocationReason, 'keyCompromise');
      const twice = await ca.app.inject({ method: 'POST', url: `/v1/admin/certificates/${serial}/revoke`, headers: auth, payload: { reason: 'keyCompromise' } });
      assert.equal(twice.statusCode, 409);
      assert.equal(twice.json().code, 'CA_CERTIFICATE_ALREADY_REVOKED');

      const crl = new x509.X509Crl(await crlDer(ca));
      const entry = crl.entries.find((e) => e.serialNumber.toLowerCase() === serial);
      assert.ok(entry, 'the revoked serial is on the CRL');
      assert.equal(entry.reason, x509.X509CrlReason.keyCompromise);
      assert.ok(await crl.verify({ publicKey: new x509.X509Certificate(ca.rootPem) }));

      const refused = await validatePath([der(approved.certificate)], { ...policy, now: ca.clock.now, crls: [await crlDer(ca)] });
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.code, 'PROTO_CERT_REVOKED');

      const pemCrl = await ca.app.inject({ method: 'GET', url: '/v1/ca/crl.pem' });
      assert.match(pemCrl.body, /^-----BEGIN X509 CRL-----\n/);
      assert.deepEqual(new Uint8Array(new x509.X509Crl(pemCrl.body).rawData), new Uint8Array(crl.rawData));

      const chain = await ca.app.inject({ method: 'GET', url: '/v1/ca/chain' });
      assert.equal(chain.body, ca.rootPem);
    });

    describe('bad requests are refused with a code and store nothing', () => {
      let ca: TestCa;
      let csr: string;
      before(async () => {
        ca = await startTestCa(t);
        csr = (await makeCsr()).pem;
      });
      after(() => ca.close());

      const cases: { name: string; req: () => InjectOptions; status: number; code: string }[] = [
        { name: 'malformed JSON', req: () => ({ method: 'POST', url: '/v1/registrations', headers: { 'content-type': 'application/json' }, payload: '{"role":' }), status: 400, code: 'HTTP_JSON_MALFORMED' },
        { name: 'empty JSON body', req: () => ({ method: 'POST', url: '/v1/registrations', headers: { 'content-type': 'application/json' }, payload: '' }), status: 400, code: 'HTTP_JSON_MALFORMED' },
        { name: 'wrong content type', req: () => ({ method: 'POST', url: '/v1/registrations', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(registration(csr)) }), status: 415, code: 'HTTP_UNSUPPORTED_MEDIA_TYPE' },
        { name: 'form encoded', req: () => ({ method: 'POST', url: '/v1/registrations', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'role=merchant' }), status: 415, code: 'HTTP_UNSUPPORTED_MEDIA_TYPE' },
        { name: 'oversized body', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { displayName: 'x'.repeat(20_000) }) }), status: 413, code: 'HTTP_BODY_TOO_LARGE' },
        { name: 'prototype poisoning', req: () => ({ method: 'POST', url: '/v1/registrations', headers: { 'content-type': 'application/json' }, payload: `{"__proto__":{"admin":true},"role":"merchant"}` }), status: 400, code: 'HTTP_JSON_MALFORMED' },
        { name: 'unknown field', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { isAdmin: true }) }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'wrong type', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { role: 42 }) }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'unknown role', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { role: 'root' }) }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'bad e-mail', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { realIdentity: { name: 'A', postalAddress: 'B', email: 'not-mail' } }) }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'a bidi override in the display name (Trojan Source)', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { displayName: 'Shop \u202Eknab-yzal' }) }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'control characters in the display name', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { displayName: 'Shop\u0000Evil' }) }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'operator role by self-service', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(csr, { role: 'operator' }) }), status: 422, code: 'CA_ROLE_NOT_SELF_SERVICE' },
        { name: 'garbage CSR', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(`-----BEGIN CERTIFICATE REQUEST-----\n${'QUFB'.repeat(40)}\n-----END CERTIFICATE REQUEST-----\n`) }), status: 400, code: 'CA_CSR_INVALID' },
        { name: 'CSR with a forged self-signature', req: () => ({ method: 'POST', url: '/v1/registrations', payload: registration(tamperCsr(csr)) }), status: 400, code: 'CA_CSR_INVALID' },
        { name: 'registration id of the wrong form', req: () => ({ method: 'GET', url: '/v1/registrations/not-a-registration-id' }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'unknown registration', req: () => ({ method: 'GET', url: '/v1/registrations/reg_AAAAAAAAAAAAAAAAAAAAAA' }), status: 404, code: 'CA_REGISTRATION_NOT_FOUND' },
        { name: 'admin without token', req: () => ({ method: 'GET', url: '/v1/admin/registrations' }), status: 401, code: 'HTTP_AUTH_REQUIRED' },
        { name: 'admin with a wrong token', req: () => ({ method: 'GET', url: '/v1/admin/registrations', headers: { authorization: 'Bearer qt_wrong-token-wrong-token-wrong' } }), status: 401, code: 'HTTP_AUTH_INVALID' },
        { name: 'admin with a malformed header', req: () => ({ method: 'GET', url: '/v1/admin/registrations', headers: { authorization: 'Basic abc' } }), status: 401, code: 'HTTP_AUTH_INVALID' },
        { name: 'approve without token', req: () => ({ method: 'POST', url: '/v1/admin/registrations/reg_AAAAAAAAAAAAAAAAAAAAAA/approve', payload: { identityCheck: 'x' } }), status: 401, code: 'HTTP_AUTH_REQUIRED' },
        { name: 'approve of an unknown registration', req: () => ({ method: 'POST', url: '/v1/admin/registrations/reg_AAAAAAAAAAAAAAAAAAAAAA/approve', headers: auth, payload: { identityCheck: 'x' } }), status: 404, code: 'CA_REGISTRATION_NOT_FOUND' },
        { name: 'approve without an identity check', req: () => ({ method: 'POST', url: '/v1/admin/registrations/reg_AAAAAAAAAAAAAAAAAAAAAA/approve', headers: auth, payload: {} }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'revoke with a malformed serial', req: () => ({ method: 'POST', url: '/v1/admin/certificates/XYZ/revoke', headers: auth, payload: { reason: 'keyCompromise' } }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'revoke of an unknown serial', req: () => ({ method: 'POST', url: '/v1/admin/certificates/0badc0de/revoke', headers: auth, payload: { reason: 'keyCompromise' } }), status: 404, code: 'CA_CERTIFICATE_NOT_FOUND' },
        { name: 'revoke with an unknown reason', req: () => ({ method: 'POST', url: '/v1/admin/certificates/0badc0de/revoke', headers: auth, payload: { reason: 'certificateHold' } }), status: 400, code: 'HTTP_SCHEMA_INVALID' },
        { name: 'unknown route', req: () => ({ method: 'GET', url: '/v1/nothing' }), status: 404, code: 'HTTP_NOT_FOUND' },
      ];

      for (const c of cases) {
        test(c.name, async () => {
          const beforeCounts = await counts(ca.deps);
          const res = await ca.app.inject(c.req());
          assert.equal(res.statusCode, c.status, res.body);
          const body = res.json();
          assert.equal(body.code, c.code);
          assert.equal(typeof body.message, 'string');
          assert.deepEqual(await counts(ca.deps), beforeCounts);
        });
      }

      test('a schema error names the bad field', async () => {
        const res = await register(ca, registration(csr, { role: 42 }));
        assert.ok(res.json().details.some((d: { path: string }) => d.path === 'role'), res.body);
      });

      test('an RSA key is not allowed', async () => {
        const keys = (await crypto.subtle.generateKey(
          { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
          true,
          ['sign', 'verify'],
        )) as CryptoKeyPair;
        const rsa = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=rsa', keys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } });
        const beforeCounts = await counts(ca.deps);
        const res = await register(ca, registration(rsa.toString('pem')));
        assert.equal(res.statusCode, 422);
        assert.equal(res.json().code, 'CA_CSR_KEY_NOT_ALLOWED');
        assert.deepEqual(await counts(ca.deps), beforeCounts);
      });

      test('one key, one live registration', async () => {
        const own = (await makeCsr()).pem;
        assert.equal((await register(ca, registration(own))).statusCode, 201);
        const beforeCounts = await counts(ca.deps);
        const dup = await register(ca, registration(own, { displayName: 'Someone Else' }));
        assert.equal(dup.statusCode, 409);
        assert.equal(dup.json().code, 'CA_CSR_KEY_IN_USE');
        assert.deepEqual(await counts(ca.deps), beforeCounts);
      });
    });

    test('a rejected registration cannot be approved, and its key may apply again', async (ctx) => {
      const ca = await startTestCa(t);
      ctx.after(() => ca.close());
      const { pem } = await makeCsr('P-256');
      const id = (await register(ca, registration(pem, { role: 'client', displayName: 'hanako' }))).json().registrationId;
      const rej = await ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${id}/reject`, headers: auth, payload: { reason: 'identity not shown' } });
      assert.equal(rej.statusCode, 200);
      assert.equal(rej.json().status, 'rejected');
      assert.equal(rej.json().rejectReason, 'identity not shown');
      const app = await ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${id}/approve`, headers: auth, payload: { identityCheck: 'x' } });
      assert.equal(app.statusCode, 409);
      assert.equal((await counts(ca.deps)).certificates, 0);
      const retry = await register(ca, registration(pem, { role: 'client', displayName: 'hanako' }));
      assert.equal(retry.statusCode, 201);
      // P-256 is certified too.
      const ok = await ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${retry.json().registrationId}/approve`, headers: auth, payload: { identityCheck: 'seen', partyId: 'hanako-1' } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().partyId, 'hanako-1');
      assert.equal(new x509.X509Certificate(ok.json().certificate).publicKey.algorithm.name, 'ECDSA');
    });

    test('two operators approving at once issue exactly one certificate', async (ctx) => {
      const ca = await startTestCa(t);
      ctx.after(() => ca.close());
      const id = (await register(ca, registration((await makeCsr()).pem))).json().registrationId;
      const approve = () => ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${id}/approve`, headers: auth, payload: { identityCheck: 'seen' } });
      const results = await Promise.all([approve(), approve(), approve()]);
      const statuses = results.map((r) => r.statusCode).sort();
      assert.deepEqual(statuses, [200, 409, 409]);
      assert.equal((await counts(ca.deps)).certificates, 1);
    });

    test('the demo auto-approve setting issues at registration', async (ctx) => {
      const ca = await startTestCa(t, { autoApprove: true });
      ctx.after(() => ca.close());
      const res = await register(ca, registration((await makeCsr()).pem, { role: 'client', displayName: 'shopper' }));
      assert.equal(res.statusCode, 201);
      assert.equal(res.json().status, 'approved');
      assert.match(res.json().partyId, /^c-/);
      assert.ok(res.json().certificate);
    });

    test('registrations are rate limited per client; the refused one is not stored', async (ctx) => {
      const ca = await startTestCa(t, { registrationRateLimit: { max: 2, windowSeconds: 60 } });
      ctx.after(() => ca.close());
      for (let i = 0; i < 2; i++) assert.equal((await register(ca, registration((await makeCsr()).pem))).statusCode, 201);
      const third = await register(ca, registration((await makeCsr()).pem));
      assert.equal(third.statusCode, 429);
      assert.equal(third.json().code, 'HTTP_RATE_LIMITED');
      assert.equal((await counts(ca.deps)).registrations, 2);
      // Other endpoints are not limited.
      assert.equal((await ca.app.inject({ method: 'GET', url: '/v1/ca/chain' })).statusCode, 200);
    });

    test('the CRL is re-signed after a revocation and at half-life, with increasing numbers', async (ctx) => {
      const ca = await startTestCa(t, { crlValidityHours: 24 });
      ctx.after(() => ca.close());
      const numbers = async () => (await ca.deps.db.selectFrom('ca_crls').select('number').orderBy('number').execute()).map((r) => Number(r.number));
      const first = await crlDer(ca);
      assert.deepEqual(await crlDer(ca), first, 'served from the store while fresh');
      assert.deepEqual(await numbers(), [1]);
      ca.clock.now = new Date(ca.clock.now.getTime() + 13 * 3_600_000);
      const second = await crlDer(ca);
      assert.notDeepEqual(second, first);
      assert.deepEqual(await numbers(), [1, 2]);
      const crl = new x509.X509Crl(second);
      assert.equal(crl.thisUpdate.getTime(), Math.floor(ca.clock.now.getTime() / 1000) * 1000);
      assert.equal(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime(), 24 * 3_600_000);

      // A revocation makes the next fetch sign a new CRL at once, listing it.
      const id = (await register(ca, registration((await makeCsr()).pem))).json().registrationId;
      const cert = (await ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${id}/approve`, headers: auth, payload: { identityCheck: 'seen' } })).json().certificate;
      const serial = new x509.X509Certificate(cert).serialNumber.toLowerCase();
      await ca.app.inject({ method: 'POST', url: `/v1/admin/certificates/${serial}/revoke`, headers: auth, payload: { reason: 'superseded' } });
      const third = new x509.X509Crl(await crlDer(ca));
      assert.deepEqual(await numbers(), [1, 2, 3]);
      assert.deepEqual(third.entries.map((e) => e.serialNumber.toLowerCase()), [serial]);
      assert.deepEqual(await numbers(), [1, 2, 3], 'and serves it from then on');
    });
  });
}

/** Flips one byte inside the CSR's signature (the last bytes of the DER). */
function tamperCsr(pem: string): string {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const bytes = Buffer.from(b64, 'base64');
  bytes[bytes.length - 5]! ^= 0x01;
  return `-----BEGIN CERTIFICATE REQUEST-----\n${bytes.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
}

describe('certificate serials', () => {
  test('serialHexFromDisplay maps the forms openssl and @peculiar print to the DER form', () => {
    assert.equal(serialHexFromDisplay('B1:6A:EB'), '00b16aeb');
    assert.equal(serialHexFromDisplay('00b16aeb'), '00b16aeb');
    assert.equal(serialHexFromDisplay('0000416a'), '416a');
    assert.equal(serialHexFromDisplay('416A'), '416a');
    assert.equal(serialHexFromDisplay('abc'), '0abc');
    assert.equal(serialHexFromDisplay('00'), undefined);
    assert.equal(serialHexFromDisplay('xyz'), undefined);
  });

  test('new CA serials never need a sign octet', () => {
    for (let i = 0; i < 256; i++) {
      const s = serialBytes(() => new Uint8Array(16).fill(i));
      assert.ok(s[0]! >= 0x40 && s[0]! <= 0x7f, `first byte ${s[0]}`);
    }
  });

  const sqlite = testDatabases()[0]!;
  test('a certificate whose serial has its top bit set is found and revoked by the serial openssl shows', async (ctx) => {
    const ca = await startTestCa(sqlite);
    ctx.after(() => ca.close());
    const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const serial = new Uint8Array(16).fill(0x11);
    serial[0] = 0x00;
    serial[1] = 0xb1; // DER needs a sign octet: 00 b1 11 …
    const issued = await issueAndRecord(ca.deps, {
      subjectPublicKey: keys.publicKey, partyId: 'm-edge', displayName: 'Edge Shop', role: 'merchant',
      notBefore: new Date('2026-02-01T00:00:00Z'), notAfter: new Date('2026-12-01T00:00:00Z'), serial,
    });
    const shown = new x509.X509Certificate(issued.pem).serialNumber; // as @peculiar prints it
    const r = await ca.app.inject({ method: 'POST', url: `/v1/admin/certificates/${shown.toLowerCase()}/revoke`, headers: auth, payload: { reason: 'superseded' } });
    assert.equal(r.statusCode, 200, r.body);
    const crl = new x509.X509Crl(await crlDer(ca));
    assert.deepEqual(crl.entries.map((e) => e.serialNumber.toLowerCase()), [shown.toLowerCase()]);
    const v = await validatePath([der(issued.pem)], { trustAnchors: [ca.rootDer], now: ca.clock.now, crlMaxAgeSeconds: 86_400, crls: [await crlDer(ca)] });
    assert.equal(!v.ok && v.code, 'PROTO_CERT_REVOKED');
  });
});
