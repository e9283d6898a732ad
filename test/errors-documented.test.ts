// Every stable error code must be documented in docs/ERRORS.md, and every
// code documented there must exist: the catalogue and the code cannot drift.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BANK_ERROR_CODES } from '../src/bank/errors.ts';
import { CA_ERROR_CODES } from '../src/ca/errors.ts';
import { CLI_ERROR_CODES } from '../src/cli/errors.ts';
import { CRYPTO_ERROR_CODES } from '../src/crypto/errors.ts';
import { HTTP_ERROR_CODES } from '../src/http/errors.ts';
import { MERCHANT_ERROR_CODES } from '../src/merchant/errors.ts';
import { PAY_ERROR_CODES } from '../src/payment/errors.ts';
import { PROTOCOL_ERROR_CODES } from '../src/protocol/errors.ts';
import { WALLET_ERROR_CODES } from '../src/wallet/errors.ts';
import { WALLETD_ERROR_CODES } from '../src/wallet-daemon/errors.ts';

const ALL: readonly string[] = [...PROTOCOL_ERROR_CODES, ...HTTP_ERROR_CODES, ...CA_ERROR_CODES, ...BANK_ERROR_CODES, ...PAY_ERROR_CODES, ...MERCHANT_ERROR_CODES, ...CRYPTO_ERROR_CODES, ...CLI_ERROR_CODES, ...WALLET_ERROR_CODES, ...WALLETD_ERROR_CODES];
const doc = readFileSync(new URL('../docs/ERRORS.md', import.meta.url), 'utf8');

test('every error code is documented in docs/ERRORS.md', () => {
  const missing = ALL.filter((code) => !new RegExp(`\\|\\s*\`${code}\`\\s*\\|`).test(doc));
  assert.deepEqual(missing, []);
});

test('docs/ERRORS.md documents no code that does not exist', () => {
  const documented = [...doc.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!);
  const unknown = documented.filter((c) => !ALL.includes(c));
  assert.deepEqual(unknown, []);
});

test('error codes are unique across modules and carry their module prefix', () => {
  assert.equal(new Set(ALL).size, ALL.length);
  for (const c of PROTOCOL_ERROR_CODES) assert.match(c, /^PROTO_/);
  for (const c of HTTP_ERROR_CODES) assert.match(c, /^HTTP_/);
  for (const c of CA_ERROR_CODES) assert.match(c, /^CA_/);
  for (const c of BANK_ERROR_CODES) assert.match(c, /^BANK_/);
  for (const c of PAY_ERROR_CODES) assert.match(c, /^PAY_/);
  for (const c of MERCHANT_ERROR_CODES) assert.match(c, /^MERCHANT_/);
  for (const c of CRYPTO_ERROR_CODES) assert.match(c, /^CRYPTO_/);
  for (const c of CLI_ERROR_CODES) assert.match(c, /^CLI_/);
  for (const c of WALLET_ERROR_CODES) assert.match(c, /^WALLET_/);
  for (const c of WALLETD_ERROR_CODES) assert.match(c, /^WALLETD_/);
});
