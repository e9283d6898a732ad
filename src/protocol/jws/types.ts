// Shapes shared by signing and verification (RFC 7515 §7.2.1, general JSON serialization).
import type { Role } from '../identity.ts';

export const JWS_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

export type GeneralJws = {
  readonly payload: string;
  readonly signatures: readonly { readonly protected: string; readonly signature: string }[];
};

/** A public JWK for an anonymous per-order key (RFC 8037 OKP Ed25519 or RFC 7518 EC P-256). */
export type PublicJwk =
  | { readonly kty: 'OKP'; readonly crv: 'Ed25519'; readonly x: string }
  | { readonly kty: 'EC'; readonly crv: 'P-256'; readonly x: string; readonly y: string };

export type SignerOptions = {
  /** Document kind, e.g. 'quittance.invoice.v1+json' (PROTOCOL.md §3); binds the signature to one kind (RFC 7515 §4.1.9). */
  readonly typ: string;
  readonly privateKey: CryptoKey;
  readonly alg: JwsAlgorithm;
  /** Certificate chain, DER, leaf first (RFC 7515 §4.1.6). Exactly one of x5c and jwk. */
  readonly x5c?: readonly Uint8Array[];
  /** The public key itself, for anonymous per-order keys (DESIGN §2). */
  readonly jwk?: PublicJwk;
};

/**
 * What one signature position must be: certified (optionally with given roles),
 * anonymous (a jwk key), or either.
 */
export type SignerExpectation =
  | { readonly roles?: readonly Role[] }
  | { readonly anonymous: true }
  | { readonly roles?: readonly Role[]; readonly orAnonymous: true };

// Size limits: far above what our documents need, low enough that an attacker
// cannot make us parse or verify without bound.
export const JWS_LIMITS = {
  maxSignatures: 8,
  maxX5c: 5,
  maxPayloadChars: 1024 * 1024,
  maxProtectedChars: 64 * 1024,
  maxSignatureChars: 256,
  maxTypChars: 128,
} as const;
