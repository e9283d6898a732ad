// Small helpers shared by tests of Result-returning code and of RSA arithmetic.
import assert from 'node:assert/strict';
import type { Result } from '../../src/protocol/result.ts';

/** The value of an ok Result; fails the test with the code and message otherwise. */
export function value<T>(r: Result<T, string>): T {
  if (!r.ok) assert.fail(`${r.code}: ${r.message}`);
  return r.value;
}

/** a⁻¹ mod m (extended Euclid), independent of the code under test. */
export function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [m, a % m, 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}
