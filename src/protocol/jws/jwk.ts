// Anonymous per-order keys travel as `jwk` (DESIGN §2). Only the bare public
// members are accepted: a private member means someone is leaking a key (or
// trying to confuse an importer into a private key), and extra members would
// be signed-but-ignored data outside the thumbprint.
import { calculateJwkThumbprint, importJWK } from 'jose';
import { decodeBase64url } from '../base64url.ts';
import { err, ok, type Result } from '../result.ts';
import { isPlainObject } from './shape.ts';
import type { JwsAlgorithm, PublicJwk } from './types.ts';

export type JwkCode = 'PROTO_JWS_JWK_INVALID' | 'PROTO_JWS_KEY_ALG_MISMATCH';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function coordinate(v: unknown): boolean {
  return typeof v === 'string' && decodeBase64url(v)?.length === 32;
}

export async function resolveJwk(
  jwk: unknown,
  alg: JwsAlgorithm,
  index: number,
): Promise<Result<{ key: CryptoKey; thumbprint: string }, JwkCode>> {
  if (!isPlainObject(jwk)) return err('PROTO_JWS_JWK_INVALID', `signature ${index}: jwk must be an object`);
  const keys = Object.keys(jwk);
  if (keys.some((k) => PRIVATE_MEMBERS.includes(k))) return err('PROTO_JWS_JWK_INVALID', `signature ${index}: jwk carries private key material`);
  let pub: PublicJwk;
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && coordinate(jwk.x) && keys.length === 3) {
    pub = { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string };
  } else if (jwk.kty === 'EC' && jwk.crv === 'P-256' && coordinate(jwk.x) && coordinate(jwk.y) && keys.length === 4) {
    pub = { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
  } else {
    return err('PROTO_JWS_JWK_INVALID', `signature ${index}: jwk must be exactly an Ed25519 or P-256 public key`);
  }
  if ((alg === 'EdDSA') !== (pub.kty === 'OKP')) return err('PROTO_JWS_KEY_ALG_MISMATCH', `signature ${index}: jwk key type does not fit alg ${alg}`);
  let key: CryptoKey;
  try {
    const imported = await importJWK({ ...pub }, alg);
    if (!(imported instanceof CryptoKey)) return err('PROTO_JWS_JWK_INVALID', `signature ${index}: jwk is not a key`);
    key = imported;
  } catch {
    return err('PROTO_JWS_JWK_INVALID', `signature ${index}: jwk is not a valid public key`);
  }
  return ok({ key, thumbprint: await calculateJwkThumbprint({ ...pub }, 'sha256') });
}
