import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  addAmounts,
  AmountString,
  compareAmounts,
  formatAmount,
  formatAmountForDisplay,
  makeAmount,
  MAX_MINOR,
  multiplyAmount,
  parseAmount,
  subtractAmounts,
  sumAmounts,
  zeroAmount,
} from '../../src/protocol/amount.ts';
import type { Amount } from '../../src/protocol/amount.ts';
import { currencyDigits, knownCurrencies } from '../../src/protocol/currencies.ts';

function amt(s: string): Amount {
  const r = parseAmount(s);
  if (!r.ok) assert.fail(`${s}: ${r.code}`);
  return r.value;
}

function code(r: { ok: boolean; code?: string }): string | undefined {
  return r.ok ? undefined : r.code;
}

void describe('parseAmount', () => {
  void test('accepts canonical and short fractions, in minor units', () => {
    assert.deepEqual(amt('JPY:4000'), { currency: 'JPY', minor: 4000n });
    assert.deepEqual(amt('EUR:12.50'), { currency: 'EUR', minor: 1250n });
    assert.deepEqual(amt('EUR:12.5'), { currency: 'EUR', minor: 1250n });
    assert.deepEqual(amt('EUR:12'), { currency: 'EUR', minor: 1200n });
    assert.deepEqual(amt('EUR:0'), { currency: 'EUR', minor: 0n });
    assert.deepEqual(amt('EUR:0.01'), { currency: 'EUR', minor: 1n });
    assert.deepEqual(amt('KWD:1.234'), { currency: 'KWD', minor: 1234n });
    assert.deepEqual(amt('CLF:1.2345'), { currency: 'CLF', minor: 12345n });
  });

  void test('refuses more fraction digits than ISO 4217 gives the currency', () => {
    assert.equal(code(parseAmount('JPY:1.0')), 'PROTO_AMOUNT_TOO_MANY_DECIMALS');
    assert.equal(code(parseAmount('EUR:1.234')), 'PROTO_AMOUNT_TOO_MANY_DECIMALS');
    assert.equal(code(parseAmount('EUR:1.500')), 'PROTO_AMOUNT_TOO_MANY_DECIMALS');
    assert.equal(code(parseAmount('BHD:1.2345')), 'PROTO_AMOUNT_TOO_MANY_DECIMALS');
  });

  void test('refuses every non-canonical spelling as malformed', () => {
    for (const s of [
      'EUR:.5', 'EUR:5.', 'eur:5', 'EUR: 5', ' EUR:5', 'EUR:5 ', 'EUR:-1', 'EUR:+1', 'EUR:1e3', 'EUR:1E3',
      'EUR:01', 'EUR:00', 'EUR:0x10', 'EUR:1,000', 'EUR:', 'EUR', ':5', 'EURO:5', 'EU:5', 'EUR:5:5',
      'EUR:١٢', 'EUR:Infinity', 'EUR:NaN', '', 'EUR:1_000',
    ]) {
      assert.equal(code(parseAmount(s)), 'PROTO_AMOUNT_MALFORMED', JSON.stringify(s));
    }
  });

  void test('unknown currencies are refused, prototype names included', () => {
    assert.equal(code(parseAmount('XXX:1')), 'PROTO_AMOUNT_CURRENCY_UNKNOWN');
    assert.equal(code(parseAmount('ABC:1')), 'PROTO_AMOUNT_CURRENCY_UNKNOWN');
    assert.equal(currencyDigits('constructor'), undefined);
    assert.equal(currencyDigits('__proto__'), undefined);
  });

  void test('huge values: the bound is exactly 2^53-1 minor units; longer strings are malformed before BigInt', () => {
    assert.equal(MAX_MINOR, 9007199254740991n);
    assert.deepEqual(amt('JPY:9007199254740991'), { currency: 'JPY', minor: MAX_MINOR });
    assert.deepEqual(amt('EUR:90071992547409.91'), { currency: 'EUR', minor: MAX_MINOR });
    assert.equal(code(parseAmount('JPY:9007199254740992')), 'PROTO_AMOUNT_OVERFLOW');
    assert.equal(code(parseAmount('EUR:90071992547409.92')), 'PROTO_AMOUNT_OVERFLOW');
    assert.equal(code(parseAmount('JPY:99999999999999999999')), 'PROTO_AMOUNT_OVERFLOW');
    assert.equal(code(parseAmount('JPY:' + '9'.repeat(1_000_000))), 'PROTO_AMOUNT_MALFORMED');
  });

  void test('a non-string argument is a TypeError', () => {
    assert.throws(() => parseAmount(5 as unknown as string), TypeError);
  });
});

void describe('formatting', () => {
  void test('wire form always has exactly the currency digits', () => {
    assert.equal(formatAmount(amt('EUR:12.5')), 'EUR:12.50');
    assert.equal(formatAmount(amt('EUR:0.05')), 'EUR:0.05');
    assert.equal(formatAmount(amt('EUR:0')), 'EUR:0.00');
    assert.equal(formatAmount(amt('JPY:4000')), 'JPY:4000');
    assert.equal(formatAmount(amt('KWD:1.2')), 'KWD:1.200');
  });

  void test('display form groups thousands', () => {
    assert.equal(formatAmountForDisplay(amt('JPY:4000')), '4,000 JPY');
    assert.equal(formatAmountForDisplay(amt('EUR:12.50')), '12.50 EUR');
    assert.equal(formatAmountForDisplay(amt('EUR:1234567.8')), '1,234,567.80 EUR');
    assert.equal(formatAmountForDisplay(amt('JPY:100')), '100 JPY');
    assert.equal(formatAmountForDisplay(amt('JPY:9007199254740991')), '9,007,199,254,740,991 JPY');
  });

  void test('a forged Amount object is a TypeError, not a string', () => {
    for (const bad of [{ currency: 'EUR', minor: -1n }, { currency: 'EUR', minor: 1 }, { currency: 'ZZZ', minor: 1n }, { currency: 'EUR', minor: MAX_MINOR + 1n }, null]) {
      assert.throws(() => formatAmount(bad as unknown as Amount), TypeError);
    }
  });

  void test('round trip: parse(format(x)) equals x for every currency and value', () => {
    const currencies = knownCurrencies();
    fc.assert(
      fc.property(fc.constantFrom(...currencies), fc.bigInt({ min: 0n, max: MAX_MINOR }), (currency, minor) => {
        const a = makeAmount(currency, minor);
        assert.ok(a.ok);
        const text = formatAmount(a.value);
        assert.deepEqual(parseAmount(text), { ok: true, value: a.value });
        // and format is canonical: format(parse(s)) is a fixed point
        assert.equal(formatAmount(amt(text)), text);
      }),
      { numRuns: 1000 },
    );
  });
});

void describe('arithmetic', () => {
  void test('add, subtract, multiply, compare', () => {
    assert.deepEqual(addAmounts(amt('EUR:0.10'), amt('EUR:0.20')), { ok: true, value: amt('EUR:0.30') });
    assert.deepEqual(subtractAmounts(amt('EUR:1'), amt('EUR:0.01')), { ok: true, value: amt('EUR:0.99') });
    assert.deepEqual(subtractAmounts(amt('EUR:1'), amt('EUR:1')), { ok: true, value: amt('EUR:0') });
    assert.deepEqual(multiplyAmount(amt('JPY:1500'), 2), { ok: true, value: amt('JPY:3000') });
    assert.deepEqual(multiplyAmount(amt('JPY:1500'), 0n), { ok: true, value: amt('JPY:0') });
    assert.deepEqual(compareAmounts(amt('EUR:1'), amt('EUR:0.99')), { ok: true, value: 1 });
    assert.deepEqual(compareAmounts(amt('EUR:1'), amt('EUR:1.00')), { ok: true, value: 0 });
    assert.deepEqual(compareAmounts(amt('EUR:0.99'), amt('EUR:1')), { ok: true, value: -1 });
  });

  void test('negative results are refused', () => {
    assert.equal(code(subtractAmounts(amt('EUR:1'), amt('EUR:1.01'))), 'PROTO_AMOUNT_NEGATIVE');
    assert.equal(code(makeAmount('EUR', -1n)), 'PROTO_AMOUNT_NEGATIVE');
  });

  void test('currency mismatch is refused by every operation', () => {
    const e = amt('EUR:1');
    const u = amt('USD:1');
    assert.equal(code(addAmounts(e, u)), 'PROTO_AMOUNT_CURRENCY_MISMATCH');
    assert.equal(code(subtractAmounts(e, u)), 'PROTO_AMOUNT_CURRENCY_MISMATCH');
    assert.equal(code(compareAmounts(e, u)), 'PROTO_AMOUNT_CURRENCY_MISMATCH');
    assert.equal(code(sumAmounts('EUR', [e, u])), 'PROTO_AMOUNT_CURRENCY_MISMATCH');
    assert.equal(code(sumAmounts('USD', [e])), 'PROTO_AMOUNT_CURRENCY_MISMATCH');
  });

  void test('overflow on add, multiply and sum; the bound itself is fine', () => {
    const max = amt('JPY:9007199254740991');
    assert.deepEqual(addAmounts(max, amt('JPY:0')), { ok: true, value: max });
    assert.equal(code(addAmounts(max, amt('JPY:1'))), 'PROTO_AMOUNT_OVERFLOW');
    assert.deepEqual(multiplyAmount(max, 1), { ok: true, value: max });
    assert.equal(code(multiplyAmount(max, 2)), 'PROTO_AMOUNT_OVERFLOW');
    assert.equal(code(multiplyAmount(amt('EUR:100000000'), 1_000_000)), 'PROTO_AMOUNT_OVERFLOW');
    assert.equal(code(multiplyAmount(amt('JPY:1'), 2n ** 64n)), 'PROTO_AMOUNT_OVERFLOW');
    assert.equal(code(sumAmounts('JPY', [max, amt('JPY:1')])), 'PROTO_AMOUNT_OVERFLOW');
    assert.equal(code(makeAmount('JPY', MAX_MINOR + 1n)), 'PROTO_AMOUNT_OVERFLOW');
  });

  void test('sum of a list, empty included', () => {
    assert.deepEqual(sumAmounts('EUR', []), { ok: true, value: amt('EUR:0') });
    assert.deepEqual(sumAmounts('EUR', [amt('EUR:0.10'), amt('EUR:0.20'), amt('EUR:12.5')]), { ok: true, value: amt('EUR:12.80') });
    assert.equal(code(sumAmounts('ZZZ', [])), 'PROTO_AMOUNT_CURRENCY_UNKNOWN');
    assert.equal(code(zeroAmount('ZZZ')), 'PROTO_AMOUNT_CURRENCY_UNKNOWN');
  });

  void test('a bad quantity is a caller bug: TypeError', () => {
    for (const q of [-1, 1.5, Number.NaN, 2 ** 53, -1n, '2']) {
      assert.throws(() => multiplyAmount(amt('EUR:1'), q as number), TypeError, String(q));
    }
  });

  void test('results are frozen, inputs unchanged', () => {
    const a = amt('EUR:1');
    const r = addAmounts(a, a);
    assert.ok(r.ok && Object.isFrozen(r.value));
    assert.deepEqual(a, { currency: 'EUR', minor: 100n });
  });

  void test('property: add then subtract gives back the first amount', () => {
    const half = MAX_MINOR / 2n;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: half }), fc.bigInt({ min: 0n, max: half }), (x, y) => {
        const a = { currency: 'EUR', minor: x };
        const b = { currency: 'EUR', minor: y };
        const s = addAmounts(a, b);
        assert.ok(s.ok);
        assert.deepEqual(subtractAmounts(s.value, b), { ok: true, value: a });
      }),
    );
  });
});

void describe('AmountString schema', () => {
  void test('accepts what parseAmount accepts and keeps the string', () => {
    assert.equal(AmountString.parse('EUR:12.5'), 'EUR:12.5');
  });

  void test('rejects with the amount code in the message', () => {
    const r = AmountString.safeParse('JPY:1.0');
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /PROTO_AMOUNT_TOO_MANY_DECIMALS/);
    assert.equal(AmountString.safeParse(12.5).success, false);
  });
});
