// One entry point picks the dialect from a URL at start-up (STYLE "Storage"); a
// bad URL is an operator error and stops the process with a message saying what
// is accepted.
import { DatabaseSync } from 'node:sqlite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { NodeSqliteDialect } from './node-sqlite-dialect.ts';
import { createPgPool } from './postgres-pool.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Store<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** PostgreSQL only: the schema every pooled connection uses (created if missing). */
  schema?: string;
  /** PostgreSQL only: pool size (default 10). */
  maxConnections?: number;
}

const ACCEPTED = 'accepted forms: "sqlite:PATH", "sqlite::memory:", "postgres://…" or "postgresql://…"';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

// What migrate() needs to know about a Kysely instance it did not create.
const registry = new WeakMap<Kysely<unknown>, { dialect: Dialect; schema: string | undefined }>();

export function storeInfo<DB>(db: Kysely<DB>): { dialect: Dialect; schema: string | undefined } {
  const info = registry.get(db as Kysely<unknown>);
  if (info === undefined) throw new TypeError('db: expected a Kysely instance returned by openDatabase()');
  return info;
}

export function assertIdentifier(name: string, what: string): void {
  if (!IDENTIFIER.test(name)) {
    throw new TypeError(`${what}: "${name}" is not a plain lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters)`);
  }
}

export async function openDatabase<DB>(url: string, opts: OpenOptions = {}): Promise<Store<DB>> {
  if (typeof url !== 'string') throw new TypeError('url: expected a string');
  if (url.startsWith('sqlite:')) {
    if (opts.schema !== undefined) throw new Error('database: the schema option is for PostgreSQL only');
    return openSqlite<DB>(url.slice('sqlite:'.length));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres<DB>(url, opts);
  // The URL may carry a password: name only its scheme.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? '(none)';
  throw new Error(`database URL with scheme ${scheme} is not supported; ${ACCEPTED}`);
}

function openSqlite<DB>(path: string): Store<DB> {
  if (path === '' || path.startsWith('//')) {
    throw new Error(`database URL "sqlite:${path}" has no usable path; ${ACCEPTED} (PATH is a file path, relative or absolute)`);
  }
  const memory = path === ':memory:';
  const raw = new DatabaseSync(path);
  try {
    if (!memory) {
      const mode = raw.prepare('pragma journal_mode = wal').get();
      if (mode?.journal_mode !== 'wal') throw new Error(`sqlite: could not enable WAL on ${path}`);
    }
    // FULL: a committed payment survives a power cut, not only a process crash (DESIGN §6).
    raw.exec('pragma synchronous = full; pragma foreign_keys = on; pragma busy_timeout = 5000;');
  } catch (e) {
    raw.close();
    throw e;
  }
  const db = new Kysely<DB>({ dialect: new NodeSqliteDialect(raw) });
  registry.set(db as Kysely<unknown>, { dialect: 'sqlite', schema: undefined });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

async function openPostgres<DB>(url: string, opts: OpenOptions): Promise<Store<DB>> {
  if (opts.schema !== undefined) assertIdentifier(opts.schema, 'schema');
  const pool = createPgPool(url, opts);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  let schema: string;
  try {
    // Fail at start-up, not on the first request, when the database is unreachable.
    // Look before creating: a service whose role may not CREATE still starts
    // when the operator made its schema beforehand.
    if (opts.schema !== undefined) {
      const found = await sql<{ n: string }>`select nspname as n from pg_namespace where nspname = ${opts.schema}`.execute(db);
      if (found.rows.length === 0) await sql`create schema if not exists ${sql.id(opts.schema)}`.execute(db);
    }
    const row = await sql<{ s: string | null }>`select current_schema() as s`.execute(db);
    const current = row.rows[0]?.s ?? null;
    if (current === null) throw new Error('postgres: no current schema (is search_path empty?)');
    schema = current;
  } catch (e) {
    await db.destroy();
    throw e;
  }
  registry.set(db as Kysely<unknown>, { dialect: 'postgres', schema });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}
