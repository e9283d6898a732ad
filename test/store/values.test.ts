// The value rule of src/store/index.ts, checked on every dialect.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { testDatabases } from '../helpers/db.ts';

interface DB {
  account: { id: string; balance: bigint; version: number; frozen: boolean; note: string | null };
}

for (const t of testDatabases()) {
  void describe(`values on ${t.name}`, () => {
    void test('bigint money round-trips exactly above 2^53; integer reads as number, boolean as boolean', async (ctx) => {
      const h = await t.open<DB>();
      ctx.after(() => h.cleanup());
      await h.db.schema
        .createTable('account')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('balance', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('frozen', 'boolean', (c) => c.notNull())
        .addColumn('note', 'text')
        .execute();
      const big = 9007199254740993n; // 2^53 + 1: not representable as a double
      await h.db
        .insertInto('account')
        .values([
          { id: 'a', balance: big, version: 1, frozen: true, note: null },
          { id: 'b', balance: -big, version: 2, frozen: false, note: 'x' },
        ])
        .execute();
      const rows = await h.db.selectFrom('account').selectAll().orderBy('id').execute();
      assert.deepEqual(
        rows.map((r) => ({ ...r })),
        [
          { id: 'a', balance: big, version: 1, frozen: true, note: null },
          { id: 'b', balance: -big, version: 2, frozen: false, note: 'x' },
        ],
      );
      // A single-statement conditional update stays exact too.
      await h.db.updateTable('account').set({ balance: sql`balance + ${1n}` }).where('id', '=', 'a').execute();
      const a = await h.db.selectFrom('account').select('balance').where('id', '=', 'a').executeTakeFirstOrThrow();
      assert.equal(a.balance, big + 1n);
      // Computed values: cast in SQL, normalise in code (index.ts).
      const sum = await h.db
        .selectFrom('account')
        .select((eb) => [sql<bigint>`cast(sum(${eb.ref('balance')}) as bigint)`.as('total'), eb.fn.countAll().as('n')])
        .executeTakeFirstOrThrow();
      assert.equal(BigInt(sum.total), 1n);
      assert.equal(sum.n, 2n);
    });

    void test('an integer column never silently rounds a value beyond 2^53', async (ctx) => {
      const h = await t.open<{ t: { v: number } }>();
      ctx.after(() => h.cleanup());
      await h.db.schema.createTable('t').addColumn('v', 'integer').execute();
      // PostgreSQL refuses the write (int4); SQLite stores it and refuses the read.
      await assert.rejects(async () => {
        await sql`insert into t (v) values (${9007199254740993n})`.execute(h.db);
        await h.db.selectFrom('t').selectAll().execute();
      });
    });
  });
}
