// A bounded cache for certificate path validation that the CALLER creates and
// passes in (PathPolicy.cache, VerifyPolicy.cache); the pure core keeps no
// hidden state between calls. Servers verify the same few chains and CRLs
// over and over (every invoice carries the same chain), and parsing them with
// @peculiar/x509 costs several times more than the signatures do.
//
// Why it is sound: it memoizes only PURE functions of exact bytes, keyed by
// those bytes in full (one character per byte, length-prefixed, so two keys are
// equal iff the byte strings are; no hash, no collision argument):
//   - the parse of a certificate or CRL (key: its whole DER),
//   - the leaf profile and SHA-256 fingerprint (key: the certificate DER),
//   - the import of a public key (key: the SPKI DER),
//   - a signature result (key: algorithm, signer SPKI, signature, signed bytes),
//   - the strict base64 decoding of an x5c entry (key: the text; a copy is returned).
// Nothing that depends on the clock or the policy is cached: validity at now,
// CRL freshness, the revocation lookup, allowed algorithms, name chaining,
// key usage, depth, roles, typ are evaluated on every call from the cached
// facts. A failed parse or a false signature is cached as what it is.
// Inputs are copied before they are parsed and stored, so mutating a caller's
// buffer afterwards changes neither key nor value. Cached values are frozen or
// stay inside the core; public keys handed out are frozen CryptoKeys (their
// `algorithm` and `usages` objects too), so one caller cannot alter what
// another is given.
// Bounded: least-recently-used eviction past maxEntries, or past maxKeyBytes of
// keys (the DER bytes themselves, so a few huge CRLs cannot hold gigabytes).
import { importSpki, verifyX509Signature, type CertAlgorithm } from './algorithms.ts';
import { fingerprintSha256 } from './certificate.ts';
import { parseForPath, type ParsedCertificate } from './parsed.ts';
import { readProfile, type CertificateProfile } from './profile.ts';
import { parseCrlForPath, type ParsedCrl } from './revocation.ts';
import { decodeBase64 } from '../base64url.ts';
import type { Result } from '../result.ts';

export type VerificationCacheOptions = {
  /** Entries kept, 1..1,000,000; a chain of 2 with 2 CRLs uses about 12. */
  readonly maxEntries: number;
  /** Bound on the summed key length (≈ bytes of DER held); default 64 MiB. */
  readonly maxKeyBytes?: number;
};

const DEFAULT_MAX_KEY_BYTES = 64 * 1024 * 1024;

type Store = { map: Map<string, unknown>; keyBytes: number; readonly maxEntries: number; readonly maxKeyBytes: number };

let storeOf: (cache: VerificationCache) => Store;

/** Opaque outside this module: only the memoized operations below can read or write it. */
export class VerificationCache {
  readonly #store: Store;
  static {
    storeOf = (cache) => cache.#store;
  }
  constructor(options: VerificationCacheOptions) {
    if (!options || typeof options !== 'object') throw new TypeError('options must be an object');
    const { maxEntries, maxKeyBytes = DEFAULT_MAX_KEY_BYTES } = options;
    if (!Number.isInteger(maxEntries) || maxEntries < 1 || maxEntries > 1_000_000) throw new TypeError('options.maxEntries must be an integer 1..1000000');
    if (!Number.isInteger(maxKeyBytes) || maxKeyBytes < 1) throw new TypeError('options.maxKeyBytes must be a positive integer');
    this.#store = { map: new Map(), keyBytes: 0, maxEntries, maxKeyBytes };
    Object.freeze(this);
  }
  get size(): number {
    return this.#store.map.size;
  }
  clear(): void {
    this.#store.map.clear();
    this.#store.keyBytes = 0;
  }
}

export function createVerificationCache(options: VerificationCacheOptions): VerificationCache {
  return new VerificationCache(options);
}

export function isVerificationCache(v: unknown): v is VerificationCache {
  return v instanceof VerificationCache;
}

// Bytes to a string, one character per byte. The WHATWG windows-1252 decoder is
// native (ten times faster than String.fromCharCode here) and maps each of the 256
// bytes to its own character, so equal strings mean equal bytes; checked once at
// load, with a plain loop as the fallback should a platform decode otherwise.
const WIN1252 = new TextDecoder('windows-1252');
const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const DECODER_IS_INJECTIVE = (() => {
  const s = WIN1252.decode(ALL_BYTES);
  return s.length === 256 && new Set(s).size === 256;
})();

function bytesToKey(p: Uint8Array): string {
  if (DECODER_IS_INJECTIVE) return WIN1252.decode(p);
  let s = '';
  for (const b of p) s += String.fromCharCode(b);
  return s;
}

function keyOf(kind: string, ...parts: readonly (Uint8Array | string)[]): string {
  let s = kind;
  // Length-prefixed, so that no two part lists give the same key.
  for (const p of parts) s += typeof p === 'string' ? `|${p.length}:${p}` : `|${p.length}:${bytesToKey(p)}`;
  return s;
}

function memo<T>(cache: VerificationCache, key: string, compute: () => T): T {
  const store = storeOf(cache);
  if (store.map.has(key)) {
    const hit = store.map.get(key) as T;
    // Map keeps insertion order: re-inserting marks the entry most recently used.
    store.map.delete(key);
    store.map.set(key, hit);
    return hit;
  }
  const value = compute();
  if (key.length > store.maxKeyBytes) return value; // too large to keep at all
  store.map.set(key, value);
  store.keyBytes += key.length;
  for (const oldest of store.map.keys()) {
    if (store.map.size <= store.maxEntries && store.keyBytes <= store.maxKeyBytes) break;
    store.map.delete(oldest);
    store.keyBytes -= oldest.length;
  }
  return value;
}

function freeze<T>(v: T): T {
  return v === undefined ? v : Object.freeze(v);
}

/** parseForPath, memoized by the whole DER. The parsed object stays inside the core. */
export function parseCertificateCached(cache: VerificationCache, der: Uint8Array): ParsedCertificate | undefined {
  return memo(cache, keyOf('cert', der), () => freeze(parseForPath(der.slice())));
}

/** parseCrlForPath, memoized by the whole DER. The parsed object stays inside the core. */
export function parseCrlCached(cache: VerificationCache, der: Uint8Array): ParsedCrl | undefined {
  return memo(cache, keyOf('crl', der), () => freeze(parseCrlForPath(der.slice())));
}

export type ImportedKey = { readonly key: CryptoKey; readonly alg: CertAlgorithm };

/** importSpki, memoized by the SPKI; the key is frozen because callers receive it. */
export function importSpkiCached(cache: VerificationCache, spki: Uint8Array): Promise<ImportedKey | undefined> {
  const copy = spki.slice();
  return memo(cache, keyOf('spki', copy), async () => {
    const imported = await importSpki(copy);
    if (!imported) return undefined;
    Object.freeze(imported.key.algorithm);
    Object.freeze(imported.key.usages);
    Object.freeze(imported.key);
    return Object.freeze(imported);
  });
}

/**
 * An X.509 signature check, memoized by (algorithm, signer SPKI, signature,
 * signed bytes). `key` must be the import of `spki` (importSpkiCached); never rejects.
 */
export function verifySignatureCached(
  cache: VerificationCache,
  alg: CertAlgorithm,
  spki: Uint8Array,
  key: CryptoKey,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  const sig = signature.slice();
  const tbs = data.slice();
  return memo(cache, keyOf('sig', alg, spki, sig, tbs), () => verifyX509Signature(alg, key, sig, tbs).catch(() => false));
}

/** readProfile of a parsed certificate, memoized by its DER. */
export function profileCached(cache: VerificationCache, cert: ParsedCertificate): Result<CertificateProfile, 'PROTO_CERT_PROFILE_INVALID'> {
  return memo(cache, keyOf('profile', cert.der), () => {
    const r = readProfile(cert.cert);
    return r.ok ? Object.freeze({ ok: true as const, value: Object.freeze(r.value) }) : Object.freeze(r);
  });
}

/** fingerprintSha256 of a certificate, memoized by its DER. */
export function fingerprintCached(cache: VerificationCache, der: Uint8Array): Promise<string> {
  const copy = der.slice();
  return memo(cache, keyOf('fpr', copy), () => fingerprintSha256(copy));
}

/** Strict base64 decoding of an x5c entry, memoized by the text; every caller gets its own copy. */
export function decodeBase64Cached(cache: VerificationCache, text: string): Uint8Array | undefined {
  return memo(cache, keyOf('b64', text), () => decodeBase64(text))?.slice();
}
