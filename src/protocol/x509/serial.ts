// Certificate serial numbers (RFC 5280 §4.1.2.2): positive INTEGER, at most 20
// octets. The caller passes random bytes in (the protocol core has no
// randomness of its own); we make them a valid, minimally encoded INTEGER.
import { fromHex, toHex } from './certificate.ts';

/**
 * Hex of the INTEGER content octets for random `bytes` (1..20 of them). The top
 * bit is cleared so the value is positive without a sign octet, which keeps it
 * within 20 octets.
 */
export function serialFromBytes(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array) || bytes.length < 1 || bytes.length > 20) {
    throw new TypeError('serial must be a Uint8Array of 1 to 20 bytes');
  }
  const b = bytes.slice();
  b[0] = (b[0] ?? 0) & 0x7f;
  const hex = normalizeSerialHex(toHex(b));
  if (hex === '00') throw new TypeError('serial must not be zero');
  return hex;
}

/**
 * Canonical lower-case hex of a serial's INTEGER content, for comparisons: one
 * value, one spelling (leading zero octets removed except the sign octet).
 */
export function normalizeSerialHex(hex: string): string {
  const bytes = fromHex(hex);
  if (!bytes || bytes.length === 0) throw new TypeError('serial must be an even-length hex string');
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && ((bytes[i + 1] ?? 0) & 0x80) === 0) i++;
  return toHex(bytes.subarray(i));
}

/**
 * The DER form of a serial typed by a person or shown by a tool: openssl and
 * @peculiar/x509 print the INTEGER's value without its sign octet ("B1:6A…"),
 * while the encoding of a serial whose top bit is set carries one ("00b16a…").
 * Accepts either (any case, colons allowed) and returns normalizeSerialHex's form.
 */
export function serialHexFromDisplay(text: string): string | undefined {
  let hex = text.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,42}$/.test(hex)) return undefined;
  if (hex.length % 2) hex = `0${hex}`;
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  if (/^[89a-f]/.test(hex)) hex = `00${hex}`;
  return hex === '00' ? undefined : hex;
}
