// Field schemas shared by the signed documents. Every string is bounded and
// every format has one spelling, so a document has one canonical form and one
// hash: a field that accepted "2024-01-01T00:00:00+00:00" and "...Z" alike would
// let the same fact be signed under two hashes.
import { z } from 'zod';
import { AmountString, multiplyAmount, parseAmount, sumAmounts } from '../amount.ts';
import type { Amount } from '../amount.ts';
import { DisplayName, PartyId } from '../identity.ts';

// Control characters and bidi overrides/isolates (the "Trojan Source" trick)
// make a trusted display show something other than what was signed.
const UNDISPLAYABLE = /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u;

/** Bounded human text: displayable as signed, well-formed Unicode. */
export const Text = (max: number) =>
  z.string().min(1).max(max).refine((s) => s.isWellFormed() && !UNDISPLAYABLE.test(s), 'text: no control or bidi-override characters, no lone surrogates');

// RFC 3339 §5.6 date-time restricted to UTC "Z" and at most millisecond
// fractions (what Date#toISOString writes, and what a Date can compare).
const RFC3339_UTC = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d{1,3})?Z$/;

/** Milliseconds since the epoch of an Rfc3339Utc string, or undefined if it is not one. */
export function rfc3339UtcToMillis(s: string): number | undefined {
  if (typeof s !== 'string') return undefined;
  const m = RFC3339_UTC.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(s);
  // Date.parse rolls "02-30" over to March; the round trip catches impossible dates.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== m[1]) return undefined;
  return ms;
}

export const Rfc3339Utc = z
  .string()
  .refine((s) => s.length <= 24 && rfc3339UtcToMillis(s) !== undefined, 'time: RFC 3339 UTC like 2024-05-01T12:00:00Z (at most 3 fraction digits)');

// 43 base64url characters = 258 bits for 256; the last character's two low bits
// must be zero (RFC 4648 §3.5 canonical encoding), hence its restricted set.
export const Sha256B64u = z.string().regex(/^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/, 'hash: SHA-256, base64url without padding (43 chars)');

/** A fresh random value, base64url, at least 128 bits. */
export const Nonce = z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'nonce: 22-128 base64url characters');

/** Ids chosen by a party (transaction, permit, request, article): short, printable, no spaces. */
export const ShortId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'id: 1-64 of [A-Za-z0-9._:-], starting alphanumeric');

/** A certified party id, or the RFC 7638 thumbprint of an anonymous per-order key (DESIGN §2). */
export const PurchaserId = z.union([PartyId, Sha256B64u]);

export const PaymentMode = z.enum(['ecash', 'account', 'card']);
export type PaymentMode = z.infer<typeof PaymentMode>;

export const PartyRef = z.strictObject({ id: PartyId, name: DisplayName });
export type PartyRef = z.infer<typeof PartyRef>;

/**
 * An http(s) URL in the exact form the WHATWG URL parser writes it back
 * (new URL(s).href === s), without user info (the "https://bank.example@evil.example"
 * display trick) and without fragment. One spelling, so comparing it with a
 * certificate or a stored address is a string comparison.
 */
export const HttpUrl = z.string().max(2048).superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'url: not a URL' });
    return;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'url: http or https only' });
  else if (u.username || u.password || u.hash) ctx.addIssue({ code: 'custom', message: 'url: no user info or fragment' });
  else if (u.href !== s) ctx.addIssue({ code: 'custom', message: `url: not in canonical form, expected ${u.href}` });
});

export const Quantity = z.number().int().min(1).max(1_000_000);

export const MAX_LINES = 100;

/** One line of an order, invoice or repayment request (figs. 12, 14, 24). */
export const Line = z.strictObject({
  article: ShortId,
  /** The article name as shown to the shopper. */
  name: Text(200),
  quantity: Quantity,
  unitPrice: AmountString,
});
export type Line = z.infer<typeof Line>;

export const Lines = z.array(Line).min(1).max(MAX_LINES);

/**
 * A JWS in the general JSON serialization (RFC 7515 §7.2.1), carried inside a
 * document. Only protected headers: an unprotected header is not signed, so
 * anything in it could be changed by whoever relays the document.
 */
const B64u = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, 'base64url');
export const JwsGeneral = z.strictObject({
  payload: B64u(65_536),
  signatures: z.array(z.strictObject({ protected: B64u(32_768), signature: B64u(1_024) })).min(1).max(4),
});
export type JwsGeneral = z.infer<typeof JwsGeneral>;

type Ctx = z.core.$RefinementCtx;

/**
 * Cross-field rule: all lines are in the currency of `total`, and `total` equals
 * the sum of quantity × unitPrice. zod runs refinements even when a field
 * failed, with the raw input, so this skips unless the fields it reads are
 * valid (their own issues are reported at their own paths).
 */
export function checkLinesTotal(ctx: Ctx, lines: readonly Line[] | undefined, total: string, totalKey: string): void {
  if (lines === undefined || !Lines.safeParse(lines).success || typeof total !== 'string') return;
  const t = parseAmount(total);
  if (!t.ok) return;
  const priced: Amount[] = [];
  for (const [i, line] of lines.entries()) {
    const p = parseAmount(line.unitPrice);
    if (!p.ok) return;
    if (p.value.currency !== t.value.currency) {
      ctx.addIssue({ code: 'custom', path: ['lines', i, 'unitPrice'], message: `currency ${p.value.currency} differs from ${totalKey} (${t.value.currency})` });
      return;
    }
    const lineTotal = multiplyAmount(p.value, line.quantity);
    if (!lineTotal.ok) {
      ctx.addIssue({ code: 'custom', path: ['lines', i], message: lineTotal.code });
      return;
    }
    priced.push(lineTotal.value);
  }
  const sum = sumAmounts(t.value.currency, priced);
  if (!sum.ok) ctx.addIssue({ code: 'custom', path: ['lines'], message: sum.code });
  else if (sum.value.minor !== t.value.minor) ctx.addIssue({ code: 'custom', path: [totalKey], message: `${totalKey} differs from the sum of the lines` });
}

/** Cross-field rule: `later` is strictly after `earlier` (or not before it, when `allowEqual`). */
export function checkTimeOrder(ctx: Ctx, earlier: string, later: string, laterKey: string, earlierKey: string, allowEqual = false): void {
  const a = rfc3339UtcToMillis(earlier);
  const b = rfc3339UtcToMillis(later);
  if (a === undefined || b === undefined) return;
  if (allowEqual ? b < a : b <= a) {
    ctx.addIssue({ code: 'custom', path: [laterKey], message: `${laterKey} must be ${allowEqual ? 'at or ' : ''}after ${earlierKey}` });
  }
}
