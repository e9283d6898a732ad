// The signature of a webhook request (README "Webhooks"): the header
//
//   Quittance-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// signs the exact bytes of the body together with the time of sending, so a
// receiver that checks both (and how old `t` is) cannot be fed an altered
// body, nor a genuine request recorded and replayed later. The key is the
// endpoint's secret string as shown once by `merchant webhook add`
// (`whsec_…`), its UTF-8 bytes, so `openssl dgst -sha256 -hmac SECRET` checks
// it too. Several v1 values may appear (a receiver accepts any match): room
// for rotating a secret without a gap.
//
// This file is what a shop's backend needs to check a request; it imports
// nothing but node:crypto.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Quittance-Signature';
export const EVENT_ID_HEADER = 'Quittance-Event-Id';
export const EVENT_TYPE_HEADER = 'Quittance-Event-Type';

/** How far `t` may lie from the receiver's clock, either way, by default. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Longest header accepted: a few signatures, never an unbounded parse. */
const MAX_HEADER_CHARS = 1024;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

export type WebhookSignatureCode = 'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED' | 'MERCHANT_WEBHOOK_SIGNATURE_INVALID' | 'MERCHANT_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE';

export type WebhookVerification = { ok: true; timestamp: number } | { ok: false; code: WebhookSignatureCode; message: string };

function toBytes(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function hmacHex(secret: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.`, 'utf8').update(toBytes(body)).digest('hex');
}

/** The header value for `body` sent at `now` (whole seconds). */
export function signWebhook(secret: string, body: string | Uint8Array, now: Date): string {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('secret: expected a non-empty string');
  const t = Math.floor(now.getTime() / 1000);
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/**
 * Checks a received webhook: `header` is the Quittance-Signature value,
 * `rawBody` the request body exactly as received (before any JSON parsing —
 * a re-serialised object is not the signed bytes), `now` the receiver's
 * clock. Refuses a header that does not parse, a timestamp more than
 * `toleranceSeconds` from `now` (a replayed old request), and a body or
 * secret that does not give one of the v1 signatures. The comparison runs in
 * constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined | null,
  rawBody: string | Uint8Array,
  now: Date,
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): WebhookVerification {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('secret: expected a non-empty string');
  if (typeof rawBody !== 'string' && !(rawBody instanceof Uint8Array)) throw new TypeError('rawBody: expected the raw body as a string or bytes');
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError('now: expected a valid Date');
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) throw new TypeError('toleranceSeconds: expected a number >= 0');
  if (typeof header !== 'string' || header.length === 0 || header.length > MAX_HEADER_CHARS) {
    return { ok: false, code: 'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED', message: `no ${SIGNATURE_HEADER} header, or one longer than ${MAX_HEADER_CHARS} characters` };
  }
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return { ok: false, code: 'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED', message: `${SIGNATURE_HEADER}: "${part.slice(0, 40)}" is not key=value` };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return { ok: false, code: 'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED', message: `${SIGNATURE_HEADER}: t must appear once, in unix seconds` };
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (!HEX_SHA256.test(value)) return { ok: false, code: 'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED', message: `${SIGNATURE_HEADER}: v1 must be 64 lowercase hex digits` };
      signatures.push(value);
    }
    // Other keys (a future v2) are ignored, so a receiver keeps working when they are added.
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, code: 'MERCHANT_WEBHOOK_SIGNATURE_MALFORMED', message: `${SIGNATURE_HEADER}: needs t=… and at least one v1=…` };
  const age = Math.floor(now.getTime() / 1000) - timestamp;
  if (Math.abs(age) > toleranceSeconds) {
    return { ok: false, code: 'MERCHANT_WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE', message: `the signature's time is ${age} s from now, beyond ${toleranceSeconds} s: an old (replayed) request, or a clock far off` };
  }
  const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), 'hex');
  // Every candidate is compared, in constant time each: no early exit reveals which one came close.
  let match = false;
  for (const s of signatures) match = timingSafeEqual(expected, Buffer.from(s, 'hex')) || match;
  if (!match) return { ok: false, code: 'MERCHANT_WEBHOOK_SIGNATURE_INVALID', message: 'no v1 signature matches this body and secret' };
  return { ok: true, timestamp };
}
