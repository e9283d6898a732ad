// Verifying a signed document (DESIGN §5). Order: syntax and policy checks
// that need no cryptography (shape, count, alg, typ, crit, key presence) for
// every signature first; then keys (certificate path or anonymous jwk) and
// signatures; only then is the now-authenticated payload parsed and required
// to be canonical. The first failure is returned; nothing is partially accepted.
import { flattenedVerify } from 'jose';
import { decodeBase64url } from '../base64url.ts';
import type { SignerIdentity } from '../identity.ts';
import { err, ok, type Result } from '../result.ts';
import { canonicalizeToBytes } from '../rfc8785.ts';
import { bytesEqual } from '../x509/der.ts';
import { validatePath, type PathCode, type PathPolicy } from '../x509/validate-path.ts';
import { createVerificationCache, decodeBase64Cached, isVerificationCache, type VerificationCache } from '../x509/verification-cache.ts';
import { documentHash } from './document-hash.ts';
import { resolveJwk, type JwkCode } from './jwk.ts';
import { decodeProtectedHeader, decodeX5c, isPlainObject, snapshotJws, type HeaderCode } from './shape.ts';
import { JWS_ALGORITHMS, JWS_LIMITS, type JwsAlgorithm, type SignerExpectation } from './types.ts';
import { ROLES } from '../identity.ts';

export type VerifyPolicy = {
  readonly now: Date;
  readonly trustAnchors: readonly Uint8Array[];
  readonly crls: readonly Uint8Array[];
  readonly crlMaxAgeSeconds: number;
  readonly requireCrl?: boolean;
  /** Every signature's protected `typ` must equal this. */
  readonly expectedTyp: string;
  /** One entry per expected signature, in order. */
  readonly signers: readonly SignerExpectation[];
  /** Default ['EdDSA', 'ES256']; 'none', HS*, RS* and anything else are refused regardless. */
  readonly algorithms?: readonly JwsAlgorithm[];
  /** Certificates per path including the root; default 4. */
  readonly maxChainDepth?: number;
  /** Shared across calls to memoize certificate and CRL work (createVerificationCache); see verification-cache.ts. */
  readonly cache?: VerificationCache;
};

export type VerifiedDocument = {
  readonly payload: unknown;
  readonly payloadBytes: Uint8Array;
  /** base64url SHA-256 of payloadBytes. */
  readonly documentHash: string;
  /** One per signature, in order. */
  readonly signers: SignerIdentity[];
};

export type JwsCode =
  | 'PROTO_JWS_MALFORMED'
  | 'PROTO_JWS_ALG_NOT_ALLOWED'
  | 'PROTO_JWS_TYP_MISMATCH'
  | 'PROTO_JWS_SIGNATURE_INVALID'
  | 'PROTO_JWS_CRIT_UNSUPPORTED'
  | 'PROTO_JWS_KEY_MISSING'
  | 'PROTO_JWS_PAYLOAD_NOT_CANONICAL'
  | 'PROTO_JWS_SIGNER_COUNT'
  | 'PROTO_JWS_SIGNER_MISMATCH'
  | HeaderCode
  | JwkCode;

export type VerifyCode = JwsCode | PathCode;

/** Entries of the call-local cache used when the caller passes none. */
const CALL_CACHE_ENTRIES = 64;

type Checked = { alg: JwsAlgorithm; x5c?: Uint8Array[]; jwk?: unknown; expectation: SignerExpectation };

function checkPolicy(policy: VerifyPolicy): void {
  if (!policy || typeof policy !== 'object') throw new TypeError('policy must be an object');
  if (typeof policy.expectedTyp !== 'string' || policy.expectedTyp.length === 0) throw new TypeError('policy.expectedTyp must be a non-empty string');
  if (!Array.isArray(policy.signers) || policy.signers.length === 0) throw new TypeError('policy.signers must be a non-empty array');
  for (const [i, s] of policy.signers.entries()) {
    if (!s || typeof s !== 'object') throw new TypeError(`policy.signers[${i}] must be an object`);
    const roles = (s as { roles?: unknown }).roles;
    if (roles !== undefined && (!Array.isArray(roles) || !roles.every((r) => (ROLES as readonly string[]).includes(r)))) {
      throw new TypeError(`policy.signers[${i}].roles must be an array of roles`);
    }
  }
  if (policy.cache !== undefined && !isVerificationCache(policy.cache)) throw new TypeError('policy.cache must come from createVerificationCache');
  const algs = policy.algorithms;
  if (algs !== undefined && (!Array.isArray(algs) || !algs.every((a) => (JWS_ALGORITHMS as readonly string[]).includes(a)))) {
    throw new TypeError(`policy.algorithms must be a subset of ${JWS_ALGORITHMS.join(', ')}`);
  }
}

function anonymousOnly(e: SignerExpectation): boolean {
  return 'anonymous' in e && e.anonymous === true;
}
function anonymousAllowed(e: SignerExpectation): boolean {
  return anonymousOnly(e) || ('orAnonymous' in e && e.orAnonymous === true);
}

export async function verifyDocument(jws: unknown, policy: VerifyPolicy): Promise<Result<VerifiedDocument, VerifyCode>> {
  checkPolicy(policy);
  // Snapshot the input and the policy's mutable parts before the first await.
  const snap = snapshotJws(jws);
  if (!snap.ok) return snap;
  const { payload, signatures } = snap.value;
  const expectations = policy.signers.map((s): SignerExpectation => ('roles' in s && Array.isArray(s.roles) ? { ...s, roles: [...s.roles] } : { ...s }));
  const algorithms: readonly string[] = [...(policy.algorithms ?? JWS_ALGORITHMS)];
  const expectedTyp = policy.expectedTyp;
  const pathPolicy: PathPolicy = {
    trustAnchors: policy.trustAnchors.map((c) => c.slice()),
    crls: policy.crls.map((c) => c.slice()),
    now: new Date(policy.now.getTime()),
    crlMaxAgeSeconds: policy.crlMaxAgeSeconds,
    ...(policy.requireCrl !== undefined ? { requireCrl: policy.requireCrl } : {}),
    ...(policy.maxChainDepth !== undefined ? { maxDepth: policy.maxChainDepth } : {}),
    // Without a caller's cache, the signatures of one document (a countersigned
    // one shares intermediate, root and CRLs) still share parsing and imports.
    cache: policy.cache ?? createVerificationCache({ maxEntries: CALL_CACHE_ENTRIES }),
  };
  const cache = pathPolicy.cache!;

  if (signatures.length !== expectations.length) {
    return err('PROTO_JWS_SIGNER_COUNT', `expected ${expectations.length} signatures, got ${signatures.length}`);
  }

  // 1. Everything that needs no cryptography, for every signature.
  const checked: Checked[] = [];
  for (const [i, sig] of signatures.entries()) {
    const h = decodeProtectedHeader(sig.protected, i);
    if (!h.ok) return h;
    const { alg, typ, x5c, jwk } = h.value;
    // Before any key is touched: 'none', HMAC (key confusion with a public key),
    // RSA and unknown names never reach jose.
    if (typeof alg !== 'string' || !(JWS_ALGORITHMS as readonly string[]).includes(alg) || !algorithms.includes(alg)) {
      return err('PROTO_JWS_ALG_NOT_ALLOWED', `signature ${i}: alg ${String(alg)} not allowed`, { index: i });
    }
    // typ in EVERY signature: a countersignature made for another kind of
    // document must not be replayable here.
    if (typeof typ !== 'string' || typ.length > JWS_LIMITS.maxTypChars || typ !== expectedTyp) {
      return err('PROTO_JWS_TYP_MISMATCH', `signature ${i}: typ is not ${expectedTyp}`, { index: i });
    }
    const expectation = expectations[i]!;
    if (x5c !== undefined && jwk !== undefined) return err('PROTO_JWS_MALFORMED', `signature ${i}: both x5c and jwk`, { index: i });
    if (x5c === undefined && jwk === undefined) return err('PROTO_JWS_KEY_MISSING', `signature ${i}: neither x5c nor jwk`, { index: i });
    if (jwk !== undefined && !anonymousAllowed(expectation)) {
      return err('PROTO_JWS_SIGNER_MISMATCH', `signature ${i}: a certified signer is required`, { index: i });
    }
    if (x5c !== undefined && anonymousOnly(expectation)) {
      return err('PROTO_JWS_SIGNER_MISMATCH', `signature ${i}: an anonymous signer is required`, { index: i });
    }
    if (x5c !== undefined) {
      const chain = decodeX5c(x5c, i, (text) => decodeBase64Cached(cache, text));
      if (!chain.ok) return chain;
      checked.push({ alg: alg as JwsAlgorithm, x5c: chain.value, expectation });
    } else {
      checked.push({ alg: alg as JwsAlgorithm, jwk, expectation });
    }
  }
  const payloadBytes = decodeBase64url(payload);
  if (!payloadBytes) return err('PROTO_JWS_MALFORMED', 'payload is not canonical base64url');
  // Started now so that the hash runs alongside the signature checks; it is a pure
  // function of the bytes, and returned only if every check below passes.
  const hashing = documentHash(payloadBytes);
  hashing.catch(() => undefined); // observed here; a failure still surfaces at the await below

  // 2. Keys and signatures.
  const signers: SignerIdentity[] = [];
  for (const [i, c] of checked.entries()) {
    let key: CryptoKey;
    if (c.x5c) {
      const roles = 'roles' in c.expectation ? c.expectation.roles : undefined;
      const path = await validatePath(c.x5c, { ...pathPolicy, ...(roles ? { expectedRoles: roles } : {}) });
      if (!path.ok) return err(path.code, `signature ${i}: ${path.message}`, { index: i, ...(path.details as object | undefined) });
      if ((c.alg === 'EdDSA') !== (path.value.keyAlgorithm === 'Ed25519')) {
        return err('PROTO_JWS_KEY_ALG_MISMATCH', `signature ${i}: certificate key does not fit alg ${c.alg}`, { index: i });
      }
      key = path.value.publicKey;
      signers.push(path.value.identity);
    } else {
      const r = await resolveJwk(c.jwk, c.alg, i);
      if (!r.ok) return err(r.code, r.message, { index: i });
      key = r.value.key;
      signers.push({ kind: 'anonymous', thumbprint: r.value.thumbprint });
    }
    const sig = signatures[i]!;
    try {
      await flattenedVerify({ payload, protected: sig.protected, signature: sig.signature }, key, { algorithms: [c.alg] });
    } catch {
      return err('PROTO_JWS_SIGNATURE_INVALID', `signature ${i} does not verify`, { index: i });
    }
  }

  // 3. The authenticated payload: JSON, and canonical, so that its hash is the document's only id.
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
  } catch {
    return err('PROTO_JWS_MALFORMED', 'payload is not UTF-8 JSON');
  }
  // Bytes, not decoded text: TextDecoder silently drops a leading BOM, and the
  // hash is taken over the bytes.
  const canonical = canonicalizeToBytes(parsed);
  if (!canonical.ok || !bytesEqual(canonical.value, payloadBytes)) {
    return err('PROTO_JWS_PAYLOAD_NOT_CANONICAL', 'payload is not RFC 8785 canonical JSON');
  }
  // The payload's own typ (PROTOCOL.md §3) must name the same kind as the header,
  // or one signature would be evidence of two kinds of document.
  if (isPlainObject(parsed) && Object.hasOwn(parsed, 'typ') && parsed.typ !== expectedTyp) {
    return err('PROTO_JWS_TYP_MISMATCH', `payload typ is not ${expectedTyp}`);
  }
  return ok({ payload: parsed, payloadBytes, documentHash: await hashing, signers });
}
