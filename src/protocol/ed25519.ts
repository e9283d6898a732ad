// Raw Ed25519 (RFC 8032) signatures over domain-separated bytes, for the keys
// that are not certified and never appear in a JWS: reserve keys (they sign
// withdrawals) and coin keys (they sign swaps and, later, payments). WebCrypto
// only, so the wallet runs it in a browser.
//
// Every signed message starts with a purpose label and a zero byte
// (`signingBytes`): a signature made for a withdrawal can never be presented
// as one for a swap, and no JSON text can start like a label.
import { decodeBase64url } from './base64url.ts';
import { canonicalize } from './rfc8785.ts';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

/** `label || 0x00 || RFC 8785(body)`: what a reserve or coin key signs. */
export function signingBytes(label: string, body: unknown): Uint8Array<ArrayBuffer> {
  const c = canonicalize(body);
  if (!c.ok) throw new TypeError(`signingBytes: ${c.message}`);
  const head = new TextEncoder().encode(label);
  const tail = new TextEncoder().encode(c.value);
  const out = new Uint8Array(head.length + 1 + tail.length);
  out.set(head);
  out.set(tail, head.length + 1);
  return out;
}

export async function signEd25519(privateKey: CryptoKey, bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, bytes));
}

/**
 * True when `signature` (base64url) is a valid Ed25519 signature of `bytes`
 * by `publicKey` (base64url, 32 bytes). Malformed input is simply false:
 * callers turn false into their own coded refusal.
 */
export async function verifyEd25519(publicKey: string, signature: string, bytes: Uint8Array<ArrayBuffer>): Promise<boolean> {
  const pub = decodeBase64url(publicKey);
  const sig = decodeBase64url(signature);
  if (pub?.length !== ED25519_PUBLIC_KEY_BYTES || sig?.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    const key = await crypto.subtle.importKey('raw', pub.slice(), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.slice(), bytes);
  } catch {
    // Not a point on the curve (importKey refuses it).
    return false;
  }
}
