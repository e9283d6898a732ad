// Balances and limits may be negative (overdraft, the bank's issuance
// account); the protocol's amounts never are. These helpers write a signed
// balance as "-JPY:5000" and never go through a float.
import { formatAmount, MAX_MINOR } from '../protocol/amount.ts';

export function formatSigned(currency: string, minor: bigint): string {
  if (minor < -MAX_MINOR || minor > MAX_MINOR) throw new RangeError('balance beyond 2^53-1 minor units');
  return minor < 0n ? `-${formatAmount({ currency, minor: -minor })}` : formatAmount({ currency, minor });
}

/** Re-exported for the bank's modules; the helper belongs to the store (src/store/values.ts). */
export { toBigInt } from '../store/values.ts';
