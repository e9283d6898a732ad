// Migrations are ordered modules, up only: a service passes its own list
// (e.g. { '0001-init': await import('./migrations/0001-init.ts') }).
// Each service keeps its own bookkeeping table, so several services can share
// one PostgreSQL database or schema without reading each other's history.
import type { Kysely } from 'kysely';
import { Migrator, type Migration as KyselyMigration, type MigrationProvider } from 'kysely/migration';
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
  const info = storeInfo(db);
  const provider: MigrationProvider = {
    getMigrations: async () => ({ ...migrations }) as Record<string, KyselyMigration>,
  };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: opts.table,
    migrationLockTableName: `${opts.table}_lock`,
    // On PostgreSQL Kysely looks for its table in every schema unless told which
    // one; without this a service in schema B would see schema A's table.
    ...(info.schema !== undefined ? { migrationTableSchema: info.schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /previously executed migration (\S+) is missing/.exec(message)?.[1];
    if (unknown !== undefined) {
      throw new Error(
        `database records migration ${unknown} in ${opts.table}, which this code does not know: ` +
          'it was migrated by a newer version; refusing to start',
        { cause: error },
      );
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '(setup)'} failed: ${message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
