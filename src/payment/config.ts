// The payment server's configuration file (`DIR/payment.json`), parsed once at
// start-up with a schema: a bad value stops the process with the path of the bad field.
import { z } from 'zod';
import { AmountString, parseAmount } from '../protocol/amount.ts';
import { MAX_MODULUS_BITS, MIN_MODULUS_BITS } from '../protocol/rfc9474.ts';
import { isPowerOfTwo } from '../protocol/documents/denomination-keys.ts';

const DAY_MAX = 3650;

export const CurrencyConfig = z
  .strictObject({
    /** The largest denomination, e.g. "JPY:8192": every power of two from one minor unit up to it is issued. */
    maxValue: AmountString.refine((s) => {
      const a = parseAmount(s);
      return a.ok && isPowerOfTwo(a.value.minor) && a.value.minor <= 2n ** 52n;
    }, 'maxValue: a power of two in minor units, at most 2^52'),
  });
export type CurrencyConfig = z.infer<typeof CurrencyConfig>;

export const PaymentConfig = z
  .strictObject({
    /** The server's name for operators (documents carry the certificate's display name). */
    name: z.string().min(1).max(128),
    /** SHA-256 (hex) of each accepted operator token. Tokens themselves are never stored. */
    adminTokenHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(16),
    /** Database URL; a relative sqlite path is relative to the data directory. */
    db: z.string().min(1).default('sqlite:payment.sqlite'),
    currencies: z.array(CurrencyConfig).min(1).max(16),
    /** RSA modulus of new denomination keys (RFC 9474 keys of 2048 bits or more). */
    denominationKeyBits: z.number().int().min(MIN_MODULUS_BITS).max(MAX_MODULUS_BITS).multipleOf(8).default(2048),
    /** How long a key signs new coins. */
    withdrawDays: z.number().int().min(1).max(DAY_MAX).default(30),
    /** How long a key's coins are accepted, counted from validFrom (≥ withdrawDays). */
    depositDays: z.number().int().min(1).max(DAY_MAX).default(365),
    /** The next key is made this long before the current one stops signing, so wallets see it early. */
    rotationOverlapDays: z.number().int().min(0).max(DAY_MAX).default(7),
    /**
     * Salt (base64url, 16 bytes) of the PBKDF2 derivation of the key that wraps
     * the denomination private keys in the database (src/payment/key-wrap.ts).
     */
    keyWrapSalt: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'keyWrapSalt: 16 bytes, base64url'),
    /**
     * The CA's base URL: merchants' and purchasers' certificates at 150 are
     * checked against its CRL (fetched and cached, src/http/crl-source.ts).
     * Absent: no revocation check at the payment server (the wallet still checks the shop).
     */
    caUrl: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * `payment serve` pays every merchant's takings out to its bank account
     * at start and then every this many minutes (settlement.ts); 0: only on
     * demand (`quittance payment settle`, POST /v1/admin/settlements/run).
     */
    settleEveryMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
    /**
     * Notifications to merchants waiting in the outbox (notifications.ts) are
     * sent every this many seconds; 0: never (merchants then only ask).
     */
    notifyEverySeconds: z.number().int().min(0).max(3600).default(5),
  })
  .superRefine((c, ctx) => {
    if (c.depositDays < c.withdrawDays) ctx.addIssue({ code: 'custom', path: ['depositDays'], message: 'depositDays must be at least withdrawDays' });
    if (c.rotationOverlapDays >= c.withdrawDays) {
      ctx.addIssue({ code: 'custom', path: ['rotationOverlapDays'], message: 'rotationOverlapDays must be below withdrawDays' });
    }
    const seen = new Set<string>();
    for (const [i, cur] of c.currencies.entries()) {
      const a = parseAmount(cur.maxValue);
      if (!a.ok) continue;
      if (seen.has(a.value.currency)) ctx.addIssue({ code: 'custom', path: ['currencies', i, 'maxValue'], message: `${a.value.currency} configured twice` });
      seen.add(a.value.currency);
    }
  });
export type PaymentConfig = z.infer<typeof PaymentConfig>;

/** The denominations of one currency: 1, 2, 4, … up to its maxValue, in minor units. */
export function denominationsOf(c: CurrencyConfig): { currency: string; values: bigint[] } {
  const a = parseAmount(c.maxValue);
  if (!a.ok) throw new TypeError('maxValue: config let a bad amount through');
  const values: bigint[] = [];
  for (let v = 1n; v <= a.value.minor; v *= 2n) values.push(v);
  return { currency: a.value.currency, values };
}
