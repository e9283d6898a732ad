// RFC 9474 RSA blind signatures (RSABSSA), client side: blind, finalize, verify.
// The signer is src/crypto/blind-signer.ts (OpenSSL's raw RSA); this file is pure
// (bigint arithmetic, SHA-384 through WebCrypto) so the wallet runs it in a browser.
//
// Variant: RSABSSA-SHA384-PSSZERO-Deterministic (RFC 9474 §5): SHA-384, MGF1-SHA-384,
// salt length 0, identity Prepare. Why this one and not the RECOMMENDED
// PSS-Randomized:
// - The message is a fresh Ed25519 coin public key: 256 bits of entropy the signer
//   cannot guess. The randomized Prepare exists for low-entropy messages (§7,
//   "Message Entropy": a signer with a crafted key could otherwise test guesses),
//   so a 32-byte prefix would add nothing here.
// - Every input of a withdrawal must be derivable from the wallet seed and an
//   index, so a crashed withdrawal is retried with the same envelopes and the
//   payment server returns the same signatures instead of debiting twice. With
//   salt length 0 and no prefix, the envelope is a function of (coin key, r)
//   alone, and the caller passes r in (§4.2 step 6 takes it from a CSPRNG; we
//   take it as a parameter).
// - It is the only variant whose signatures are unique per message (§5, §7
//   "Randomized and Deterministic Signatures"): one
//   coin key has exactly one valid signature under a denomination key, so a coin
//   has one encoding and a signature cannot be re-randomized into a "new" coin.
//
// EMSA-PSS runs with emBits = modBits - 1 as in RFC 8017 §8.1.1; RFC 9474 §4.2
// writes bit_len(n), but its own test vectors (and RSASSA-PSS-VERIFY) need
// modBits - 1.
//
// The denomination key must be authentic (§7 "Key Substitution Attack"): the
// wallet takes it from the key list the payment server signs, never from the
// withdrawal response.
//
// Side channels: bigint arithmetic is not constant-time. The only secret on the
// client is r (it links the envelope to the coin); a local timing observer of
// the wallet is out of scope, as for any browser wallet.
import { decodeBase64url } from './base64url.ts';
import type { ProtocolErrorCode } from './errors.ts';
import { err, ok, type Result } from './result.ts';

export const RFC9474_VARIANT = 'RSABSSA-SHA384-PSSZERO-Deterministic';
/** RSA moduli below this are refused (NIST SP 800-131A; DESIGN §4: 2048+ bits). */
export const MIN_MODULUS_BITS = 2048;
/** Bounds the cost of one operation on an untrusted key. */
export const MAX_MODULUS_BITS = 8192;
/** A seed for blindingFactorFromSeed must be this much longer than the modulus (bias ≤ 2^-256). */
export const BLINDING_SEED_EXTRA_BYTES = 32;

const HASH = 'SHA-384';
const H_LEN = 48;
const S_LEN = 0;

export type BlindRsaErrorCode = Extract<ProtocolErrorCode, 'PROTO_BLIND_KEY_INVALID' | 'PROTO_BLIND_INPUT_INVALID' | 'PROTO_BLIND_SIGNATURE_INVALID'>;

/** An RSA public key as integers. Build it with blindRsaPublicKey/-FromJwk/-FromSpki. */
export type BlindRsaPublicKey = { readonly n: bigint; readonly e: bigint };

/** Output of blind(): the envelope for the signer and the secret inverse kept for finalize(). */
export type BlindingResult = { readonly blindedMsg: Uint8Array<ArrayBuffer>; readonly inv: Uint8Array<ArrayBuffer> };

type KeyInfo = { readonly bits: number; readonly kLen: number };
const checked = new WeakMap<BlindRsaPublicKey, KeyInfo>();

// --- integers (RFC 8017 §4) ------------------------------------------------

function os2ip(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return BigInt(`0x${hex}`);
}

/** I2OSP; undefined when x does not fit ("integer too large"). */
function i2osp(x: bigint, len: number): Uint8Array<ArrayBuffer> | undefined {
  const hex = x.toString(16);
  if (x < 0n || hex.length > len * 2) return undefined;
  const padded = hex.padStart(len * 2, '0');
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = parseInt(padded.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let x = exp;
  while (x > 0n) {
    if (x & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    x >>= 1n;
  }
  return result;
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** Inverse of a mod m, or undefined when gcd(a, m) ≠ 1. */
function modInverse(a: bigint, m: bigint): bigint | undefined {
  let [r0, r1] = [m, a % m];
  let [s0, s1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) return undefined;
  return ((s0 % m) + m) % m;
}

// --- argument checks ---------------------------------------------------------

function bytesArg(value: unknown, name: string): Uint8Array<ArrayBuffer> {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array`);
  // Snapshot: the caller may not change the bytes while we await digests.
  return new Uint8Array(value);
}

function keyInfo(key: BlindRsaPublicKey): Result<KeyInfo, BlindRsaErrorCode> {
  if (typeof key !== 'object' || key === null || typeof key.n !== 'bigint' || typeof key.e !== 'bigint') {
    throw new TypeError('key: expected { n: bigint, e: bigint }');
  }
  const cached = checked.get(key);
  if (cached) return ok(cached);
  const { n, e } = key;
  const bits = bitLength(n);
  if (bits < MIN_MODULUS_BITS) return err('PROTO_BLIND_KEY_INVALID', `RSA modulus has ${bits} bits; at least ${MIN_MODULUS_BITS} are required`);
  if (bits > MAX_MODULUS_BITS) return err('PROTO_BLIND_KEY_INVALID', `RSA modulus has ${bits} bits; at most ${MAX_MODULUS_BITS} are accepted`);
  if ((n & 1n) === 0n) return err('PROTO_BLIND_KEY_INVALID', 'RSA modulus is even');
  // RFC 8017 §3.1: 3 ≤ e ≤ n - 1, e odd. The 64-bit cap is OpenSSL's, and bounds verification cost.
  if (e < 3n || (e & 1n) === 0n || e >= n || bitLength(e) > 64) return err('PROTO_BLIND_KEY_INVALID', 'RSA public exponent must be odd, at least 3 and at most 64 bits');
  const info = { bits, kLen: Math.ceil(bits / 8) };
  checked.set(key, info);
  return ok(info);
}

// --- keys --------------------------------------------------------------------

/** Checks and freezes a public key given as integers. */
export function blindRsaPublicKey(n: bigint, e: bigint): Result<BlindRsaPublicKey, BlindRsaErrorCode> {
  if (typeof n !== 'bigint') throw new TypeError('n: expected a bigint');
  if (typeof e !== 'bigint') throw new TypeError('e: expected a bigint');
  const key = Object.freeze({ n, e });
  const info = keyInfo(key);
  return info.ok ? ok(key) : info;
}

/** A public JWK (RFC 7518 §6.3.1): kty "RSA", n and e as canonical unpadded base64url. */
export function blindRsaPublicKeyFromJwk(jwk: unknown): Result<BlindRsaPublicKey, BlindRsaErrorCode> {
  if (typeof jwk !== 'object' || jwk === null) return err('PROTO_BLIND_KEY_INVALID', 'JWK is not an object');
  const { kty, n, e, d } = jwk as Record<string, unknown>;
  if (kty !== 'RSA') return err('PROTO_BLIND_KEY_INVALID', 'JWK kty is not "RSA"');
  if (d !== undefined) return err('PROTO_BLIND_KEY_INVALID', 'JWK holds a private key');
  const nBytes = typeof n === 'string' ? decodeBase64url(n) : undefined;
  const eBytes = typeof e === 'string' ? decodeBase64url(e) : undefined;
  if (!nBytes || !eBytes || nBytes[0] === 0 || eBytes[0] === 0) return err('PROTO_BLIND_KEY_INVALID', 'JWK n or e is not canonical base64url of an unsigned integer');
  return blindRsaPublicKey(os2ip(nBytes), os2ip(eBytes));
}

/** An RSA SubjectPublicKeyInfo (DER), parsed by WebCrypto. */
export async function blindRsaPublicKeyFromSpki(spki: Uint8Array): Promise<Result<BlindRsaPublicKey, BlindRsaErrorCode>> {
  const der = bytesArg(spki, 'spki');
  let jwk: JsonWebKey;
  try {
    const key = await crypto.subtle.importKey('spki', der, { name: 'RSA-PSS', hash: HASH }, true, ['verify']);
    jwk = await crypto.subtle.exportKey('jwk', key);
  } catch {
    return err('PROTO_BLIND_KEY_INVALID', 'not an RSA SubjectPublicKeyInfo');
  }
  return blindRsaPublicKeyFromJwk({ kty: jwk.kty, n: jwk.n, e: jwk.e });
}

/** The length in bytes of envelopes, blind signatures and signatures under this key. */
export function modulusBytes(key: BlindRsaPublicKey): Result<number, BlindRsaErrorCode> {
  const info = keyInfo(key);
  return info.ok ? ok(info.value.kLen) : info;
}

// --- EMSA-PSS (RFC 8017 §9.1) with SHA-384 and MGF1-SHA-384 --------------------

async function sha384(...parts: Uint8Array[]): Promise<Uint8Array> {
  const total = parts.reduce((sum, p) => sum + p.length, 0);
  const buf = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    buf.set(p, off);
    off += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest(HASH, buf));
}

/** MGF1 (RFC 8017 §B.2.1). */
async function mgf1(seed: Uint8Array, maskLen: number): Promise<Uint8Array> {
  const out = new Uint8Array(maskLen);
  const counter = new Uint8Array(4);
  for (let i = 0, off = 0; off < maskLen; i++, off += H_LEN) {
    new DataView(counter.buffer).setUint32(0, i);
    out.set((await sha384(seed, counter)).subarray(0, maskLen - off), off);
  }
  return out;
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1). Exported for the known-answer test. */
export async function emsaPssEncode(msg: Uint8Array, emBits: number, salt: Uint8Array = new Uint8Array(0)): Promise<Uint8Array<ArrayBuffer>> {
  const m = bytesArg(msg, 'msg');
  const s = bytesArg(salt, 'salt');
  const emLen = Math.ceil(emBits / 8);
  // 1-2. mHash = Hash(M)
  const mHash = await sha384(m);
  // 3. emLen < hLen + sLen + 2 is an encoding error; our moduli are ≥ 2048 bits.
  if (emLen < H_LEN + s.length + 2) throw new RangeError('emBits: too small for EMSA-PSS with SHA-384');
  // 5-6. M' = 0x00 x 8 || mHash || salt; H = Hash(M')
  const h = await sha384(new Uint8Array(8), mHash, s);
  // 7-8. DB = PS || 0x01 || salt
  const db = new Uint8Array(emLen - H_LEN - 1);
  db[emLen - s.length - H_LEN - 2] = 0x01;
  db.set(s, emLen - s.length - H_LEN - 1);
  // 9-10. maskedDB = DB xor MGF(H, emLen - hLen - 1)
  const mask = await mgf1(h, db.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  // 11. clear the leftmost 8emLen - emBits bits
  db[0]! &= 0xff >> (8 * emLen - emBits);
  // 12. EM = maskedDB || H || 0xbc
  const em = new Uint8Array(emLen);
  em.set(db);
  em.set(h, db.length);
  em[emLen - 1] = 0xbc;
  return em;
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2) for sLen = 0. */
async function emsaPssVerify(msg: Uint8Array, em: Uint8Array, emBits: number): Promise<boolean> {
  const emLen = Math.ceil(emBits / 8);
  const mHash = await sha384(msg);
  // 3-4.
  if (em.length !== emLen || emLen < H_LEN + S_LEN + 2 || em[emLen - 1] !== 0xbc) return false;
  // 5-6. maskedDB, H; the leftmost 8emLen - emBits bits of maskedDB must be zero
  const maskedDb = em.subarray(0, emLen - H_LEN - 1);
  const h = em.subarray(emLen - H_LEN - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((maskedDb[0]! & ~topMask) !== 0) return false;
  // 7-9. DB = maskedDB xor MGF(H), leftmost bits cleared
  const mask = await mgf1(h, maskedDb.length);
  const db = maskedDb.map((b, i) => b ^ mask[i]!);
  db[0]! &= topMask;
  // 10. DB = 0x00 … 0x00 || 0x01 (no salt)
  const ps = emLen - H_LEN - S_LEN - 2;
  for (let i = 0; i < ps; i++) if (db[i] !== 0) return false;
  if (db[ps] !== 0x01) return false;
  // 12-14. H' = Hash(0x00 x 8 || mHash || salt) must equal H
  const hPrime = await sha384(new Uint8Array(8), mHash, db.subarray(db.length - S_LEN));
  let diff = 0;
  for (let i = 0; i < H_LEN; i++) diff |= hPrime[i]! ^ h[i]!;
  return diff === 0;
}

// --- RSABSSA (RFC 9474 §4) -------------------------------------------------------

/**
 * Turns seed bytes (e.g. HKDF output from the wallet seed and the coin index) into a
 * blinding factor r, uniform in [1, n) up to a bias of 2^-256: the seed must be
 * BLINDING_SEED_EXTRA_BYTES longer than the modulus, and is reduced mod n.
 */
export function blindingFactorFromSeed(key: BlindRsaPublicKey, seed: Uint8Array): Result<Uint8Array<ArrayBuffer>, BlindRsaErrorCode> {
  const info = keyInfo(key);
  if (!info.ok) return info;
  const bytes = bytesArg(seed, 'seed');
  if (bytes.length < info.value.kLen + BLINDING_SEED_EXTRA_BYTES) {
    throw new RangeError(`seed: expected at least ${info.value.kLen + BLINDING_SEED_EXTRA_BYTES} bytes`);
  }
  const r = os2ip(bytes) % key.n;
  if (r === 0n) return err('PROTO_BLIND_INPUT_INVALID', 'blinding factor is zero');
  return ok(i2osp(r, info.value.kLen)!);
}

/**
 * Blind (RFC 9474 §4.2) with the blinding factor r given as modulus-length bytes,
 * 1 ≤ r < n. Same (msg, r) → same envelope, so a retried withdrawal is identical.
 */
export async function blind(key: BlindRsaPublicKey, msg: Uint8Array, r: Uint8Array): Promise<Result<BlindingResult, BlindRsaErrorCode>> {
  const m0 = bytesArg(msg, 'msg');
  const rBytes = bytesArg(r, 'r');
  const info = keyInfo(key);
  if (!info.ok) return info;
  const { n, e } = key;
  const { bits, kLen } = info.value;
  if (rBytes.length !== kLen) return err('PROTO_BLIND_INPUT_INVALID', `blinding factor must be ${kLen} bytes`);
  const rInt = os2ip(rBytes);
  if (rInt < 1n || rInt >= n) return err('PROTO_BLIND_INPUT_INVALID', 'blinding factor out of range [1, n)');
  // 1-3. encoded_msg = EMSA-PSS-ENCODE(msg, modBits - 1); m = bytes_to_int(encoded_msg)
  const m = os2ip(await emsaPssEncode(m0, bits - 1));
  // 4-5. is_coprime(m, n), else "invalid input" (a common factor would factor n)
  if (gcd(m, n) !== 1n) return err('PROTO_BLIND_INPUT_INVALID', 'encoded message is not coprime with n');
  // 7-8. inv = inverse_mod(r, n)
  const inv = modInverse(rInt, n);
  if (inv === undefined) return err('PROTO_BLIND_INPUT_INVALID', 'blinding factor is not invertible mod n');
  // 9-11. x = RSAVP1(pk, r); z = m * x mod n; blinded_msg = int_to_bytes(z, modulus_len)
  const z = (m * modPow(rInt, e, n)) % n;
  return ok({ blindedMsg: i2osp(z, kLen)!, inv: i2osp(inv, kLen)! });
}

/** RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) on copies already taken. */
async function verifyBytes(key: BlindRsaPublicKey, info: KeyInfo, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
  // 1. length check
  if (sig.length !== info.kLen) return false;
  // 2. s = OS2IP(S); RSAVP1 needs s < n; EM = I2OSP(s^e mod n, emLen)
  const s = os2ip(sig);
  if (s >= key.n) return false;
  const emBits = info.bits - 1;
  const em = i2osp(modPow(s, key.e, key.n), Math.ceil(emBits / 8));
  if (!em) return false;
  // 3. EMSA-PSS-VERIFY
  return emsaPssVerify(msg, em, emBits);
}

/**
 * Finalize (RFC 9474 §4.4): unblinds the signer's answer and checks the result,
 * so a faulty or cheating signer is caught before the coin is stored.
 */
export async function finalize(key: BlindRsaPublicKey, msg: Uint8Array, blindSig: Uint8Array, inv: Uint8Array): Promise<Result<Uint8Array<ArrayBuffer>, BlindRsaErrorCode>> {
  const m = bytesArg(msg, 'msg');
  const z0 = bytesArg(blindSig, 'blindSig');
  const inv0 = bytesArg(inv, 'inv');
  const info = keyInfo(key);
  if (!info.ok) return info;
  const { kLen } = info.value;
  const rInv = os2ip(inv0);
  if (inv0.length !== kLen || rInv < 1n || rInv >= key.n) return err('PROTO_BLIND_INPUT_INVALID', `inv must be ${kLen} bytes and in [1, n)`);
  // 1-2. len(blind_sig) = modulus_len; z = bytes_to_int(blind_sig)
  if (z0.length !== kLen) return err('PROTO_BLIND_SIGNATURE_INVALID', `blind signature must be ${kLen} bytes`);
  const z = os2ip(z0);
  if (z >= key.n) return err('PROTO_BLIND_SIGNATURE_INVALID', 'blind signature is not below n');
  // 3-4. s = z * inv mod n; sig = int_to_bytes(s, modulus_len)
  const sig = i2osp((z * rInv) % key.n, kLen)!;
  // 5-6. RSASSA-PSS-VERIFY(pk, msg, sig)
  if (!(await verifyBytes(key, info.value, m, sig))) return err('PROTO_BLIND_SIGNATURE_INVALID', 'blind signature does not unblind to a valid signature');
  return ok(sig);
}

/** Verify (RFC 9474 §4.5): the result is an ordinary RSASSA-PSS signature (SHA-384, sLen 0). */
export async function verify(key: BlindRsaPublicKey, msg: Uint8Array, sig: Uint8Array): Promise<Result<true, BlindRsaErrorCode>> {
  const m = bytesArg(msg, 'msg');
  const s = bytesArg(sig, 'sig');
  const info = keyInfo(key);
  if (!info.ok) return info;
  if (!(await verifyBytes(key, info.value, m, s))) return err('PROTO_BLIND_SIGNATURE_INVALID', 'signature does not verify');
  return ok(true);
}
