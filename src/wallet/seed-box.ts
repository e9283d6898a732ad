// The wallet seed at rest (W/seed.json): 32 random bytes, from which every coin
// and reserve key is derived (derive.ts), so the file is as valuable as the
// coins themselves. It is sealed with AES-256-GCM under a key from
// PBKDF2-HMAC-SHA-256 with 600,000 iterations (OWASP 2023, as keys at rest in
// src/crypto) and a random 16-byte salt. GCM authenticates: a wrong passphrase
// and an altered file both fail the tag check, and are one answer.
//
// {
//   "format": "quittance-wallet-seed/v1",
//   "walletId": "w_…",
//   "kdf": { "name": "PBKDF2", "hash": "SHA-256", "iterations": 600000, "salt": "<base64url, 16 bytes>" },
//   "cipher": { "name": "AES-256-GCM", "iv": "<base64url, 12 bytes>" },
//   "ciphertext": "<base64url, 32-byte seed + 16-byte tag>"
// }
//
// The additional authenticated data is the UTF-8 of "quittance-wallet-seed/v1:" + walletId,
// so a seed file copied into another wallet's directory does not open there.
// WebCrypto only, with randomness passed in: the browser wallet uses the same format.
import { z } from 'zod';
import { decodeBase64url, encodeBase64url } from '../protocol/base64url.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { WalletErrorCode } from './errors.ts';
import { SEED_BYTES } from './derive.ts';

export const SEED_FORMAT = 'quittance-wallet-seed/v1';
export const MIN_ITERATIONS = 600_000;
// A crafted file must not pin a CPU for minutes.
const MAX_ITERATIONS = 10_000_000;

const B64 = z.string().regex(/^[A-Za-z0-9_-]+$/).max(200);

export const SeedFile = z.strictObject({
  format: z.literal(SEED_FORMAT),
  walletId: z.string().regex(/^w_[A-Za-z0-9_-]{22}$/),
  kdf: z.strictObject({
    name: z.literal('PBKDF2'),
    hash: z.literal('SHA-256'),
    iterations: z.number().int(),
    salt: B64,
  }),
  cipher: z.strictObject({ name: z.literal('AES-256-GCM'), iv: B64 }),
  ciphertext: B64,
});
export type SeedFile = z.infer<typeof SeedFile>;

export type SeedBoxCode = Extract<WalletErrorCode, 'WALLET_PASSPHRASE_WRONG' | 'WALLET_SEED_MALFORMED'>;

async function aesKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: salt.slice(), iterations },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function aad(walletId: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${SEED_FORMAT}:${walletId}`);
}

function assertPassphrase(passphrase: unknown): asserts passphrase is string {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new TypeError('passphrase: expected a non-empty string');
}

export async function sealSeed(
  seed: Uint8Array,
  walletId: string,
  passphrase: string,
  random: (n: number) => Uint8Array,
  iterations = MIN_ITERATIONS,
): Promise<SeedFile> {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw new TypeError(`seed: expected ${SEED_BYTES} bytes`);
  assertPassphrase(passphrase);
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) throw new TypeError('iterations: out of range');
  const salt = random(16);
  const iv = random(12);
  const key = await aesKey(passphrase, salt, iterations);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv.slice(), additionalData: aad(walletId) }, key, seed.slice()));
  const file: SeedFile = {
    format: SEED_FORMAT,
    walletId,
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt: encodeBase64url(salt) },
    cipher: { name: 'AES-256-GCM', iv: encodeBase64url(iv) },
    ciphertext: encodeBase64url(ct),
  };
  return SeedFile.parse(file);
}

/** Opens seed.json's parsed JSON: the 32-byte seed, or a coded failure. */
export async function openSeed(json: unknown, passphrase: string): Promise<Result<{ seed: Uint8Array<ArrayBuffer>; walletId: string }, SeedBoxCode>> {
  assertPassphrase(passphrase);
  const parsed = SeedFile.safeParse(json);
  if (!parsed.success) return err('WALLET_SEED_MALFORMED', `seed.json is not a ${SEED_FORMAT} file`);
  const f = parsed.data;
  if (f.kdf.iterations < MIN_ITERATIONS || f.kdf.iterations > MAX_ITERATIONS) {
    return err('WALLET_SEED_MALFORMED', `seed.json: PBKDF2 iterations must be ${MIN_ITERATIONS}..${MAX_ITERATIONS}`);
  }
  const salt = decodeBase64url(f.kdf.salt);
  const iv = decodeBase64url(f.cipher.iv);
  const ct = decodeBase64url(f.ciphertext);
  if (!salt || salt.length < 16 || !iv || iv.length !== 12 || !ct || ct.length !== SEED_BYTES + 16) {
    return err('WALLET_SEED_MALFORMED', 'seed.json: salt, iv or ciphertext has the wrong size');
  }
  const key = await aesKey(passphrase, salt, f.kdf.iterations);
  try {
    const seed = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv.slice(), additionalData: aad(f.walletId) }, key, ct.slice()));
    return ok({ seed, walletId: f.walletId });
  } catch {
    return err('WALLET_PASSPHRASE_WRONG', 'wrong passphrase for this wallet (or seed.json was altered)');
  }
}
