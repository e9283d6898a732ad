import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/store/index.ts';

void test('an unsupported URL is refused with the accepted forms, without echoing credentials', async () => {
  for (const url of ['mysql://user:s3cret@db/x', 'file:/tmp/x.db', 'x.db', '']) {
    await assert.rejects(openDatabase(url), (e: Error) => {
      assert.match(e.message, /sqlite:PATH/);
      assert.match(e.message, /postgres:\/\//);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    });
  }
});

void test('a sqlite URL without a usable path is refused', async () => {
  await assert.rejects(openDatabase('sqlite:'), /no usable path/);
  await assert.rejects(openDatabase('sqlite:///var/x.db'), /no usable path/);
});

void test('a non-identifier schema is refused before any connection is made', async () => {
  // Port 1 is closed: reaching the network would fail differently.
  await assert.rejects(openDatabase('postgres://nobody@127.0.0.1:1/x', { schema: 'a; drop table x' }), TypeError);
  await assert.rejects(openDatabase('sqlite::memory:', { schema: 'a' }), /PostgreSQL only/);
});

void test('sqlite files open with WAL, synchronous=FULL, foreign keys and a busy timeout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'quittance-open-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = await openDatabase(`sqlite:${join(dir, 'a.db')}`);
  try {
    assert.equal(s.dialect, 'sqlite');
    const get = async (p: string) => Object.values((await sql.raw(`pragma ${p}`).execute(s.db)).rows[0] as object)[0] as unknown;
    assert.equal(await get('journal_mode'), 'wal');
    assert.equal(Number(await get('synchronous')), 2); // FULL
    assert.equal(Number(await get('foreign_keys')), 1);
    assert.equal(Number(await get('busy_timeout')), 5000);
  } finally {
    await s.close();
  }
});

void test('sqlite::memory: opens an in-memory database', async () => {
  const s = await openDatabase('sqlite::memory:');
  try {
    const r = await sql<{ v: bigint }>`select 40 + 2 as v`.execute(s.db);
    assert.equal(r.rows[0]?.v, 42n);
  } finally {
    await s.close();
  }
});
