// Kysely dialect for Node's built-in `node:sqlite`. better-sqlite3 would need a
// prebuilt binary fetched from GitHub at install time; node:sqlite ships with Node.
//
// Kysely's SqliteDriver expects a better-sqlite3-like database: `prepare(sql)`
// returning a statement with `reader`, and `all/run/iterate(params[])`.
// node:sqlite spreads its parameters and has `columns()` instead of `reader`.
//
// Value rule (see src/store/index.ts): integers are read as bigint and then
// narrowed by the column's DECLARED type, so a row reads the same on SQLite as on
// PostgreSQL: `bigint` → bigint, `boolean` → boolean, other declared types →
// number (throws rather than round a value beyond 2^53), and computed
// expressions (count, sum, a + 1) → bigint, never silently rounded.
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

type Kind = 'bigint' | 'boolean' | 'number' | 'expression';

function kindOf(declared: string | null): Kind {
  if (declared === null) return 'expression';
  if (/^\s*(bigint|int8)\b/i.test(declared)) return 'bigint';
  if (/^\s*bool(ean)?\s*$/i.test(declared)) return 'boolean';
  return 'number';
}

function narrow(name: string, kind: Kind, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  switch (kind) {
    case 'bigint':
    case 'expression':
      return value;
    case 'boolean':
      return value !== 0n;
    case 'number':
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        // Never round money: declare the column `bigint` if it can exceed 2^53.
        throw new RangeError(`column "${name}" holds an integer beyond 2^53; declare it bigint`);
      }
      return Number(value);
  }
}

function bind(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : (p as SQLInputValue)));
}

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean;
  readonly #stmt: StatementSync;
  readonly #kinds: Map<string, Kind>;

  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    const columns = stmt.columns();
    this.reader = columns.length > 0;
    // Later columns win, as they do in node:sqlite's row objects.
    this.#kinds = new Map(columns.map((c) => [c.name, kindOf(c.type)]));
    stmt.setReadBigInts(true);
  }

  #row(row: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(row)) out[name] = narrow(name, this.#kinds.get(name) ?? 'expression', value);
    return out;
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    return this.#stmt.all(...bind(parameters)).map((r) => this.#row(r));
  }

  run(parameters: ReadonlyArray<unknown>): { changes: number | bigint; lastInsertRowid: number | bigint } {
    const { changes, lastInsertRowid } = this.#stmt.run(...bind(parameters));
    return { changes, lastInsertRowid };
  }

  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    for (const row of this.#stmt.iterate(...bind(parameters))) yield this.#row(row);
  }
}

export function adaptNodeSqlite(db: DatabaseSync): SqliteDatabase {
  return {
    prepare: (sql) => new NodeSqliteStatement(db.prepare(sql)),
    close: () => db.close(),
  };
}

// BEGIN IMMEDIATE takes the write lock at the start, so two processes sharing the
// file cannot both read a balance and then both write it (the second would fail
// with SQLITE_BUSY at commit instead of waiting on busy_timeout).
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

// SQLite does run DDL inside transactions; telling Kysely so makes each migration
// all-or-nothing, as on PostgreSQL.
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export class NodeSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;

  constructor(db: DatabaseSync) {
    const database = adaptNodeSqlite(db);
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}
