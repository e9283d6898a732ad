// Balances and limits may be negative (overdraft, the bank's issuance
// account); the protocol's amounts never are. These helpers write a signed
// balance as "-JPY:5000" and never go through a float.
import { formatAmount, MAX_MINOR } from '../protocol/amount.ts';

export function formatSigned(currency: string, minor: bigint): string {
  if (minor < -MAX_MINOR || minor > MAX_MINOR) throw new RangeError('balance beyond 2^53-1 minor units');
  return minor < 0n ? `-${formatAmount({ currency, minor: -minor })}` : formatAmount({ currency, minor });
}

/** sum()/count() come back as bigint, number or numeric string depending on the driver (src/store/index.ts). */
export function toBigInt(v: unknown): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' || typeof v === 'string') return BigInt(v);
  throw new TypeError(`expected an integer from the database, got ${typeof v}`);
}
