// Money amounts (DESIGN §5). On the wire a string "EUR:12.50"; inside an
// integer count of the currency's minor unit as a bigint. No floating point
// ever touches money: 0.1 + 0.2 !== 0.3 is a refund that never balances.
//
// Upper bound: MAX_MINOR = 2^53 − 1 minor units. Every amount then fits
// exactly in a JavaScript number (a browser UI, JSON tooling of third-party
// auditors), in SQLite's INTEGER as node:sqlite returns it without bigint mode,
// and in PostgreSQL's bigint, so no layer can round it. It is still 90 trillion
// euros. Results of add/multiply/sum above it are refused with
// PROTO_AMOUNT_OVERFLOW instead of wrapping or losing precision downstream.
import { z } from 'zod';
import { currencyDigits } from './currencies.ts';
import { err, ok } from './result.ts';
import type { Result } from './result.ts';

export type Amount = { readonly currency: string; readonly minor: bigint };

export const MAX_MINOR: bigint = BigInt(Number.MAX_SAFE_INTEGER);

export type AmountParseCode =
  | 'PROTO_AMOUNT_MALFORMED'
  | 'PROTO_AMOUNT_CURRENCY_UNKNOWN'
  | 'PROTO_AMOUNT_TOO_MANY_DECIMALS'
  | 'PROTO_AMOUNT_OVERFLOW';

// CURRENCY ':' integer [ '.' fraction ]. No sign, exponent, '+', whitespace or
// leading zeros, and at least one digit on both sides of a '.', so each value
// has few spellings ("EUR:12.5" and "EUR:12.50"; never "EUR:012.5" or "EUR:12.").
const WIRE = /^([A-Z]{3}):(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

// Longest legal string: 3 + 1 + 16 integer digits + 1 + 4 fraction digits.
// Checked before the regex and BigInt so a megabyte of digits costs nothing.
const MAX_WIRE_LENGTH = 32;

function assertAmount(a: unknown, name: string): asserts a is Amount {
  if (
    typeof a !== 'object' || a === null ||
    typeof (a as Amount).currency !== 'string' || typeof (a as Amount).minor !== 'bigint' ||
    (a as Amount).minor < 0n || (a as Amount).minor > MAX_MINOR ||
    currencyDigits((a as Amount).currency) === undefined
  ) {
    throw new TypeError(`${name} must be an Amount { currency, minor } with a known currency and 0 <= minor <= MAX_MINOR`);
  }
}

/** Builds an amount from minor units, checking currency and range. */
export function makeAmount(
  currency: string,
  minor: bigint,
): Result<Amount, 'PROTO_AMOUNT_CURRENCY_UNKNOWN' | 'PROTO_AMOUNT_NEGATIVE' | 'PROTO_AMOUNT_OVERFLOW'> {
  if (typeof currency !== 'string') throw new TypeError('currency must be a string');
  if (typeof minor !== 'bigint') throw new TypeError('minor must be a bigint');
  if (currencyDigits(currency) === undefined) return err('PROTO_AMOUNT_CURRENCY_UNKNOWN', `unknown currency ${JSON.stringify(currency.slice(0, 8))}`);
  if (minor < 0n) return err('PROTO_AMOUNT_NEGATIVE', 'an amount cannot be negative');
  if (minor > MAX_MINOR) return err('PROTO_AMOUNT_OVERFLOW', 'amount exceeds the maximum of 2^53-1 minor units');
  return ok(Object.freeze({ currency, minor }));
}

export function zeroAmount(currency: string): Result<Amount, 'PROTO_AMOUNT_CURRENCY_UNKNOWN'> {
  const r = makeAmount(currency, 0n);
  return r.ok ? r : err('PROTO_AMOUNT_CURRENCY_UNKNOWN', r.message);
}

export function parseAmount(s: string): Result<Amount, AmountParseCode> {
  if (typeof s !== 'string') throw new TypeError('amount must be a string');
  if (s.length > MAX_WIRE_LENGTH) return err('PROTO_AMOUNT_MALFORMED', 'amount string too long');
  const m = WIRE.exec(s);
  if (!m) return err('PROTO_AMOUNT_MALFORMED', 'amount must look like "EUR:12.50" (CURRENCY:digits[.digits])');
  const currency = m[1]!;
  const whole = m[2]!;
  const fraction = m[3] ?? '';
  const digits = currencyDigits(currency);
  if (digits === undefined) return err('PROTO_AMOUNT_CURRENCY_UNKNOWN', `unknown currency ${currency}`);
  if (fraction.length > digits) {
    return err('PROTO_AMOUNT_TOO_MANY_DECIMALS', `${currency} has ${digits} fraction digit(s); got ${fraction.length}`);
  }
  const minor = BigInt(whole + fraction.padEnd(digits, '0'));
  if (minor > MAX_MINOR) return err('PROTO_AMOUNT_OVERFLOW', 'amount exceeds the maximum of 2^53-1 minor units');
  return ok(Object.freeze({ currency, minor }));
}

function splitDigits(a: Amount): { whole: string; fraction: string } {
  const digits = currencyDigits(a.currency)!;
  const text = a.minor.toString().padStart(digits + 1, '0');
  return { whole: text.slice(0, text.length - digits), fraction: text.slice(text.length - digits) };
}

/** The canonical wire form: always exactly the currency's fraction digits ("EUR:12.50", "JPY:4000"). */
export function formatAmount(a: Amount): string {
  assertAmount(a, 'amount');
  const { whole, fraction } = splitDigits(a);
  return fraction ? `${a.currency}:${whole}.${fraction}` : `${a.currency}:${whole}`;
}

/** For people, not for the wire: "4,000 JPY", "1,234.50 EUR". */
export function formatAmountForDisplay(a: Amount): string {
  assertAmount(a, 'amount');
  const { whole, fraction } = splitDigits(a);
  const grouped = whole.replace(/\B(?=(\d{3})+$)/g, ',');
  return fraction ? `${grouped}.${fraction} ${a.currency}` : `${grouped} ${a.currency}`;
}

function sameCurrency(a: Amount, b: Amount): Result<true, 'PROTO_AMOUNT_CURRENCY_MISMATCH'> {
  return a.currency === b.currency
    ? ok(true)
    : err('PROTO_AMOUNT_CURRENCY_MISMATCH', `cannot combine ${a.currency} with ${b.currency}`);
}

function bounded(currency: string, minor: bigint): Result<Amount, 'PROTO_AMOUNT_OVERFLOW'> {
  if (minor > MAX_MINOR) return err('PROTO_AMOUNT_OVERFLOW', 'result exceeds the maximum of 2^53-1 minor units');
  return ok(Object.freeze({ currency, minor }));
}

export function addAmounts(a: Amount, b: Amount): Result<Amount, 'PROTO_AMOUNT_CURRENCY_MISMATCH' | 'PROTO_AMOUNT_OVERFLOW'> {
  assertAmount(a, 'a');
  assertAmount(b, 'b');
  const same = sameCurrency(a, b);
  return same.ok ? bounded(a.currency, a.minor + b.minor) : same;
}

export function subtractAmounts(a: Amount, b: Amount): Result<Amount, 'PROTO_AMOUNT_CURRENCY_MISMATCH' | 'PROTO_AMOUNT_NEGATIVE'> {
  assertAmount(a, 'a');
  assertAmount(b, 'b');
  const same = sameCurrency(a, b);
  if (!same.ok) return same;
  if (b.minor > a.minor) return err('PROTO_AMOUNT_NEGATIVE', 'result would be negative');
  return ok(Object.freeze({ currency: a.currency, minor: a.minor - b.minor }));
}

/** a × quantity, for a line price. A negative or fractional quantity is a caller bug (schemas bound quantities). */
export function multiplyAmount(a: Amount, quantity: bigint | number): Result<Amount, 'PROTO_AMOUNT_OVERFLOW'> {
  assertAmount(a, 'a');
  if (typeof quantity === 'number' ? !Number.isSafeInteger(quantity) || quantity < 0 : typeof quantity !== 'bigint' || quantity < 0n) {
    throw new TypeError('quantity must be a non-negative safe integer or bigint');
  }
  return bounded(a.currency, a.minor * BigInt(quantity));
}

/** -1, 0 or 1; amounts in different currencies have no order. */
export function compareAmounts(a: Amount, b: Amount): Result<-1 | 0 | 1, 'PROTO_AMOUNT_CURRENCY_MISMATCH'> {
  assertAmount(a, 'a');
  assertAmount(b, 'b');
  const same = sameCurrency(a, b);
  if (!same.ok) return same;
  return ok(a.minor < b.minor ? -1 : a.minor > b.minor ? 1 : 0);
}

/** Sum of a list in `currency` (the currency is explicit so an empty list has one). */
export function sumAmounts(
  currency: string,
  amounts: readonly Amount[],
): Result<Amount, 'PROTO_AMOUNT_CURRENCY_UNKNOWN' | 'PROTO_AMOUNT_CURRENCY_MISMATCH' | 'PROTO_AMOUNT_OVERFLOW'> {
  if (!Array.isArray(amounts)) throw new TypeError('amounts must be an array');
  const zero = zeroAmount(currency);
  if (!zero.ok) return zero;
  let total = 0n;
  for (const [i, a] of amounts.entries()) {
    assertAmount(a, `amounts[${i}]`);
    if (a.currency !== currency) return err('PROTO_AMOUNT_CURRENCY_MISMATCH', `amounts[${i}] is in ${a.currency}, not ${currency}`);
    total += a.minor;
    // Checked at every step, not only at the end, so the bound holds for every partial sum.
    if (total > MAX_MINOR) return err('PROTO_AMOUNT_OVERFLOW', 'sum exceeds the maximum of 2^53-1 minor units');
  }
  return ok(Object.freeze({ currency, minor: total }));
}

/** A wire amount field: a string that parseAmount accepts. The value stays a string (it is what was signed). */
export const AmountString = z.string().superRefine((s, ctx) => {
  const r = parseAmount(s);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: `${r.code}: ${r.message}` });
});
export type AmountString = z.infer<typeof AmountString>;
