// The same storage tests run on every dialect (STYLE "Storage"): SQLite always,
// PostgreSQL too when DATABASE_URL is set (e.g. postgres://root@127.0.0.1:5432/test).
//
// Usage:
//   import { testDatabases } from '../helpers/db.ts';
//   for (const t of testDatabases()) {
//     void describe(t.name, () => {
//       void test('…', async (ctx) => {
//         const h = await t.open<MyDatabase>();   // fresh, empty database
//         ctx.after(() => h.cleanup());            // closes and deletes it
//         await migrate(h.db, MY_MIGRATIONS, { table: 'my_migration' });
//         …
//       });
//     });
//   }
//
// Each open() gives its own SQLite temp file or its own PostgreSQL schema
// (t_<random hex>, dropped with CASCADE by cleanup()), so tests may run in
// parallel. To start a server under test on the same data, pass it `h.url` and
// `h.options` (openDatabase(h.url, h.options)); h.reopen() does that for you and
// cleanup() closes what it opened. node:sqlite is synchronous: two stores on one
// SQLite file in one process block each other's event loop on busy_timeout, so
// share one store per file within a process for concurrent writes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type OpenOptions, type Store } from '../../src/store/index.ts';

export interface TestHandle<DB> extends Store<DB> {
  readonly url: string;
  readonly options: OpenOptions;
  /** Another connection (SQLite) or pool (PostgreSQL) onto the same data. */
  reopen<DB2 = DB>(): Promise<Store<DB2>>;
  /** Closes every store from this handle and deletes the data. Safe to call twice. */
  cleanup(): Promise<void>;
}

export interface TestDatabase {
  readonly name: 'sqlite' | 'postgres';
  open<DB>(): Promise<TestHandle<DB>>;
}

export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [{ name: 'sqlite', open: openSqlite }];
  const url = process.env.DATABASE_URL;
  if (url !== undefined && url !== '') list.push({ name: 'postgres', open: () => openPostgres(url) });
  return list;
}

async function handle<DB>(url: string, options: OpenOptions, drop: (s: Store<DB>) => Promise<void>): Promise<TestHandle<DB>> {
  const main = await openDatabase<DB>(url, options);
  const others: Store<unknown>[] = [];
  let done = false;
  return {
    ...main,
    url,
    options,
    async reopen<DB2>() {
      const s = await openDatabase<DB2>(url, options);
      others.push(s as Store<unknown>);
      return s;
    },
    async cleanup() {
      if (done) return;
      done = true;
      for (const s of others) await s.close();
      await drop(main);
    },
  };
}

async function openSqlite<DB>(): Promise<TestHandle<DB>> {
  const dir = mkdtempSync(join(tmpdir(), 'quittance-test-'));
  return handle<DB>(`sqlite:${join(dir, 'test.db')}`, {}, async (s) => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
}

async function openPostgres<DB>(url: string): Promise<TestHandle<DB>> {
  const schema = `t_${randomBytes(8).toString('hex')}`;
  return handle<DB>(url, { schema }, async (s) => {
    // A separate connection: the test may already have closed its store.
    await s.close();
    const admin = await openDatabase<unknown>(url);
    try {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin.db);
    } finally {
      await admin.close();
    }
  });
}
