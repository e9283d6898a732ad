// `quittance wallet register` against a real CA listening on an ephemeral port,
// and against a fake CA that hands back a certificate for someone else's key.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { auth, makeCsr, registration, startTestCa, type TestCa } from '../ca/harness.ts';
import { testDatabases } from '../helpers/db.ts';
import { openWallet } from '../../src/wallet/index.ts';
import { pemToDer, readProfile, x509 } from '../../src/protocol/x509/index.ts';
import { cli, tempDir } from './helpers.ts';

const sqlite = testDatabases()[0]!;

async function listeningCa(t: { after: (fn: () => Promise<void> | void) => void }, autoApprove: boolean): Promise<{ ca: TestCa; url: string }> {
  const ca = await startTestCa(sqlite, { autoApprove });
  // The wallet checks validity and CRL freshness against the real clock.
  ca.clock.now = new Date();
  const url = await ca.app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => ca.close());
  return { ca, url };
}

async function newWallet(t: { after: (fn: () => void) => void }): Promise<string> {
  const { dir, remove } = tempDir('quittance-wallet-');
  t.after(remove);
  const r = await cli(['wallet', 'init', '--data', dir]);
  assert.equal(r.code, 0, r.err);
  return dir;
}

type Status = { identity: { status: string; partyId: string | null; displayName: string; fingerprint: string | null; caUrl: string; registrationId: string } | null };
async function status(w: string): Promise<Status> {
  const r = await cli(['wallet', 'status', '--data', w, '--json'], {});
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Status;
}

async function storedChain(w: string): Promise<string | null> {
  const opened = await openWallet(w, { now: () => new Date() });
  assert.ok(opened.ok);
  try {
    const row = await opened.value.db.selectFrom('wallet_identity').select('certificate_chain_pem').executeTakeFirst();
    return row?.certificate_chain_pem ?? null;
  } finally {
    await opened.value.close();
  }
}

test('register with an auto-approving CA: the checked certificate certifies the wallet key as role client', async (t) => {
  const { ca, url } = await listeningCa(t, true);
  const w = await newWallet(t);
  const r = await cli(['wallet', 'register', '--data', w, '--ca', url, '--name', 'Hanako', '--real-name', 'Hanako Yamada', '--address', '1-2-3 Chiyoda, Tokyo', '--email', 'hanako@example.jp', '--json']);
  assert.equal(r.code, 0, r.err + r.out);
  const s = JSON.parse(r.out) as Status;
  assert.equal(s.identity?.status, 'approved');
  assert.match(s.identity!.partyId!, /^c-/);
  assert.equal(s.identity?.displayName, 'Hanako');
  assert.equal(statSync(join(w, 'identity-key.pem')).mode & 0o777, 0o600);
  const chain = await storedChain(w);
  assert.ok(chain);
  const leaf = new x509.X509Certificate(pemToDer(chain, 'CERTIFICATE')!.slice());
  const profile = readProfile(leaf);
  assert.ok(profile.ok);
  assert.equal(profile.value.role, 'client');
  assert.equal(profile.value.partyId, s.identity!.partyId);
  // The CA kept the real identity, the certificate did not.
  const regs = (await ca.app.inject({ method: 'GET', url: '/v1/admin/registrations?status=approved', headers: auth })).json() as { registrations: { realIdentity: { name: string } }[] };
  assert.equal(regs.registrations[0]?.realIdentity.name, 'Hanako Yamada');
  assert.equal(leaf.subject.includes('Yamada'), false);
  // Registering again with the same CA and name is a no-op; another CA is refused.
  const again = await cli(['wallet', 'register', '--data', w, '--ca', url, '--name', 'Hanako'], {});
  assert.equal(again.code, 0, again.err);
  const other = await cli(['wallet', 'register', '--data', w, '--ca', 'http://127.0.0.1:9/', '--name', 'Hanako'], {});
  assert.equal(other.code, 1);
  assert.match(other.err, /^WALLET_IDENTITY_EXISTS/);
});

test('register --wait polls until the operator approves; status shows the certificate', async (t) => {
  const { ca, url } = await listeningCa(t, false);
  const w = await newWallet(t);
  const running = cli(['wallet', 'register', '--data', w, '--ca', url, '--name', 'Taro', '--email', 'taro@example.jp', '--wait', '--timeout', '60']);
  let id: string | undefined;
  for (let i = 0; i < 100 && id === undefined; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const list = (await ca.app.inject({ method: 'GET', url: '/v1/admin/registrations?status=pending', headers: auth })).json() as { registrations: { registrationId: string }[] };
    id = list.registrations[0]?.registrationId;
  }
  assert.ok(id, 'the registration reached the CA');
  assert.equal((await status(w)).identity?.status, 'pending');
  const approved = await ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${id}/approve`, headers: auth, payload: { identityCheck: 'passport seen' } });
  assert.equal(approved.statusCode, 200, approved.body);
  const r = await running;
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /registered as "Taro" \(party id c-[a-z2-7]+, role client\)/);
  const s = await status(w);
  assert.equal(s.identity?.status, 'approved');
  assert.equal(s.identity?.registrationId, id);
  assert.match(s.identity!.fingerprint!, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  const text = await cli(['wallet', 'status', '--data', w], {});
  assert.match(text.out, /party id: c-/);
});

test('without --wait: pending; --wait --timeout gives up with a code; --resume fetches it later', async (t) => {
  const { ca, url } = await listeningCa(t, false);
  const w = await newWallet(t);
  const first = await cli(['wallet', 'register', '--data', w, '--ca', url, '--name', 'Jiro']);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /pending approval[\s\S]*--resume/);
  const timeout = await cli(['wallet', 'register', '--data', w, '--resume', '--wait', '--timeout', '1'], {});
  assert.equal(timeout.code, 1);
  assert.match(timeout.err, /waiting for the CA to approve registration reg_/);
  assert.match(timeout.err, /WALLET_REGISTRATION_TIMEOUT/);
  const id = (await status(w)).identity!.registrationId;
  await ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${id}/approve`, headers: auth, payload: { identityCheck: 'phone call' } });
  const resumed = await cli(['wallet', 'register', '--data', w, '--resume', '--json'], {});
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal((JSON.parse(resumed.out) as Status).identity?.status, 'approved');
});

test('a rejected registration is reported with WALLET_REGISTRATION_REJECTED', async (t) => {
  const { ca, url } = await listeningCa(t, false);
  const w = await newWallet(t);
  assert.equal((await cli(['wallet', 'register', '--data', w, '--ca', url, '--name', 'Saburo'])).code, 0);
  const id = (await status(w)).identity!.registrationId;
  await ca.app.inject({ method: 'POST', url: `/v1/admin/registrations/${id}/reject`, headers: auth, payload: { reason: 'identity not confirmed' } });
  const r = await cli(['wallet', 'register', '--data', w, '--resume'], {});
  assert.equal(r.code, 1);
  assert.match(r.err, /^WALLET_REGISTRATION_REJECTED: .*identity not confirmed/);
  assert.equal((await status(w)).identity?.status, 'rejected');
  assert.equal(await storedChain(w), null);
});

test('a CA that returns a certificate for a different key is refused and nothing is stored', async (t) => {
  const { ca } = await listeningCa(t, true);
  // A genuine, valid client certificate of this CA — but for someone else's key.
  const stranger = await makeCsr();
  const issued = await ca.app.inject({ method: 'POST', url: '/v1/registrations', payload: registration(stranger.pem, { role: 'client', displayName: 'Mallory' }) });
  assert.equal(issued.statusCode, 201, issued.body);
  const strangerView = issued.json() as Record<string, unknown>;
  const fake: Server = createServer((req, res) => {
    void (async () => {
      if (req.method === 'POST' && req.url === '/v1/registrations') {
        for await (const _ of req) void _;
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(strangerView));
        return;
      }
      // Chain and CRL are the real CA's: only the key is wrong.
      const real = await ca.app.inject({ method: 'GET', url: req.url ?? '/' });
      res.writeHead(real.statusCode, { 'content-type': String(real.headers['content-type']) }).end(real.rawPayload);
    })();
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => fake.close(() => r())));
  const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  const w = await newWallet(t);
  const r = await cli(['wallet', 'register', '--data', w, '--ca', url, '--name', 'Mallory', '--json']);
  assert.equal(r.code, 1);
  assert.equal((JSON.parse(r.out) as { code: string }).code, 'WALLET_CERTIFICATE_MISMATCH');
  assert.equal(await storedChain(w), null);
  assert.notEqual((await status(w)).identity?.status, 'approved');
});

test('an unreachable CA is WALLET_CA_UNREACHABLE; a pinned root that is not the CA\'s fails path validation', async (t) => {
  const w = await newWallet(t);
  const down = await cli(['wallet', 'register', '--data', w, '--ca', 'http://127.0.0.1:9', '--name', 'Shiro']);
  assert.equal(down.code, 1);
  assert.match(down.err, /^WALLET_CA_UNREACHABLE/);
  assert.equal((await status(w)).identity, null);

  const { url } = await listeningCa(t, true);
  const other = await startTestCa(sqlite);
  t.after(() => other.close());
  const { dir, remove } = tempDir();
  t.after(remove);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'other-root.pem'), other.rootPem);
  const r = await cli(['wallet', 'register', '--data', w, '--ca', url, '--name', 'Shiro', '--ca-cert', join(dir, 'other-root.pem')]);
  assert.equal(r.code, 1);
  // Both test roots are called "Test Root CA": the impostor's root is found by name and its signature fails.
  assert.match(r.err, /^PROTO_CERT_(UNTRUSTED_ROOT|SIGNATURE_INVALID)/);
  assert.equal(await storedChain(w), null);
  assert.ok(existsSync(join(w, 'identity-key.pem')));
});
