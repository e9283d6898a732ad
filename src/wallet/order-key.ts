// Anonymous per-order keys (DESIGN §2): a fresh Ed25519 key signs the order,
// countersigns the invoice and must later sign the repayment request (fig. 20),
// so it has to outlive the purchase. It is derived from the wallet seed like
// the coin keys (derive.ts), under its own purpose label, from an index stored
// before the order is signed: the seed alone recovers every order key, and no
// two orders share one (the shop could otherwise link them).
import type { Transaction } from 'kysely';
import { encodeBase64url } from '../protocol/base64url.ts';
import { resolveJwk } from '../protocol/jws/jwk.ts';
import type { PublicJwk } from '../protocol/jws.ts';
import type { WalletDatabase } from './db.ts';
import { ed25519FromSeed, SEED_BYTES } from './derive.ts';

export const ORDER_KEY_INFO = 'quittance/order/v1';

// The same salt as derive.ts: one seed, purposes separated by `info`.
const SALT = new TextEncoder().encode('quittance/wallet-seed');

export type OrderKey = { privateKey: CryptoKey; jwk: PublicJwk; thumbprint: string };

/** Order key `index`: HKDF-SHA256(seed, salt, "quittance/order/v1" ‖ index as 8 bytes big-endian) as an Ed25519 secret. */
export async function deriveOrderKey(seed: Uint8Array, index: number): Promise<OrderKey> {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw new TypeError(`seed: expected ${SEED_BYTES} bytes`);
  if (!Number.isSafeInteger(index) || index < 0) throw new TypeError('index: expected a non-negative safe integer');
  const label = new TextEncoder().encode(ORDER_KEY_INFO);
  const info = new Uint8Array(label.length + 8);
  info.set(label);
  new DataView(info.buffer).setBigUint64(label.length, BigInt(index));
  const ikm = await crypto.subtle.importKey('raw', seed.slice(), 'HKDF', false, ['deriveBits']);
  const secret = new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: SALT, info }, ikm, 256));
  try {
    const keys = await ed25519FromSeed(secret);
    const jwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: encodeBase64url(keys.publicKeyBytes) };
    // The verifier's own computation (RFC 7638), so the purchaser id is what the shop and payment server derive.
    const resolved = await resolveJwk({ ...jwk }, 'EdDSA', 0);
    if (!resolved.ok) throw new Error(`a derived order key is not a valid JWK: ${resolved.message}`);
    return { privateKey: keys.privateKey, jwk, thumbprint: resolved.value.thumbprint };
  } finally {
    secret.fill(0);
  }
}

/** A fresh order key index, stored in `tx` (the primary key refuses a reuse). */
export async function allocateOrderKey(tx: Transaction<WalletDatabase>, now: Date): Promise<number> {
  const r = await tx.selectFrom('wallet_order_keys').select((eb) => eb.fn.max('idx').as('m')).executeTakeFirst();
  const idx = r?.m === null || r?.m === undefined ? 0 : Number(r.m) + 1;
  await tx.insertInto('wallet_order_keys').values({ idx, created_at: now.toISOString() }).execute();
  return idx;
}
