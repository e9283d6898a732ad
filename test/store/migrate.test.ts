import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { migrate, type Migration } from '../../src/store/index.ts';
import { testDatabases } from '../helpers/db.ts';

function tracked(log: string[]): Record<string, Migration> {
  // Deliberately listed out of order: the runner orders by name.
  return {
    '0002-add-b': { up: async (db) => { log.push('0002'); await db.schema.createTable('b').addColumn('id', 'integer').execute(); } },
    '0001-init': { up: async (db) => { log.push('0001'); await db.schema.createTable('a').addColumn('id', 'integer').execute(); } },
  };
}

async function tables(db: Kysely<unknown>): Promise<string[]> {
  return (await db.introspection.getTables()).map((t) => t.name).filter((n) => !/_migration(_lock)?$/.test(n)).sort();
}

for (const t of testDatabases()) {
  void describe(`migrations on ${t.name}`, () => {
    void test('run in name order, once; a re-run applies nothing', async (ctx) => {
      const h = await t.open<unknown>();
      ctx.after(() => h.cleanup());
      const log: string[] = [];
      assert.deepEqual(await migrate(h.db, tracked(log), { table: 'svc_migration' }), ['0001-init', '0002-add-b']);
      assert.deepEqual(log, ['0001', '0002']);
      assert.deepEqual(await migrate(h.db, tracked(log), { table: 'svc_migration' }), []);
      assert.deepEqual(log, ['0001', '0002']);
      assert.deepEqual(await tables(h.db), ['a', 'b']);
      // A fresh connection sees the same history.
      const again = await h.reopen<unknown>();
      assert.deepEqual(await migrate(again.db, tracked(log), { table: 'svc_migration' }), []);
    });

    void test('a database migrated by a newer version is refused', async (ctx) => {
      const h = await t.open<unknown>();
      ctx.after(() => h.cleanup());
      const all = tracked([]);
      await migrate(h.db, all, { table: 'svc_migration' });
      const older = { '0001-init': all['0001-init']! };
      await assert.rejects(migrate(h.db, older, { table: 'svc_migration' }), /0002-add-b.*newer version; refusing to start/);
    });

    void test('a failing migration is rolled back whole and named in the error', async (ctx) => {
      const h = await t.open<unknown>();
      ctx.after(() => h.cleanup());
      const bad: Record<string, Migration> = {
        '0001-init': {
          up: async (db) => {
            await db.schema.createTable('half').addColumn('id', 'integer').execute();
            await sql`select * from no_such_table`.execute(db);
          },
        },
      };
      await assert.rejects(migrate(h.db, bad, { table: 'svc_migration' }), /migration 0001-init failed/);
      assert.deepEqual(await tables(h.db), []);
    });

    void test('services sharing a database keep separate histories', async (ctx) => {
      const h = await t.open<unknown>();
      ctx.after(() => h.cleanup());
      await migrate(h.db, { '0001-init': { up: async (db) => { await db.schema.createTable('x_t').addColumn('id', 'integer').execute(); } } }, { table: 'x_migration' });
      const applied = await migrate(h.db, { '0001-init': { up: async (db) => { await db.schema.createTable('y_t').addColumn('id', 'integer').execute(); } } }, { table: 'y_migration' });
      assert.deepEqual(applied, ['0001-init']);
      assert.deepEqual(await tables(h.db), ['x_t', 'y_t']);
    });

    void test('bad table or migration names are refused', async (ctx) => {
      const h = await t.open<unknown>();
      ctx.after(() => h.cleanup());
      await assert.rejects(migrate(h.db, {}, { table: 'x"; drop' }), TypeError);
      await assert.rejects(migrate(h.db, { init: { up: async () => {} } }, { table: 'x_migration' }), /four digits/);
    });
  });
}

void describe('postgres schemas', () => {
  const pg = testDatabases().find((t) => t.name === 'postgres');
  if (pg === undefined) return;
  void test('a table in one schema is invisible from another, even with the same migration table', async (ctx) => {
    const a = await pg.open<unknown>();
    ctx.after(() => a.cleanup());
    const b = await pg.open<unknown>();
    ctx.after(() => b.cleanup());
    await migrate(a.db, { '0001-init': { up: async (db) => { await db.schema.createTable('only_a').addColumn('id', 'integer').execute(); } } }, { table: 'svc_migration' });
    assert.deepEqual(await migrate(b.db, {}, { table: 'svc_migration' }), []);
    await assert.rejects(sql`select * from only_a`.execute(b.db), /does not exist/);
    assert.deepEqual((await sql<{ n: bigint }>`select count(*) as n from only_a`.execute(a.db)).rows[0]?.n, 0n);
    // b's history is its own: the same migration still applies there.
    const applied = await migrate(b.db, { '0001-init': { up: async (db) => { await db.schema.createTable('only_b').addColumn('id', 'integer').execute(); } } }, { table: 'svc_migration' });
    assert.deepEqual(applied, ['0001-init']);
  });
});
