// The operator's side of registration: an applicant submits a CSR made with
// OpenSSL to the CA server (in-process), the operator lists, approves or
// rejects it with the CLI, and the applicant fetches a certificate that shows
// the pseudonym, never the real name.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/ca/app.ts';
import { openCa, type OpenedCa } from '../../src/ca/open.ts';
import { PASS, cli, initCaDir, openssl, tempDir } from './helpers.ts';

type Registration = {
  registrationId: string;
  status: string;
  role: string;
  displayName: string;
  partyId?: string;
  certificate?: string;
  chain?: string[];
  realIdentity?: { name: string };
};

const REAL = { name: 'Hanako Yamada', postalAddress: '1-2-3 Chiyoda, Tokyo', email: 'hanako@example.jp' };

describe('ca list / approve / reject on registrations', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'ca');
  let ca: OpenedCa;
  let app: FastifyInstance;

  /** A CSR from OpenSSL with its own Ed25519 key; the subject it asks for is ignored by the CA. */
  function opensslCsr(name: string): string {
    const key = join(tmp.dir, `${name}.key.pem`);
    const csr = join(tmp.dir, `${name}.csr.pem`);
    assert.equal(openssl(['genpkey', '-algorithm', 'ed25519', '-out', key]).status, 0);
    const r = openssl(['req', '-new', '-key', key, '-subj', '/CN=ignored', '-out', csr]);
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(csr, 'utf8');
  }

  async function submit(name: string, displayName: string, role = 'merchant'): Promise<Registration> {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/registrations',
      payload: { realIdentity: REAL, role, displayName, csr: opensslCsr(name) },
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<Registration>();
  }

  before(async () => {
    await initCaDir(data);
    ca = await openCa(data, { passphrase: PASS });
    app = createApp(ca.deps);
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await ca?.close();
    tmp.remove();
  });

  test('approve: listed as pending, approved once, certificate without the real name', async () => {
    const reg = await submit('shop', 'Tokyo On-line Mail Order Dealer');
    assert.equal(reg.status, 'pending');
    assert.equal(reg.certificate, undefined);

    const listed = await cli(['ca', 'list', '--data', data, '--json'], {});
    assert.equal(listed.code, 0, listed.err);
    const pending = (JSON.parse(listed.out) as { registrations: Registration[] }).registrations;
    const mine = pending.find((r) => r.registrationId === reg.registrationId);
    assert.ok(mine, listed.out);
    assert.equal(mine.status, 'pending');
    // The operator sees the real identity it must check.
    assert.equal(mine.realIdentity?.name, REAL.name);
    const text = await cli(['ca', 'list', '--data', data], {});
    assert.match(text.out, new RegExp(`^${reg.registrationId}  pending .*real: ${REAL.name}, ${REAL.email}$`, 'm'));

    const ok = await cli(['ca', 'approve', reg.registrationId, '--data', data, '--check', 'passport seen']);
    assert.equal(ok.code, 0, ok.err);
    const partyId = /party id (m-[a-z2-7]{16})/.exec(ok.out)?.[1];
    assert.ok(partyId, ok.out);

    const again = await cli(['ca', 'approve', reg.registrationId, '--data', data, '--check', 'passport seen']);
    assert.equal(again.code, 1);
    assert.match(again.err, /^CA_REGISTRATION_NOT_PENDING: registration is approved/m);

    const afterList = await cli(['ca', 'list', '--data', data, '--json'], {});
    const stillPending = (JSON.parse(afterList.out) as { registrations: Registration[] }).registrations;
    assert.ok(!stillPending.some((r) => r.registrationId === reg.registrationId));
    const approvedList = await cli(['ca', 'list', '--data', data, '--status', 'approved', '--json'], {});
    const approved = (JSON.parse(approvedList.out) as { registrations: Registration[] }).registrations;
    assert.equal(approved.find((r) => r.registrationId === reg.registrationId)?.partyId, partyId);

    const got = await app.inject({ method: 'GET', url: `/v1/registrations/${reg.registrationId}` });
    assert.equal(got.statusCode, 200, got.body);
    const view = got.json<Registration>();
    assert.equal(view.status, 'approved');
    assert.equal(view.partyId, partyId);
    assert.ok(view.certificate);
    assert.ok(!JSON.stringify(view).includes(REAL.name), 'public view leaks the real name');

    const certPath = join(tmp.dir, 'shop.cert.pem');
    writeFileSync(certPath, view.certificate);
    const v = openssl(['verify', '-CAfile', join(data, 'ca-cert.pem'), certPath]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /: OK$/m);
    const subject = openssl(['x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'RFC2253']).stdout;
    assert.match(subject, /CN=Tokyo On-line Mail Order Dealer/);
    assert.match(subject, new RegExp(`UID=${partyId}`));
    assert.doesNotMatch(subject, /Hanako|Yamada|ignored/);
    // The certificate certifies the applicant's OpenSSL key, not one the CA made.
    const certKey = openssl(['x509', '-in', certPath, '-noout', '-pubkey']).stdout;
    const csrKey = openssl(['pkey', '-in', join(tmp.dir, 'shop.key.pem'), '-pubout']).stdout;
    assert.equal(certKey, csrKey);
  });

  test('approve with --party-id and --json', async () => {
    const reg = await submit('shop2', 'Osaka Books', 'merchant');
    const r = await cli(['ca', 'approve', reg.registrationId, '--data', data, '--check', 'registry extract', '--party-id', 'osaka-books', '--json']);
    assert.equal(r.code, 0, r.err);
    const view = JSON.parse(r.out) as Registration;
    assert.equal(view.partyId, 'osaka-books');
    assert.equal(view.status, 'approved');
  });

  test('reject: a pending registration becomes rejected and cannot then be approved', async () => {
    const reg = await submit('client', 'hanako', 'client');
    const noReason = await cli(['ca', 'reject', reg.registrationId, '--data', data], {});
    assert.equal(noReason.code, 2);
    assert.match(noReason.err, /--reason is required/);

    const r = await cli(['ca', 'reject', reg.registrationId, '--data', data, '--reason', 'identity documents do not match'], {});
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`rejected ${reg.registrationId}`));
    const got = (await app.inject({ method: 'GET', url: `/v1/registrations/${reg.registrationId}` })).json<Registration & { rejectReason?: string }>();
    assert.equal(got.status, 'rejected');
    assert.equal(got.rejectReason, 'identity documents do not match');
    assert.equal(got.certificate, undefined);

    const approve = await cli(['ca', 'approve', reg.registrationId, '--data', data]);
    assert.equal(approve.code, 1);
    assert.match(approve.err, /^CA_REGISTRATION_NOT_PENDING: registration is rejected/m);
    const rejectAgain = await cli(['ca', 'reject', reg.registrationId, '--data', data, '--reason', 'twice'], {});
    assert.equal(rejectAgain.code, 1);
    assert.match(rejectAgain.err, /^CA_REGISTRATION_NOT_PENDING: /m);
  });

  test('approve or reject an unknown id: CA_REGISTRATION_NOT_FOUND, exit 1 (JSON too)', async () => {
    const id = 'reg_AAAAAAAAAAAAAAAAAAAAAA';
    const a = await cli(['ca', 'approve', id, '--data', data]);
    assert.equal(a.code, 1);
    assert.match(a.err, /^CA_REGISTRATION_NOT_FOUND: /m);
    const j = await cli(['ca', 'reject', id, '--data', data, '--reason', 'x', '--json'], {});
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.out), { ok: false, code: 'CA_REGISTRATION_NOT_FOUND', message: 'no such registration' });
  });

  test('usage errors: two ids, a bad --status, a bad --party-id', async () => {
    const two = await cli(['ca', 'approve', 'a', 'b', '--data', data]);
    assert.equal(two.code, 2);
    assert.match(two.err, /expected exactly one registration id/);
    const status = await cli(['ca', 'list', '--data', data, '--status', 'lost'], {});
    assert.equal(status.code, 2);
    const pid = await cli(['ca', 'approve', 'reg_x', '--data', data, '--party-id', 'UPPER']);
    assert.equal(pid.code, 2);
  });

  test('a wrong CA passphrase: approve refuses with CRYPTO_KEY_PASSPHRASE_WRONG and issues nothing', async () => {
    const reg = await submit('late', 'Late Shop');
    const r = await cli(['ca', 'approve', reg.registrationId, '--data', data], { QUITTANCE_PASSPHRASE: 'not the passphrase' });
    assert.equal(r.code, 1);
    assert.match(r.err, /CRYPTO_KEY_PASSPHRASE_WRONG/);
    const got = (await app.inject({ method: 'GET', url: `/v1/registrations/${reg.registrationId}` })).json<Registration>();
    assert.equal(got.status, 'pending');
  });
});
