// Keys derived from the wallet seed (DESIGN §4, issue 3): a withdrawal that a
// crash interrupts is recovered by deriving the same coin keys and blinding
// factors again and repeating the request, which the payment server answers
// with the same signatures. Nothing here needs storage or randomness.
//
// Each key is HKDF-SHA256 (RFC 5869) of the 32-byte seed, with a purpose string
// and the index as 8 big-endian bytes in `info`, so keys of one purpose reveal
// nothing about another's (a coin key never equals a reserve key; a blinding
// factor is independent of its coin key). WebCrypto only: the same code runs
// in the browser wallet.
import { BLINDING_SEED_EXTRA_BYTES, MAX_MODULUS_BITS } from '../protocol/rfc9474.ts';

export const SEED_BYTES = 32;

export const DERIVATION_INFO = {
  coin: 'quittance/coin/v1',
  blind: 'quittance/blind/v1',
  reserve: 'quittance/reserve/v1',
  purse: 'quittance/purse/v1',
} as const;

/** Enough for blindingFactorFromSeed under any accepted denomination key (≤ 8192 bits). */
export const BLINDING_SEED_BYTES = MAX_MODULUS_BITS / 8 + BLINDING_SEED_EXTRA_BYTES;

// RFC 5869 §3.1: the seed is already uniformly random, so a fixed salt only separates this use.
const SALT = new TextEncoder().encode('quittance/wallet-seed');

// RFC 8410 §7: PKCS#8 OneAsymmetricKey for Ed25519 is this prefix followed by the 32-byte private key.
const ED25519_PKCS8_PREFIX = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);

export type DerivedKeyPair = {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** The 32-byte Ed25519 public key (RFC 8032), as it goes on the wire. */
  readonly publicKeyBytes: Uint8Array<ArrayBuffer>;
};

export type DerivedCoin = DerivedKeyPair & {
  /** Input for rfc9474 blindingFactorFromSeed(denominationKey, blindingSeed). */
  readonly blindingSeed: Uint8Array<ArrayBuffer>;
};

function assertSeed(seed: unknown): asserts seed is Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw new TypeError(`seed: expected ${SEED_BYTES} bytes`);
}

function indexBytes(index: unknown): Uint8Array {
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) throw new TypeError('index: expected a non-negative safe integer');
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(index));
  return out;
}

async function hkdf(seed: Uint8Array, purpose: string, index: Uint8Array, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const label = new TextEncoder().encode(purpose);
  const info = new Uint8Array(label.length + index.length);
  info.set(label);
  info.set(index, label.length);
  const ikm = await crypto.subtle.importKey('raw', seed.slice(), 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info }, ikm, length * 8));
}

/** Ed25519 key pair from a 32-byte private key (RFC 8032 §5.1.5 "secret key"). */
export async function ed25519FromSeed(secret: Uint8Array): Promise<DerivedKeyPair> {
  if (!(secret instanceof Uint8Array) || secret.length !== 32) throw new TypeError('secret: expected 32 bytes');
  const pkcs8 = new Uint8Array(ED25519_PKCS8_PREFIX.length + 32);
  pkcs8.set(ED25519_PKCS8_PREFIX);
  pkcs8.set(secret, ED25519_PKCS8_PREFIX.length);
  try {
    // WebCrypto has no "public key of this private key": a private JWK carries x.
    const exportable = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', exportable);
    const privateKey = await crypto.subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']);
    const publicKey = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x! }, { name: 'Ed25519' }, true, ['verify']);
    const publicKeyBytes = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
    return { privateKey, publicKey, publicKeyBytes };
  } finally {
    pkcs8.fill(0);
  }
}

/** Coin `index`: its Ed25519 key pair and the seed of its blinding factor. */
export async function deriveCoin(seed: Uint8Array, index: number): Promise<DerivedCoin> {
  assertSeed(seed);
  const i = indexBytes(index);
  const secret = await hkdf(seed, DERIVATION_INFO.coin, i, 32);
  try {
    const keys = await ed25519FromSeed(secret);
    const blindingSeed = await hkdf(seed, DERIVATION_INFO.blind, i, BLINDING_SEED_BYTES);
    return { ...keys, blindingSeed };
  } finally {
    secret.fill(0);
  }
}

/** Reserve `index`: the Ed25519 key pair whose public key is the bank transfer's subject. */
export async function deriveReserve(seed: Uint8Array, index: number): Promise<DerivedKeyPair> {
  assertSeed(seed);
  const secret = await hkdf(seed, DERIVATION_INFO.reserve, indexBytes(index), 32);
  try {
    return await ed25519FromSeed(secret);
  } finally {
    secret.fill(0);
  }
}

/**
 * The wallet's purse key (mode `account`): a reserve key of its own purpose,
 * index 0 — one purse per wallet, the same key at every payment server it is
 * registered with. Derived, not stored, so a restored wallet pays from its purse.
 */
export async function derivePurse(seed: Uint8Array): Promise<DerivedKeyPair> {
  assertSeed(seed);
  const secret = await hkdf(seed, DERIVATION_INFO.purse, indexBytes(0), 32);
  try {
    return await ed25519FromSeed(secret);
  } finally {
    secret.fill(0);
  }
}
