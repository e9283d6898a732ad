// A CA server in-process for tests: a fresh database per test (SQLite, and
// PostgreSQL when DATABASE_URL is set), a real root key and an injected clock.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/ca/app.ts';
import { CaConfig } from '../../src/ca/config.ts';
import type { CaDatabase } from '../../src/ca/db.ts';
import type { CaDeps } from '../../src/ca/deps.ts';
import { CA_MIGRATIONS } from '../../src/ca/migrations/index.ts';
import { createX509Authority } from '../../src/ca/x509-authority.ts';
import { hashToken } from '../../src/http/admin-auth.ts';
import { isUniqueViolation, migrate } from '../../src/store/index.ts';
import { createRootCa, x509 } from '../../src/protocol/x509/index.ts';
import type { TestDatabase } from '../helpers/db.ts';

export const ADMIN_TOKEN = 'qt_test-operator-token-0123456789';
export const START = new Date('2026-03-01T09:00:00Z');

export type TestCa = {
  app: FastifyInstance;
  deps: CaDeps;
  rootDer: Uint8Array;
  rootPem: string;
  clock: { now: Date };
  close: () => Promise<void>;
};

export async function startTestCa(t: TestDatabase, config: Partial<CaConfig> = {}): Promise<TestCa> {
  const h = await t.open<CaDatabase>();
  await migrate(h.db, CA_MIGRATIONS, { table: 'ca_migration' });
  const keys = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  const root = await createRootCa({
    keys,
    commonName: 'Test Root CA',
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2036-01-01T00:00:00Z'),
    serial: new Uint8Array(randomBytes(16)),
  });
  const clock = { now: START };
  const deps: CaDeps = {
    db: h.db,
    authority: createX509Authority(root.pem, keys.privateKey),
    config: CaConfig.parse({ name: 'Test Root CA', adminTokenHashes: [hashToken(ADMIN_TOKEN)], ...config }),
    clock: () => clock.now,
    random: (n) => new Uint8Array(randomBytes(n)),
    isUniqueViolation,
  };
  const app = createApp(deps);
  await app.ready();
  return {
    app,
    deps,
    rootDer: root.der,
    rootPem: root.pem,
    clock,
    close: async () => {
      await app.close();
      await h.cleanup();
    },
  };
}

/** A PKCS#10 request made with the applicant's own key (subject is ignored by the CA). */
export async function makeCsr(alg: 'Ed25519' | 'P-256' = 'Ed25519'): Promise<{ pem: string; keys: CryptoKeyPair }> {
  const params = alg === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=Applicant Chooses This, O=Ignored',
    keys,
    signingAlgorithm: alg === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' },
  });
  return { pem: csr.toString('pem'), keys };
}

export function registration(csr: string, overrides: Record<string, unknown> = {}) {
  return {
    realIdentity: { name: 'Hanako Yamada', postalAddress: '1-2-3 Chiyoda, Tokyo', email: 'hanako@example.jp' },
    role: 'merchant',
    displayName: 'Tokyo On-line Mail Order Dealer',
    csr,
    ...overrides,
  };
}

export const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** Row counts of every CA table: "nothing stored on a rejected request" is checked with these. */
export async function counts(deps: CaDeps) {
  const n = async (table: keyof CaDatabase) =>
    Number((await deps.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const pending = await deps.db.selectFrom('ca_registrations').select('status').execute();
  return {
    registrations: await n('ca_registrations'),
    certificates: await n('ca_certificates'),
    statuses: pending.map((r) => r.status).sort().join(','),
    revoked: (await deps.db.selectFrom('ca_certificates').select('serial').where('revoked_at', 'is not', null).execute()).length,
  };
}
