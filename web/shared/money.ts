// Amounts travel as "CUR:units.fraction" strings ("JPY:4000", "EUR:12.50").
// Arithmetic is on integers of the minor unit (bigint), never floats; only the
// final display goes through Intl.NumberFormat, fed with a decimal string.

export type Money = { currency: string; minor: bigint; digits: number };

const AMOUNT = /^([A-Z]{3}):(\d{1,18})(?:\.(\d{1,8}))?$/;

/** The minor-unit digits of a currency, as Intl knows them (JPY 0, EUR 2, BHD 3). */
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function parseMoney(s: string): Money | null {
  const m = AMOUNT.exec(s);
  if (!m) return null;
  const currency = m[1]!;
  const digits = currencyDigits(currency);
  const frac = m[3] ?? '';
  if (frac.length > digits) return null;
  return { currency, digits, minor: BigInt(m[2]!) * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, '0') || '0') };
}

/** Back to the wire form, e.g. { EUR, 1250n } → "EUR:12.50". */
export function moneyString(m: Money): string {
  const neg = m.minor < 0n;
  const abs = neg ? -m.minor : m.minor;
  const scale = 10n ** BigInt(m.digits);
  const units = (abs / scale).toString();
  const frac = m.digits > 0 ? '.' + (abs % scale).toString().padStart(m.digits, '0') : '';
  return `${m.currency}:${neg ? '-' : ''}${units}${frac}`;
}

export function money(currency: string, minor: bigint): Money {
  return { currency, minor, digits: currencyDigits(currency) };
}

export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw new TypeError(`cannot add ${a.currency} and ${b.currency}`);
  return { ...a, minor: a.minor + b.minor };
}

export function timesMoney(a: Money, n: number): Money {
  if (!Number.isSafeInteger(n)) throw new TypeError('quantity: an integer expected');
  return { ...a, minor: a.minor * BigInt(n) };
}

/** "JPY:4000" → "¥4,000"; "EUR:12.50" → "€12.50" (in the page's language). Unparseable input is shown as it came. */
export function formatMoney(amount: string | Money, locale?: string): string {
  const m = typeof amount === 'string' ? parseMoney(amount) : amount;
  if (!m) return String(amount);
  const decimal = moneyString(m).slice(m.currency.length + 1);
  try {
    // A decimal string keeps every digit exact (Intl.NumberFormat accepts strings as exact decimals).
    return new Intl.NumberFormat(locale, { style: 'currency', currency: m.currency }).format(decimal as unknown as number);
  } catch {
    return `${m.currency} ${decimal}`;
  }
}
