import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { isUniqueViolation, withRetry, type Store } from '../../src/store/index.ts';
import { testDatabases } from '../helpers/db.ts';

interface DB {
  counter: { id: string; n: number };
  coin: { serial: string; spent_by: string };
}

async function setup(s: Store<DB>): Promise<void> {
  await s.db.schema.createTable('counter').addColumn('id', 'text', (c) => c.primaryKey()).addColumn('n', 'integer', (c) => c.notNull()).execute();
  await s.db.schema.createTable('coin').addColumn('serial', 'text', (c) => c.primaryKey()).addColumn('spent_by', 'text', (c) => c.notNull()).execute();
  await s.db.insertInto('counter').values({ id: 'c', n: 0 }).execute();
}

// Read, yield to the event loop, then write: the shape that loses updates when
// transactions are not isolated.
async function increment(s: Store<DB>, onAttempt: () => void = () => {}, pause: () => Promise<unknown> = () => tick()): Promise<void> {
  await withRetry(
    () => {
      onAttempt();
      return s.db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          const { n } = await trx.selectFrom('counter').select('n').where('id', '=', 'c').executeTakeFirstOrThrow();
          await pause();
          await trx.updateTable('counter').set({ n: n + 1 }).where('id', '=', 'c').execute();
        });
    },
    { attempts: 50 },
  );
}

for (const t of testDatabases()) {
  void describe(`transactions on ${t.name}`, () => {
    void test('a transaction that throws leaves nothing behind', async (ctx) => {
      const h = await t.open<DB>();
      ctx.after(() => h.cleanup());
      await setup(h);
      await assert.rejects(
        h.db.transaction().execute(async (trx) => {
          await trx.updateTable('counter').set({ n: 99 }).execute();
          await trx.insertInto('coin').values({ serial: 's1', spent_by: 'p1' }).execute();
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await h.db.selectFrom('counter').select('n').executeTakeFirstOrThrow()).n, 0);
      assert.deepEqual(await h.db.selectFrom('coin').selectAll().execute(), []);
    });

    void test('a second spend of the same coin is a unique violation; other errors are not', async (ctx) => {
      const h = await t.open<DB>();
      ctx.after(() => h.cleanup());
      await setup(h);
      await h.db.insertInto('coin').values({ serial: 's1', spent_by: 'p1' }).execute();
      const dup = await h.db.insertInto('coin').values({ serial: 's1', spent_by: 'p2' }).execute().catch((e: unknown) => e);
      assert.equal(isUniqueViolation(dup), true);
      const notNull = await h.db
        .insertInto('coin')
        .values({ serial: 's2', spent_by: null as unknown as string })
        .execute()
        .catch((e: unknown) => e);
      assert.ok(notNull instanceof Error);
      assert.equal(isUniqueViolation(notNull), false);
      assert.equal(isUniqueViolation(new Error('UNIQUE constraint failed: x')), false);
      const rows = await h.db.selectFrom('coin').selectAll().execute();
      assert.deepEqual(rows.map((r) => ({ ...r })), [{ serial: 's1', spent_by: 'p1' }]);
    });

    void test('parallel read-modify-write increments are all counted', async (ctx) => {
      const h = await t.open<DB>();
      ctx.after(() => h.cleanup());
      await setup(h);
      await Promise.all(Array.from({ length: 10 }, () => increment(h)));
      assert.equal((await h.db.selectFrom('counter').select('n').executeTakeFirstOrThrow()).n, 10);
    });

    if (t.name === 'postgres') {
      void test('a serialization failure is retried and both increments count', async (ctx) => {
        const h = await t.open<DB>();
        ctx.after(() => h.cleanup());
        await setup(h);
        // Both transactions read before either writes: one of them must fail
        // with SQLSTATE 40001 and run again.
        let waiting = 0;
        let release: () => void = () => {};
        const bothRead = new Promise<void>((r) => (release = r));
        const barrier = () => {
          if (++waiting === 2) release();
          return Promise.race([bothRead, new Promise((r) => setTimeout(r, 200))]);
        };
        let attempts = 0;
        await Promise.all([increment(h, () => attempts++, barrier), increment(h, () => attempts++, barrier)]);
        assert.equal((await h.db.selectFrom('counter').select('n').executeTakeFirstOrThrow()).n, 2);
        assert.ok(attempts > 2, `expected a retry, saw ${attempts} attempts`);
      });
    }
  });
}

void describe('withRetry', () => {
  const busy = Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 });
  const serialization = Object.assign(new Error('could not serialize access'), { code: '40001' });
  const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });

  void test('retries conflicts with growing, jittered, capped backoff, then succeeds', async () => {
    const sleeps: number[] = [];
    const errors = [busy, serialization, deadlock, serialization];
    const value = await withRetry(
      async (attempt) => {
        const e = errors[attempt - 1];
        if (e !== undefined) throw e;
        return attempt;
      },
      { attempts: 5, baseDelayMs: 10, maxDelayMs: 30, random: () => 0.99, sleep: async (ms) => sleeps.push(ms) },
    );
    assert.equal(value, 5);
    assert.deepEqual(sleeps, [9, 19, 29, 29]);
  });

  void test('throws the last conflict once attempts are used up', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(async () => { calls++; throw serialization; }, { attempts: 3, sleep: async () => {} }),
      (e) => e === serialization,
    );
    assert.equal(calls, 3);
  });

  void test('does not retry other errors', async () => {
    let calls = 0;
    const other = Object.assign(new Error('duplicate key'), { code: '23505' });
    await assert.rejects(withRetry(async () => { calls++; throw other; }, { sleep: async () => {} }), (e) => e === other);
    assert.equal(calls, 1);
  });
});
