// The daemon's codes and docs/ERRORS.md agree, status column included: every
// WALLETD_ code is documented with the status the daemon answers, and the page
// documents none that does not exist.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { statusOf, WALLETD_ERROR_CODES, WALLETD_STATUS } from '../../src/wallet-daemon/errors.ts';

const doc = readFileSync(new URL('../../docs/ERRORS.md', import.meta.url), 'utf8');

test('every WALLETD_ code is documented with its HTTP status, and no other', () => {
  const rows = new Map([...doc.matchAll(/^\|\s*`(WALLETD_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual([...rows.keys()].sort(), [...WALLETD_ERROR_CODES].sort());
  for (const c of WALLETD_ERROR_CODES) assert.equal(rows.get(c), WALLETD_STATUS[c], c);
});

test("other parties' codes and failed checks on their documents are 502; the wallet's own keep theirs", () => {
  assert.equal(statusOf('PAY_PERMIT_EXPIRED'), 502);
  assert.equal(statusOf('PROTO_CERT_REVOKED'), 502);
  assert.equal(statusOf('WALLET_PURCHASE_NOT_FOUND'), 404);
  assert.equal(statusOf('WALLET_REFUND_TOO_MUCH'), 422);
  assert.equal(statusOf('WALLETD_SESSION_NOT_WAITING'), 409);
});
