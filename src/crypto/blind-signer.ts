// RFC 9474 §4.3 BlindSign for the payment server, on OpenSSL's raw RSA private
// operation (privateDecrypt with RSA_NO_PADDING is RSASP1: CRT, and OpenSSL's
// own base blinding against timing attacks). A pure-JS signer manages about 2
// signatures per second here against about 1,300 for OpenSSL (DESIGN §4), so
// the signer is not the wallet's bigint code.
//
// The client side (blind, finalize, verify) is src/protocol/rfc9474.ts; the
// variant and why are documented there.
import { Buffer } from 'node:buffer';
import { constants, createPublicKey, generateKeyPair, KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { err, ok, type Result } from '../protocol/result.ts';
import { blindRsaPublicKey, MAX_MODULUS_BITS, MIN_MODULUS_BITS, type BlindRsaErrorCode, type BlindRsaPublicKey } from '../protocol/rfc9474.ts';

type SignerKey = {
  readonly publicKey: KeyObject;
  readonly modulus: Uint8Array;
  readonly blindPublicKey: BlindRsaPublicKey;
};

// Deriving the public half and n costs more than a signature's verification;
// do it once per key.
const signerKeys = new WeakMap<KeyObject, SignerKey>();

function rsaKeyArg(key: unknown, name: string, type: 'private' | 'public' | 'any'): KeyObject {
  if (!(key instanceof KeyObject) || key.type === 'secret' || (type !== 'any' && key.type !== type) || key.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`${name}: expected an RSA ${type === 'any' ? '' : `${type} `}KeyObject`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS) {
    throw new TypeError(`${name}: RSA modulus of ${bits} bits; denomination keys have ${MIN_MODULUS_BITS} to ${MAX_MODULUS_BITS}`);
  }
  return key;
}

function toBigint(base64url: string | undefined): bigint {
  return BigInt(`0x${Buffer.from(base64url ?? '', 'base64url').toString('hex') || '0'}`);
}

/** The client-side form ({ n, e } as integers) of a denomination key, private or public. */
export function denominationPublicKey(key: KeyObject): BlindRsaPublicKey {
  return signerKeyOf(key).blindPublicKey;
}

function signerKeyOf(key: KeyObject): SignerKey {
  const cached = signerKeys.get(rsaKeyArg(key, 'key', 'any'));
  if (cached) return cached;
  const publicKey = key.type === 'public' ? key : createPublicKey(key);
  const jwk = publicKey.export({ format: 'jwk' });
  const parsed = blindRsaPublicKey(toBigint(jwk.n), toBigint(jwk.e));
  if (!parsed.ok) throw new TypeError(`key: ${parsed.message}`);
  const kLen = Math.ceil(key.asymmetricKeyDetails!.modulusLength! / 8);
  const modulus = Buffer.from(parsed.value.n.toString(16).padStart(kLen * 2, '0'), 'hex');
  const entry = { publicKey, modulus, blindPublicKey: parsed.value };
  signerKeys.set(key, entry);
  return entry;
}

/**
 * BlindSign (RFC 9474 §4.3). Refuses an envelope that is not modulus-length or
 * not below n (RSASP1's "message representative out of range"); checks the
 * result with the public operation before it leaves (steps 3-4: a CRT fault
 * would otherwise hand out a value that factors n) and throws if it fails.
 */
export function blindSign(privateKey: KeyObject, blindedMsg: Uint8Array): Result<Uint8Array, BlindRsaErrorCode> {
  const key = signerKeyOf(rsaKeyArg(privateKey, 'privateKey', 'private'));
  if (!(blindedMsg instanceof Uint8Array)) throw new TypeError('blindedMsg: expected a Uint8Array');
  const kLen = key.modulus.length;
  // 1. m = bytes_to_int(blinded_msg), which must be < n. Equal lengths, so
  // byte order is numeric order.
  if (blindedMsg.length !== kLen) return err('PROTO_BLIND_INPUT_INVALID', `blinded message must be ${kLen} bytes`);
  const m = Buffer.from(blindedMsg); // snapshot: the check and the signature see the same bytes
  if (Buffer.compare(m, key.modulus) >= 0) return err('PROTO_BLIND_INPUT_INVALID', 'blinded message is not below n');
  // 2. s = RSASP1(sk, m)
  const s = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, m);
  // 3-4. m' = RSAVP1(pk, s); m' must equal m ("signing failure")
  const mPrime = publicEncrypt({ key: key.publicKey, padding: constants.RSA_NO_PADDING }, s);
  if (s.length !== kLen || !mPrime.equals(m)) throw new Error('RFC 9474 blind signing failure: RSASP1 result does not verify (fault)');
  // 5-6. blind_sig = int_to_bytes(s, modulus_len)
  return ok(new Uint8Array(s.buffer, s.byteOffset, s.length));
}

/** A fresh denomination key pair (RSA, e = 65537) for RFC 9474 blind signatures. */
export async function generateDenominationKey(bits: number): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  if (!Number.isInteger(bits) || bits < MIN_MODULUS_BITS || bits > MAX_MODULUS_BITS || bits % 8 !== 0) {
    throw new TypeError(`bits: expected a multiple of 8 from ${MIN_MODULUS_BITS} to ${MAX_MODULUS_BITS}`);
  }
  return promisify(generateKeyPair)('rsa', { modulusLength: bits, publicExponent: 0x10001 });
}
