// RFC 9474 §4.5 Verify on OpenSSL, for the payment server: is a coin's
// denomination signature valid? The variant is RSABSSA-SHA384-PSSZERO-
// Deterministic (src/protocol/rfc9474.ts says why), and its Verify is plain
// RSASSA-PSS-VERIFY (RFC 8017 §8.1.2) with SHA-384, MGF1-SHA-384 and salt
// length 0 over the message, here the 32 raw bytes of the coin's Ed25519
// public key. The wallet's bigint verify does the same in a browser; OpenSSL
// is what a server checking 64 coins per request wants.
import { Buffer } from 'node:buffer';
import { constants, createPublicKey, KeyObject, verify } from 'node:crypto';
import { MAX_MODULUS_BITS, MIN_MODULUS_BITS } from '../protocol/rfc9474.ts';

function publicRsaKeyArg(key: unknown): { key: KeyObject; kLen: number } {
  if (!(key instanceof KeyObject) || key.type !== 'public' || key.asymmetricKeyType !== 'rsa') throw new TypeError('denominationKey: expected an RSA public KeyObject');
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS) throw new TypeError(`denominationKey: RSA modulus of ${bits} bits; denomination keys have ${MIN_MODULUS_BITS} to ${MAX_MODULUS_BITS}`);
  return { key, kLen: Math.ceil(bits / 8) };
}

/** A denomination key's published form (SPKI DER) as an OpenSSL public key. Throws on anything but RSA. */
export function denominationVerifyKey(spki: Uint8Array): KeyObject {
  if (!(spki instanceof Uint8Array)) throw new TypeError('spki: expected a Uint8Array');
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  publicRsaKeyArg(key);
  return key;
}

/**
 * True when `signature` is the RFC 9474 (PSSZERO) signature of `message`
 * under `denominationKey`. Any malformed signature is simply false.
 */
export function verifyCoinSignature(denominationKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  const { key, kLen } = publicRsaKeyArg(denominationKey);
  if (!(message instanceof Uint8Array)) throw new TypeError('message: expected a Uint8Array');
  if (!(signature instanceof Uint8Array)) throw new TypeError('signature: expected a Uint8Array');
  // RFC 8017 §8.1.2 step 1: exactly k bytes. OpenSSL would also take a shorter
  // string (as a smaller integer); refusing it keeps one encoding per coin.
  if (signature.length !== kLen) return false;
  // OpenSSL refuses s ≥ n (RSAVP1's range check) itself. MGF1 uses the
  // signature digest unless told otherwise: MGF1-SHA-384.
  return verify('sha384', message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 }, signature);
}
