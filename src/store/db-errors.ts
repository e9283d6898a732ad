// Recognise the few database errors domain code acts on, for both drivers,
// without a driver type appearing in a domain signature (STYLE "Storage").

function field(e: unknown, name: string): unknown {
  return typeof e === 'object' && e !== null ? (e as Record<string, unknown>)[name] : undefined;
}

// SQLite extended result codes (https://sqlite.org/rescode.html).
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/**
 * A UNIQUE or PRIMARY KEY constraint refused the write: services use this to
 * turn "already done" into an idempotent answer (DESIGN §6).
 * PostgreSQL SQLSTATE 23505; SQLite SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY.
 */
export function isUniqueViolation(e: unknown): boolean {
  if (field(e, 'code') === '23505') return true;
  const errcode = field(e, 'errcode');
  if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) return true;
  const message = field(e, 'message');
  return field(e, 'code') === 'ERR_SQLITE_ERROR' && typeof message === 'string' && message.startsWith('UNIQUE constraint failed');
}

/**
 * The transaction lost a race and may succeed if run again: PostgreSQL
 * serialization failure (40001) or deadlock (40P01); SQLite busy or locked.
 */
export function isRetryableConflict(e: unknown): boolean {
  const code = field(e, 'code');
  if (code === '40001' || code === '40P01') return true;
  const errcode = field(e, 'errcode');
  if (typeof errcode === 'number') {
    const primary = errcode & 0xff;
    return primary === SQLITE_BUSY || primary === SQLITE_LOCKED;
  }
  return false;
}
