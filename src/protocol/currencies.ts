// ISO 4217 currencies and their minor-unit exponents (the number of fraction
// digits an amount may carry). Only currencies in circulation are listed:
// fund codes, precious metals and testing codes (XAU, XTS, XXX…) have no minor
// unit and no business in a shop. An amount in a currency missing here is
// refused with PROTO_AMOUNT_CURRENCY_UNKNOWN rather than guessed at, because a
// wrong exponent silently multiplies a price by 10 or 1000.

const ZERO = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF';
const THREE = 'BHD IQD JOD KWD LYD OMR TND';
const FOUR = 'CLF UYW';
const TWO =
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD ' +
  'CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD ' +
  'GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD ' +
  'MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP ' +
  'PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS ' +
  'TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES VED WST XCD YER ZAR ZMW ZWG';

function table(): ReadonlyMap<string, number> {
  const m = new Map<string, number>();
  for (const [codes, digits] of [[ZERO, 0], [TWO, 2], [THREE, 3], [FOUR, 4]] as const) {
    for (const code of codes.split(' ')) m.set(code, digits);
  }
  return m;
}

// A Map, not an object literal: a lookup of "constructor" or "__proto__" must
// miss, not find Object.prototype.
const MINOR_DIGITS: ReadonlyMap<string, number> = table();

/** The ISO 4217 minor-unit exponent of `currency`, or undefined if we do not accept it. */
export function currencyDigits(currency: string): number | undefined {
  return MINOR_DIGITS.get(currency);
}

export function isKnownCurrency(currency: string): boolean {
  return MINOR_DIGITS.has(currency);
}

/** All accepted codes, sorted (for generators and documentation). */
export function knownCurrencies(): readonly string[] {
  return [...MINOR_DIGITS.keys()].sort();
}
