// Raw Ed25519 (RFC 8032) signatures over domain-separated bytes, for the keys
// that are not certified and never appear in a JWS: reserve keys (they sign
// withdrawals) and coin keys (they sign swaps and, later, payments). WebCrypto
// only, so the wallet runs it in a browser.
//
// Every signed message starts with a purpose label and a zero byte
// (`signingBytes`): a signature made for a withdrawal can never be presented
// as one for a swap, and no JSON text can start like a label. Public keys
// that are no curve point or of small order are refused before WebCrypto
// sees them (ed25519PublicKeyProblem).
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

// RFC 8032 §5.1: edwards25519, −x² + y² = 1 + d·x²·y² over GF(p).
const P = 2n ** 255n - 19n;
const D = mod(-121665n * inverse(121666n));
const SQRT_M1 = power(2n, (P - 1n) / 4n);

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function power(base: bigint, exp: bigint): bigint {
  let r = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}

function inverse(a: bigint): bigint {
  return power(a, P - 2n);
}

/** RFC 8032 §5.1.3 point decoding: the affine (x, y), or undefined when the 32 bytes are no curve point. */
function decodePoint(bytes: Uint8Array): { x: bigint; y: bigint } | undefined {
  if (bytes.length !== 32) return undefined;
  // 1. Little-endian y; bit 255 is the sign of x. A y ≥ p is refused (non-canonical).
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(bytes[i]! & (i === 31 ? 0x7f : 0xff));
  const x0 = (bytes[31]! & 0x80) >> 7;
  if (y >= P) return undefined;
  // 2. x² = (y² − 1) / (d·y² + 1) = u/v; candidate x = u·v³·(u·v⁷)^((p−5)/8).
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * power(v, 3n) * power(u * power(v, 7n), (P - 5n) / 8n));
  // 3. v·x² = u: a root; v·x² = −u: x·sqrt(−1) is; otherwise u/v has no square root.
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return undefined;
  // 4. x = 0 has no negative; otherwise pick the root whose low bit is x0.
  if (x === 0n && x0 === 1) return undefined;
  if (Number(x & 1n) !== x0) x = P - x;
  return { x, y };
}

/** True when [8]·(x, y) is the neutral element: a key of small order, for which anyone can forge signatures. */
function hasSmallOrder(pt: { x: bigint; y: bigint }): boolean {
  // RFC 8032 §5.1.4 doubling in extended coordinates, three times.
  let X = pt.x;
  let Y = pt.y;
  let Z = 1n;
  for (let i = 0; i < 3; i++) {
    const A = mod(X * X);
    const B = mod(Y * Y);
    const C = mod(2n * Z * Z);
    const H = mod(A + B);
    const E = mod(H - (X + Y) * (X + Y));
    const G = mod(A - B);
    const F = mod(C + G);
    X = mod(E * F);
    Y = mod(G * H);
    Z = mod(F * G);
  }
  return X === 0n && Y === Z;
}

/**
 * Why these 32 bytes are no safe Ed25519 public key, or undefined: not a
 * canonical curve point (RFC 8032 §5.1.3), or of small order (any signature
 * "verifies" for some messages, so nobody is bound). Node's WebCrypto imports
 * any 32 bytes as a key, so the check is ours.
 */
export function ed25519PublicKeyProblem(bytes: Uint8Array): 'not-a-point' | 'small-order' | undefined {
  const point = decodePoint(bytes);
  if (!point) return 'not-a-point';
  return hasSmallOrder(point) ? 'small-order' : undefined;
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
  if (ed25519PublicKeyProblem(pub) !== undefined) return false;
  try {
    const key = await crypto.subtle.importKey('raw', pub.slice(), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.slice(), bytes);
  } catch {
    return false;
  }
}
