// Migrations are ordered modules, up only: a service passes its own list
// (e.g. { '0001-init': await import('./migrations/0001-init.ts') }).
// Each service keeps its own bookkeeping table, so several services can share
// one PostgreSQL database or schema without reading each other's history.
//
// Our own runner rather than Kysely's Migrator: the Migrator introspects every
// table of every schema on PostgreSQL before it starts, and that catalog scan
// fails ("schema … does not exist") when another service or test drops its
// schema at the same moment. Here each step is one transaction that first takes
// a lock (pg_advisory_xact_lock on PostgreSQL; SQLite's BEGIN IMMEDIATE), so
// concurrent starters serialize, and nothing outside the current schema is read.
import { sql, type Kysely } from 'kysely';
import { assertIdentifier, storeInfo } from './open-database.ts';

export interface Migration {
  // Kysely<any>: a migration speaks about the schema before it exists.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>): Promise<void>;
}

export interface MigrateOptions {
  /** Bookkeeping table, e.g. "ca_migration"; its lock table gets "_lock" appended. */
  table: string;
}

const NAME = /^\d{4}-[a-z0-9-]+$/;

// Migrations speak about tables the DB type does not know yet.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Applies every migration not yet applied, in name order, each in its own
 * transaction. Returns the names applied now. Throws, and the caller must refuse
 * to start, when a migration fails or the database records a migration this code
 * does not know (it was migrated by a newer version).
 */
export async function migrate<DB>(db: Kysely<DB>, migrations: Record<string, Migration>, opts: MigrateOptions): Promise<string[]> {
  assertIdentifier(opts.table, 'table');
  for (const [name, m] of Object.entries(migrations)) {
    if (!NAME.test(name)) throw new TypeError(`migrations: name "${name}" must look like "0001-init" (four digits, then kebab-case)`);
    if (typeof m?.up !== 'function') throw new TypeError(`migrations: "${name}" has no up() function`);
  }
  const { dialect } = storeInfo(db);
  const anyDb = db as unknown as AnyDb;
  const table = sql.table(opts.table);
  const lock = async (trx: AnyDb) => {
    if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.' || ${opts.table}))`.execute(trx);
  };
  const applied = async (trx: AnyDb) =>
    new Set((await sql<{ name: string }>`select name from ${table}`.execute(trx)).rows.map((r) => r.name));

  const known = Object.keys(migrations).sort();
  let done: Set<string>;
  try {
    done = await anyDb.transaction().execute(async (trx) => {
      await lock(trx);
      await sql`create table if not exists ${table} (name varchar(255) primary key, applied_at varchar(64) not null)`.execute(trx);
      return applied(trx);
    });
  } catch (error) {
    throw new Error(`migration (setup) failed: ${(error as Error).message}`, { cause: error });
  }
  const unknown = [...done].filter((n) => !(n in migrations)).sort();
  if (unknown.length > 0) {
    throw new Error(
      `database records migration ${unknown[unknown.length - 1]} in ${opts.table}, which this code does not know: ` +
        'it was migrated by a newer version; refusing to start',
    );
  }
  const ran: string[] = [];
  for (const name of known) {
    if (done.has(name)) continue;
    try {
      const didRun = await anyDb.transaction().execute(async (trx) => {
        await lock(trx);
        // Another process may have applied it while we waited for the lock.
        if ((await applied(trx)).has(name)) return false;
        await migrations[name]!.up(trx);
        await sql`insert into ${table} (name, applied_at) values (${name}, ${new Date().toISOString()})`.execute(trx);
        return true;
      });
      if (didRun) ran.push(name);
    } catch (error) {
      throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
    }
  }
  return ran;
}
