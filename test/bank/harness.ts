// A bank server in-process for tests: a fresh database per test (SQLite, and
// PostgreSQL when DATABASE_URL is set) and an injected clock.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/bank/app.ts';
import { BankConfig } from '../../src/bank/config.ts';
import type { BankDatabase } from '../../src/bank/db.ts';
import type { BankDeps } from '../../src/bank/deps.ts';
import { BANK_MIGRATIONS } from '../../src/bank/migrations/index.ts';
import { hashToken } from '../../src/http/admin-auth.ts';
import { isUniqueViolation, migrate } from '../../src/store/index.ts';
import type { TestDatabase } from '../helpers/db.ts';

export const OPERATOR_TOKEN = 'qt_test-bank-operator-token-0123456789';
export const START = new Date('2026-03-01T09:00:00.000Z');
export const op = { authorization: `Bearer ${OPERATOR_TOKEN}` };

export type TestBank = {
  app: FastifyInstance;
  deps: BankDeps;
  clock: { now: Date };
  close: () => Promise<void>;
};

export async function startTestBank(t: TestDatabase, config: Partial<BankConfig> = {}): Promise<TestBank> {
  const h = await t.open<BankDatabase>();
  await migrate(h.db, BANK_MIGRATIONS, { table: 'bank_migration' });
  const clock = { now: START };
  const deps: BankDeps = {
    db: h.db,
    config: BankConfig.parse({ name: 'Test Bank', adminTokenHashes: [hashToken(OPERATOR_TOKEN)], pollIntervalMs: 20, ...config }),
    clock: () => clock.now,
    random: (n) => new Uint8Array(randomBytes(n)),
    isUniqueViolation,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  const app = createApp(deps);
  await app.ready();
  return {
    app,
    deps,
    clock,
    close: async () => {
      await app.close();
      await h.cleanup();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Opens an account as the operator; returns its id and, for a new holder, the holder's token. */
export async function open(bank: TestBank, holder: string, currency = 'JPY', extra: Record<string, unknown> = {}) {
  const res = await bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: op, payload: { holder, currency, ...extra } });
  if (res.statusCode !== 201) throw new Error(`open failed: ${res.statusCode} ${res.body}`);
  const body = res.json<{ account: { accountId: string }; holderToken?: string }>();
  return { id: body.account.accountId, token: body.holderToken ?? '' };
}

export async function fundAccount(bank: TestBank, to: string, amount: string, transferId = `fund-${randomBytes(6).toString('hex')}`) {
  const res = await bank.app.inject({ method: 'POST', url: '/v1/admin/fund', headers: op, payload: { transferId, to, amount } });
  if (res.statusCode !== 201) throw new Error(`fund failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function balance(bank: TestBank, id: string): Promise<string> {
  const res = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${id}`, headers: op });
  return res.json<{ balance: string }>().balance;
}

/** Row counts and balances: "nothing changed on a refused request" is checked with these. */
export async function snapshot(deps: BankDeps) {
  const n = async (table: keyof BankDatabase) =>
    Number((await deps.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const accounts = await deps.db.selectFrom('bank_accounts').select(['id', 'balance', 'entry_count']).orderBy('id').execute();
  return {
    holders: await n('bank_holders'),
    transfers: await n('bank_transfers'),
    entries: await n('bank_entries'),
    accounts: accounts.map((a) => `${a.id}:${a.balance}:${a.entry_count}`).join(','),
  };
}
