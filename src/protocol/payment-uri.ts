// The payment URI a shop hands to the shopper's wallet ("Pay with Quittance"):
//
//   quittance://pay?shop=<percent-encoded shop base URL>&offer=<offerId>
//       an offer the shop's backend created (POST /v1/shop/orders): lines and
//       prices are the shop's; the wallet reads them from GET /v1/offers/:offerId
//   quittance://pay?shop=<url>&items=<article>:<qty>,<article>:<qty>
//       a storefront cart of catalogue articles (stateless: priced from the catalogue)
//
// Exactly one of `offer` and `items`. The URI is unsigned and changes nothing
// the wallet checks: the shop's identity still comes from its certified hello
// (120) and the price from the invoice it signs (140), so a tampered URI can at
// worst send the shopper to another certified shop, whose name the wallet shows.
import { z } from 'zod';
import { MAX_LINES, ShortId } from './documents/fields.ts';
import { err, ok, type Result } from './result.ts';

export const PAYMENT_URI_INVALID = 'PROTO_PAYMENT_URI_INVALID';
export type PaymentUriErrorCode = typeof PAYMENT_URI_INVALID;

/** Longest URI accepted: 100 items of 64-character ids fit, a megabyte does not. */
export const MAX_PAYMENT_URI_LENGTH = 8192;

/**
 * The shop's base URL: http(s), no user info (the "https://shop.example@evil.example"
 * display trick), no query or fragment; one spelling (the WHATWG parser's own),
 * so the URL the wallet shows is the URL it calls.
 */
export const ShopBaseUrl = z.string().max(2048).superRefine((s, ctx) => {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'shop: not a URL' });
    return;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') ctx.addIssue({ code: 'custom', message: 'shop: http or https only' });
  else if (u.username || u.password || u.hash || u.search) ctx.addIssue({ code: 'custom', message: 'shop: no user info, query or fragment' });
  else if (u.href !== s) ctx.addIssue({ code: 'custom', message: `shop: not in canonical form, expected ${u.href}` });
});

export const PaymentUriItem = z.strictObject({ article: ShortId, quantity: z.number().int().min(1).max(1_000_000) });
export type PaymentUriItem = z.infer<typeof PaymentUriItem>;

export const PaymentUri = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('offer'), shop: ShopBaseUrl, offerId: ShortId }),
  z.strictObject({ kind: z.literal('items'), shop: ShopBaseUrl, items: z.array(PaymentUriItem).min(1).max(MAX_LINES) }),
]);
export type PaymentUri = z.infer<typeof PaymentUri>;

const PREFIX = /^quittance:\/\/pay\/?\?/i;
const QUANTITY = /^[1-9][0-9]{0,6}$/;

function invalid(message: string): Result<never, PaymentUriErrorCode> {
  return err(PAYMENT_URI_INVALID, `not a Quittance payment URI: ${message}`);
}

function decode(s: string): string | undefined {
  // '+' means a space only in HTML forms; no field here may hold one, so refuse it rather than guess.
  if (s.includes('+')) return undefined;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** `article:qty` pairs; the quantity follows the LAST colon, since an article id may itself contain colons. */
function parseItems(raw: string): Result<PaymentUriItem[], PaymentUriErrorCode> {
  const items: PaymentUriItem[] = [];
  for (const part of raw.split(',')) {
    const at = part.lastIndexOf(':');
    const article = part.slice(0, at);
    const qty = part.slice(at + 1);
    if (at <= 0 || !QUANTITY.test(qty)) return invalid(`items: each item is ARTICLE:QUANTITY, got ${JSON.stringify(part.slice(0, 80))}`);
    items.push({ article, quantity: Number(qty) });
  }
  return ok(items);
}

/**
 * Parses a payment URI. Unknown or repeated parameters, both or neither of
 * offer and items, a shop URL that is not http(s), and malformed items are
 * refused with PROTO_PAYMENT_URI_INVALID.
 */
export function parsePaymentUri(text: string): Result<PaymentUri, PaymentUriErrorCode> {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  if (text.length > MAX_PAYMENT_URI_LENGTH) return invalid(`longer than ${MAX_PAYMENT_URI_LENGTH} characters`);
  const prefix = PREFIX.exec(text);
  if (!prefix) return invalid('it must start with quittance://pay?');
  const query = text.slice(prefix[0].length);
  if (query.includes('#')) return invalid('no fragment');
  const params = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (name !== 'shop' && name !== 'offer' && name !== 'items') return invalid(`unknown parameter ${JSON.stringify(name.slice(0, 40))}`);
    if (params.has(name)) return invalid(`parameter ${name} given twice`);
    const value = eq < 0 ? undefined : decode(pair.slice(eq + 1));
    if (value === undefined || value === '') return invalid(`parameter ${name} has no valid value`);
    params.set(name, value);
  }
  const shop = params.get('shop');
  if (shop === undefined) return invalid('the shop parameter is missing');
  const offer = params.get('offer');
  const rawItems = params.get('items');
  if ((offer === undefined) === (rawItems === undefined)) return invalid('exactly one of offer and items');
  // The shop URL in its one spelling: "https://shop.example" becomes "https://shop.example/".
  let shopUrl = shop;
  if (URL.canParse(shop)) shopUrl = new URL(shop).href;
  let candidate: unknown;
  if (offer !== undefined) candidate = { kind: 'offer', shop: shopUrl, offerId: offer };
  else {
    const items = parseItems(rawItems!);
    if (!items.ok) return items;
    candidate = { kind: 'items', shop: shopUrl, items: items.value };
  }
  const parsed = PaymentUri.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return err(PAYMENT_URI_INVALID, `not a Quittance payment URI: ${issue.path.join('.') || '(uri)'}: ${issue.message}`, parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
  }
  return ok(parsed.data);
}

/** Writes a payment URI; throws a TypeError when `uri` is not a valid PaymentUri (a bug of the caller). */
export function formatPaymentUri(uri: PaymentUri): string {
  const parsed = PaymentUri.safeParse(uri);
  if (!parsed.success) throw new TypeError(`uri is not a valid payment URI: ${parsed.error.issues[0]?.message ?? ''}`);
  const u = parsed.data;
  const shop = `shop=${encodeURIComponent(u.shop)}`;
  if (u.kind === 'offer') return `quittance://pay?${shop}&offer=${encodeURIComponent(u.offerId)}`;
  // ShortId characters need no escaping except ':' — kept literal, since the item syntax uses it.
  return `quittance://pay?${shop}&items=${u.items.map((i) => `${i.article}:${i.quantity}`).join(',')}`;
}
