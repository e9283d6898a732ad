// Strict base64 codecs (RFC 4648). Strict means one encoding per byte string:
// no padding in base64url (RFC 7515 §2), padding required in standard base64
// (x5c, RFC 7515 §4.1.6), no whitespace, and unused trailing bits must be zero.
// Lenient decoders let an attacker present one signed value under several
// spellings, which breaks "one document, one hash".

const URL_PATTERN = /^[A-Za-z0-9_-]*$/;
const STD_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function bytesToBinary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return s;
}

function binaryToBytes(binary: string): Uint8Array {
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function encodeBase64(bytes: Uint8Array): string {
  return btoa(bytesToBinary(bytes));
}

/** Decodes canonical padded base64; returns undefined for anything else. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || !STD_PATTERN.test(text)) return undefined;
  const bytes = binaryToBytes(atob(text));
  return encodeBase64(bytes) === text ? bytes : undefined;
}

export function encodeBase64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Decodes canonical unpadded base64url; returns undefined for anything else. */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || !URL_PATTERN.test(text) || text.length % 4 === 1) return undefined;
  const std = text.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = binaryToBytes(atob(std + '='.repeat((4 - (std.length % 4)) % 4)));
  return encodeBase64url(bytes) === text ? bytes : undefined;
}
