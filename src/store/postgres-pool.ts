// A pg Pool configured per store, never through pg's global type registry: two
// stores in one process (tests, the demo) must not change each other's parsing.
import pg from 'pg';

const INT8_OID = 20;

// int8 arrives as text; BigInt keeps money exact beyond 2^53 (see index.ts).
const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
  oid === INT8_OID && format !== 'binary' ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser;

export function createPgPool(url: string, opts: { schema?: string; maxConnections?: number }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.maxConnections ?? 10,
    types: { getTypeParser },
    // Set at connection start-up, so every pooled connection (including ones
    // opened later) sees only this schema. The name is checked as a plain
    // identifier by the caller, so it needs no quoting here.
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, it
  // would crash the process. The next query will fail and be reported by its caller.
  pool.on('error', (e: Error & { code?: string }) => {
    process.stderr.write(`postgres: idle connection error ${e.code ?? ''} ${e.message}\n`);
  });
  return pool;
}
