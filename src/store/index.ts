// Storage layer: Kysely over SQLite (node:sqlite, embedded default) or
// PostgreSQL (pg), chosen by URL at start-up (DESIGN §6).
//
// VALUE RULE — domain code reads the same JS types on both dialects:
// - Money is INTEGER minor units in a column declared `bigint` and is a JS
//   `bigint` in and out (pg: int8 parsed with BigInt on this store's pool only;
//   SQLite: integers read as bigint, kept for columns declared bigint/int8).
// - Columns declared `integer` (or any other non-bigint type) read as `number`.
//   On SQLite a value beyond 2^53 in such a column throws instead of rounding.
// - Columns declared `boolean` read as true/false (SQLite stores 0/1).
// - Text is text; times are RFC 3339 UTC strings in text columns (sortable,
//   identical on both); bytes are Uint8Array (pg gives a Buffer, a subclass).
// - Computed values differ by driver: count(*) is bigint on both, but max() of
//   an integer column is number on pg and bigint on SQLite, and sum() of a bigint
//   column is a numeric string on pg. Cast in SQL (`cast(sum(x) as bigint)`) and
//   normalise in code with Number(...) or BigInt(...), which accept all three.
// - Never bind a JS number for money; never declare money `integer` (int4 on pg).
export { openDatabase, type Dialect, type OpenOptions, type Store } from './open-database.ts';
export { migrate, type Migration, type MigrateOptions } from './migrate.ts';
export { withRetry, type RetryOptions } from './with-retry.ts';
export { isUniqueViolation, isRetryableConflict } from './db-errors.ts';
export { toBigInt } from './values.ts';
