// A payment server in-process for tests: a fresh database per test (SQLite,
// and PostgreSQL when DATABASE_URL is set), a `payment` certificate from the
// test PKI, a wrapping key derived once per file and an injected clock.
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/payment/app.ts';
import { PaymentConfig } from '../../src/payment/config.ts';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { newCaches, type PaymentDeps } from '../../src/payment/deps.ts';
import { deriveWrapKey } from '../../src/payment/key-wrap.ts';
import { PAYMENT_MIGRATIONS } from '../../src/payment/migrations/index.ts';
import { isUniqueViolation, migrate } from '../../src/store/index.ts';
import { buildPki, PKI_NOW, type TestPki } from '../fixtures/pki.ts';
import type { TestDatabase, TestHandle } from '../helpers/db.ts';

export const SALT = 'AAECAwQFBgcICQoLDA0ODw';
// Derived once per test file: 600,000 PBKDF2 iterations take a while.
export const WRAP_KEY = await deriveWrapKey('correct horse battery staple', SALT);
const PKI: TestPki = await buildPki();

export type TestPayment = {
  app: FastifyInstance;
  deps: PaymentDeps;
  pki: TestPki;
  handle: TestHandle<PaymentDatabase>;
  clock: { now: Date };
  close: () => Promise<void>;
};

export async function startTestPayment(t: TestDatabase, config: Partial<PaymentConfig> = {}): Promise<TestPayment> {
  const handle = await t.open<PaymentDatabase>();
  await migrate(handle.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
  const leaf = await PKI.leaf({ role: 'payment', partyId: 'pay-1', displayName: 'Quittance Pay' });
  const clock = { now: PKI_NOW };
  const deps: PaymentDeps = {
    db: handle.db,
    config: PaymentConfig.parse({
      name: 'Quittance Pay',
      adminTokenHashes: [],
      currencies: [{ maxValue: 'JPY:8' }, { maxValue: 'EUR:0.04' }],
      keyWrapSalt: SALT,
      withdrawDays: 30,
      depositDays: 60,
      rotationOverlapDays: 7,
      ...config,
    }),
    signer: { partyId: 'pay-1', displayName: 'Quittance Pay', privateKey: leaf.keys.privateKey, alg: 'EdDSA', x5c: leaf.chain, notAfter: leaf.cert.notAfter },
    wrapKey: WRAP_KEY,
    clock: () => clock.now,
    isUniqueViolation,
    caches: newCaches(),
  };
  const app = createApp(deps);
  await app.ready();
  return {
    app,
    deps,
    pki: PKI,
    handle,
    clock,
    close: async () => {
      await app.close();
      await handle.cleanup();
    },
  };
}
