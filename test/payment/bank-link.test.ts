// DIR/bank-link.json holds the bank holder token: reading a broken file must
// say where it is broken, never what it holds (V8's JSON.parse messages quote
// the text around the error).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { test } from 'node:test';
import { bankLinkPath, readBankLink, writeBankLink } from '../../src/payment/bank-link.ts';

const TOKEN = 'qbh_SeCrEtToKeN0123456789abcdef';

const BROKEN: [string, string, RegExp][] = [
  ['a token right at the start', `{"token":"${TOKEN}" "url":"http://bank.test"}`, /not valid JSON \(at position \d+\)/],
  ['an unexpected character after the token', `{"token":"${TOKEN}"x}`, /not valid JSON/],
  ['a file cut short', `{"url":"http://bank.test","token":"${TOKEN}`, /not valid JSON/],
  ['the token unquoted', `{"token":${TOKEN}}`, /not valid JSON/],
  ['only the token', TOKEN, /not valid JSON/],
];

for (const [what, text, expected] of BROKEN) {
  test(`a bank-link.json that is not JSON (${what}): the error says where, never the token`, async (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'quittance-bank-link-'));
    ctx.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(bankLinkPath(dir), text, { mode: 0o600 });
    const e = await readBankLink(dir).then(
      () => assert.fail('read a broken file'),
      (x: unknown) => x as Error,
    );
    assert.match(e.message, expected);
    assert.match(e.message, /run 'quittance payment link-bank' again/);
    // Not in the message, nor anywhere an error printer would look (cause, stack).
    for (const part of [TOKEN, 'SeCrEt', TOKEN.slice(-10)]) assert.ok(!inspect(e, { depth: 5 }).includes(part), inspect(e));
  });
}

test('a valid bank-link.json reads back what was written', async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'quittance-bank-link-'));
  ctx.after(() => rmSync(dir, { recursive: true, force: true }));
  const link = { url: 'http://bank.test', token: TOKEN, accounts: [{ currency: 'JPY', accountId: 'QB07277690082177' }] };
  await writeBankLink(dir, link);
  assert.deepEqual(await readBankLink(dir), link);
});
