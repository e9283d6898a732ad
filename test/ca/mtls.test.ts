// Operator authentication by mutual TLS: only a certificate of role `operator`
// from this CA, not revoked, opens the admin endpoints; everyone else is told
// why with a stable code. Runs a real HTTPS listener on an ephemeral port.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { createApp } from '../../src/ca/app.ts';
import { issueAndRecord } from '../../src/ca/certificates.ts';
import { createX509Authority } from '../../src/ca/x509-authority.ts';
import { encryptPrivateKey } from '../../src/crypto/index.ts';
import { tlsServerOptions } from '../../src/http/tls.ts';
import type { Role } from '../../src/protocol/identity.ts';
import { createRootCa } from '../../src/protocol/x509/index.ts';
import { testDatabases } from '../helpers/db.ts';
import { auth, startTestCa, type TestCa } from './harness.ts';

type Credential = { certPem: string; keyPem: string };

function keyPem(pkcs8: ArrayBuffer): string {
  return `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64')}\n-----END PRIVATE KEY-----\n`;
}

async function credential(ca: TestCa, role: Role, partyId: string, dnsNames?: string[]): Promise<Credential & { serial: string; privateKey: CryptoKey }> {
  const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const issued = await issueAndRecord(ca.deps, {
    subjectPublicKey: keys.publicKey,
    partyId,
    displayName: `${role} ${partyId}`,
    role,
    notBefore: new Date('2026-01-02T00:00:00Z'),
    notAfter: new Date('2027-01-01T00:00:00Z'),
    serial: new Uint8Array(randomBytes(16)),
    ...(dnsNames ? { dnsNames } : {}),
  });
  return { certPem: issued.pem, keyPem: keyPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey)), serial: issued.serialHex, privateKey: keys.privateKey };
}

function get(port: number, rootPem: string, path: string, client?: Credential, headers: Record<string, string> = {}): Promise<{ status: number; body: { code?: string; [k: string]: unknown } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', servername: 'localhost', port, path, ca: rootPem, headers, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) },
      (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as { code?: string } }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

// TLS behaviour does not depend on the database: SQLite is enough here.
const sqlite = testDatabases()[0]!;

describe('CA operator authentication over mutual TLS', () => {
  test('operator certificates in, everyone else out, with a reason', async (ctx) => {
    const ca = await startTestCa(sqlite);
    ctx.after(() => ca.close());
    // The wall clock drives the TLS handshake; the CA's injected clock the path check.
    ca.clock.now = new Date('2026-06-01T00:00:00Z');
    const server = await credential(ca, 'ca', 'ca-server', ['localhost']);
    const operator = await credential(ca, 'operator', 'o-alice');
    const merchant = await credential(ca, 'merchant', 'm-shop');
    const revokedOperator = await credential(ca, 'operator', 'o-mallory');

    // A stranger's CA with an operator certificate of the same party id.
    const strangerKeys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const stranger = await createRootCa({ keys: strangerKeys, commonName: 'Test Root CA', notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2036-01-01T00:00:00Z'), serial: new Uint8Array(randomBytes(16)) });
    const forgedKeys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const strangerCert = await createX509Authority(stranger.pem, strangerKeys.privateKey).issue({
      subjectPublicKey: forgedKeys.publicKey,
      partyId: 'o-alice', displayName: 'operator o-alice', role: 'operator',
      notBefore: new Date('2026-01-02T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), serial: new Uint8Array(randomBytes(16)),
    });
    const forged = { certPem: strangerCert.pem, keyPem: keyPem(await crypto.subtle.exportKey('pkcs8', forgedKeys.privateKey)) };

    // The server key as `quittance ca issue` writes it: encrypted PKCS#8 (PBES2), opened by OpenSSL.
    const https = tlsServerOptions({
      certPem: server.certPem + ca.rootPem,
      keyPem: await encryptPrivateKey(server.privateKey, 'server-key-passphrase'),
      passphrase: 'server-key-passphrase',
      clientCaPem: ca.rootPem,
    });
    const app = createApp(ca.deps, { https });
    ctx.after(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;

    const revoke = await ca.app.inject({ method: 'POST', url: `/v1/admin/certificates/${revokedOperator.serial}/revoke`, headers: auth, payload: { reason: 'privilegeWithdrawn' } });
    assert.equal(revoke.statusCode, 200);

    const asOperator = await get(port, ca.rootPem, '/v1/admin/registrations', operator);
    assert.equal(asOperator.status, 200, JSON.stringify(asOperator.body));
    assert.ok(Array.isArray(asOperator.body.registrations));

    const asMerchant = await get(port, ca.rootPem, '/v1/admin/registrations', merchant);
    assert.equal(asMerchant.status, 403);
    assert.equal(asMerchant.body.code, 'HTTP_FORBIDDEN');

    const anonymous = await get(port, ca.rootPem, '/v1/admin/registrations');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'HTTP_AUTH_REQUIRED');

    const revoked = await get(port, ca.rootPem, '/v1/admin/registrations', revokedOperator);
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.code, 'HTTP_AUTH_INVALID');
    assert.deepEqual(revoked.body.details, { code: 'PROTO_CERT_REVOKED' });

    const foreign = await get(port, ca.rootPem, '/v1/admin/registrations', forged);
    assert.equal(foreign.status, 401);
    assert.equal(foreign.body.code, 'HTTP_AUTH_INVALID');

    // Public endpoints stay open to clients without a certificate.
    const chain = await get(port, ca.rootPem, '/healthz');
    assert.equal(chain.status, 200);

    // The token still works over TLS.
    const token = await get(port, ca.rootPem, '/v1/admin/certificates', undefined, auth);
    assert.equal(token.status, 200);
    assert.equal((token.body.certificates as unknown[]).length, 4);
  });
});

