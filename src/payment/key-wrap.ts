// Denomination private keys at rest. There are dozens of them and they live in
// the database, so each cannot get the PKCS#8 file treatment of the server's
// own key (src/crypto: PBES2 with 600,000 PBKDF2 iterations per key, ~0.3 s
// each at every start). KeyObject.export({ cipher, passphrase }) is no
// alternative: OpenSSL then uses 2,048 iterations.
//
// Instead one 256-bit wrapping key is derived at start-up, once, from the
// server's passphrase: PBKDF2-HMAC-SHA-256, 600,000 iterations (OWASP 2023),
// with the per-server salt in payment.json. Each private key (PKCS#8 DER) is
// sealed with AES-256-GCM under a fresh 96-bit IV, and the denomination id is
// the additional authenticated data: a row whose wrapped key was swapped with
// another row's fails to open instead of signing under the wrong key.
//
// Stored form: "v1." + base64url(iv ‖ ciphertext ‖ 16-byte tag).
import { createCipheriv, createDecipheriv, createPrivateKey, createSecretKey, pbkdf2, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const KEY_WRAP_ITERATIONS = 600_000;
const PREFIX = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A fresh per-server salt for payment.json. */
export function newKeyWrapSalt(): string {
  return randomBytes(16).toString('base64url');
}

export async function deriveWrapKey(passphrase: string, saltB64u: string, iterations = KEY_WRAP_ITERATIONS): Promise<KeyObject> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new TypeError('passphrase: expected a non-empty string');
  const salt = Buffer.from(saltB64u, 'base64url');
  if (salt.length < 16) throw new TypeError('saltB64u: expected at least 16 bytes');
  const raw = await pbkdf2Async(Buffer.from(passphrase, 'utf8'), salt, iterations, 32, 'sha256');
  try {
    return createSecretKey(raw);
  } finally {
    raw.fill(0);
  }
}

function assertWrapKey(wrapKey: KeyObject): void {
  if (wrapKey?.type !== 'secret' || wrapKey.symmetricKeySize !== 32) throw new TypeError('wrapKey: expected a 32-byte secret KeyObject');
}

export function wrapPrivateKey(wrapKey: KeyObject, privateKey: KeyObject, denominationId: string): string {
  assertWrapKey(wrapKey);
  if (privateKey?.type !== 'private') throw new TypeError('privateKey: expected a private KeyObject');
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', wrapKey, iv);
    cipher.setAAD(Buffer.from(denominationId, 'utf8'));
    const body = Buffer.concat([cipher.update(der), cipher.final()]);
    return PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
  } finally {
    der.fill(0);
  }
}

/** Throws when the blob does not open under this key and id (wrong passphrase, tampering, swapped rows). */
export function unwrapPrivateKey(wrapKey: KeyObject, wrapped: string, denominationId: string): KeyObject {
  assertWrapKey(wrapKey);
  if (typeof wrapped !== 'string' || !wrapped.startsWith(PREFIX)) throw new Error(`denomination key ${denominationId}: unknown wrapping format`);
  const blob = Buffer.from(wrapped.slice(PREFIX.length), 'base64url');
  if (blob.length <= IV_BYTES + TAG_BYTES) throw new Error(`denomination key ${denominationId}: wrapped key too short`);
  const decipher = createDecipheriv('aes-256-gcm', wrapKey, blob.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(denominationId, 'utf8'));
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  let der: Buffer;
  try {
    der = Buffer.concat([decipher.update(blob.subarray(IV_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error(`denomination key ${denominationId} does not open: wrong passphrase, or the row was altered`);
  }
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}
