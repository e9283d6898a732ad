// Splitting an amount into coins (src/wallet/withdraw.ts planCoins) and
// choosing the keys that sign now (withdrawableKeys).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { planCoins, withdrawableKeys } from '../../src/wallet/withdraw.ts';
import type { WalletDenominationTable } from '../../src/wallet/db.ts';

const POWERS = Array.from({ length: 14 }, (_, i) => 2n ** BigInt(i)); // 1 … 8192

test('10000 with powers of two up to 8192 is 8192+1024+512+256+16', () => {
  assert.deepEqual(planCoins(10_000n, POWERS), [8192n, 1024n, 512n, 256n, 16n]);
});

test('amounts above the largest denomination repeat it', () => {
  assert.deepEqual(planCoins(20_000n, POWERS), [8192n, 8192n, 2048n, 1024n, 512n, 32n]);
});

test('an amount the values cannot express exactly is undefined, never a wrong sum', () => {
  assert.equal(planCoins(3n, [2n]), undefined);
  assert.equal(planCoins(1n, []), undefined);
  assert.deepEqual(planCoins(0n, POWERS), []);
});

test('a plan of more coins than the limit is refused, not built', () => {
  assert.equal(planCoins(10n ** 15n, [1n]), undefined);
  assert.equal(planCoins(5n, [1n], 4), undefined);
  assert.deepEqual(planCoins(4n, [1n], 4), [1n, 1n, 1n, 1n]);
});

test('property: the coins add up to the amount and there are never two of a value below the largest', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 13 }), fc.bigInt({ min: 1n, max: 2n ** 40n }), (top, raw) => {
      const values = POWERS.slice(0, top + 1);
      const amount = 1n + (raw % (values[values.length - 1]! * 100n));
      const coins = planCoins(amount, values)!;
      assert.equal(coins.reduce((a, b) => a + b, 0n), amount);
      const largest = values[values.length - 1]!;
      const small = coins.filter((c) => c !== largest);
      assert.equal(new Set(small).size, small.length);
    }),
  );
});

function key(id: string, value: bigint, validFrom: string, withdrawUntil: string, currency = 'JPY'): WalletDenominationTable {
  return { denomination_id: id, payment_url: 'http://p/', payment_party_id: 'p', currency, value, public_key: 'x', valid_from: validFrom, withdraw_until: withdrawUntil, deposit_until: '2030-01-01T00:00:00Z', seen_at: validFrom };
}

test('withdrawableKeys takes the newest key per value whose withdraw window is open, in the currency asked', () => {
  const now = new Date('2026-02-01T00:00:00Z');
  const keys = [
    key('old', 1n, '2026-01-01T00:00:00Z', '2026-02-15T00:00:00Z'),
    key('new', 1n, '2026-01-25T00:00:00Z', '2026-03-01T00:00:00Z'),
    key('future', 1n, '2026-02-10T00:00:00Z', '2026-04-01T00:00:00Z'),
    key('closed', 2n, '2025-12-01T00:00:00Z', '2026-01-15T00:00:00Z'),
    key('eur', 4n, '2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z', 'EUR'),
  ];
  const got = withdrawableKeys(keys, 'JPY', now);
  assert.deepEqual([...got.entries()].map(([v, k]) => [v, k.denomination_id]), [[1n, 'new']]);
});
