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
