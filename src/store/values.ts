// Normalising computed values (see the VALUE RULE in index.ts): sum() and
// max() come back as bigint, number or numeric string depending on the driver.

/** An aggregate as bigint (null, as from sum() over no rows, is 0). */
export function toBigInt(v: unknown): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  throw new TypeError(`expected an integer from the database, got ${typeof v}`);
}
