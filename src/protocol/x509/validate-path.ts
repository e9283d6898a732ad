// Certification path validation, ours (DESIGN §5): an RFC 5280 §6 subset that
// fails closed. Library chain builders find *a* chain; they do not check
// basicConstraints, key usage, revocation or our profile, which is where the
// attacks are (a leaf used as a CA, a revoked intermediate, a stale CRL).
//
// Order of checks, each with its own code (the first failure is returned):
//  1. shape and size of the input, then parsing        MALFORMED, PATH_TOO_LONG
//  2. the chain ends at a trust anchor                 UNTRUSTED_ROOT
//  3. top-down: names chain, algorithms allowed,
//     each signature verifies with its issuer's key    CHAIN_BROKEN, ALG_NOT_ALLOWED, SIGNATURE_INVALID
//  4. extensions: critical ones understood, CAs are
//     CAs with keyCertSign and pathLen respected, the
//     leaf signs documents and is not a CA             CRITICAL_EXTENSION, NOT_CA, KEY_USAGE, PATH_TOO_LONG, LEAF_IS_CA
//  5. validity of every certificate, inclusive at now  EXPIRED, NOT_YET_VALID
//  6. the leaf's profile and role                      PROFILE_INVALID, ROLE_MISMATCH
//  7. revocation of every non-anchor certificate       CRL_MISSING, CRL_INVALID, CRL_STALE, REVOKED
import { x509 } from './peculiar.ts';
import { CERT_ALGORITHMS, type CertAlgorithm } from './algorithms.ts';
import { bytesEqual } from './der.ts';
import type { ParsedCertificate } from './parsed.ts';
import { checkRevocation, type ParsedCrl, type RevocationCode } from './revocation.ts';
import {
  createVerificationCache,
  fingerprintCached,
  importSpkiCached,
  isVerificationCache,
  parseCertificateCached,
  parseCrlCached,
  profileCached,
  verifySignatureCached,
  type VerificationCache,
} from './verification-cache.ts';
import { err, ok, type Result } from '../result.ts';
import { ROLES, type Role, type SignerIdentity } from '../identity.ts';

export const DEFAULT_MAX_DEPTH = 4;

export type PathPolicy = {
  /** Self-signed roots, DER. */
  readonly trustAnchors: readonly Uint8Array[];
  readonly now: Date;
  /** Certificates in the path including the anchor; default 4. */
  readonly maxDepth?: number;
  /** DER CRLs; one per CA in the path is required unless requireCrl is false. */
  readonly crls: readonly Uint8Array[];
  readonly requireCrl?: boolean;
  /** A CRL older than this (now - thisUpdate) is stale even before its nextUpdate. */
  readonly crlMaxAgeSeconds: number;
  /** The leaf's role must be one of these; omitted means any role. */
  readonly expectedRoles?: readonly Role[];
  /** Default: all of CERT_ALGORITHMS (Ed25519, ES256). */
  readonly allowedAlgorithms?: readonly CertAlgorithm[];
  /**
   * Memoizes parsing, key imports and signature results across calls
   * (createVerificationCache); every time- and policy-dependent check still runs.
   */
  readonly cache?: VerificationCache;
};

export type CertifiedIdentity = Extract<SignerIdentity, { kind: 'certified' }>;

export type ValidatedPath = {
  readonly identity: CertifiedIdentity;
  /** The leaf's public key, imported for verification. */
  readonly publicKey: CryptoKey;
  readonly keyAlgorithm: CertAlgorithm;
  readonly leaf: x509.X509Certificate;
};

export type PathCode =
  | 'PROTO_CERT_MALFORMED'
  | 'PROTO_CERT_UNTRUSTED_ROOT'
  | 'PROTO_CERT_CHAIN_BROKEN'
  | 'PROTO_CERT_SIGNATURE_INVALID'
  | 'PROTO_CERT_NOT_CA'
  | 'PROTO_CERT_KEY_USAGE'
  | 'PROTO_CERT_PATH_TOO_LONG'
  | 'PROTO_CERT_EXPIRED'
  | 'PROTO_CERT_NOT_YET_VALID'
  | 'PROTO_CERT_ROLE_MISMATCH'
  | 'PROTO_CERT_PROFILE_INVALID'
  | 'PROTO_CERT_CRITICAL_EXTENSION'
  | 'PROTO_CERT_ALG_NOT_ALLOWED'
  | 'PROTO_CERT_LEAF_IS_CA'
  | RevocationCode;

// RFC 5280 §4.2.1: extensions whose meaning we enforce and may thus be critical.
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const UNDERSTOOD_CRITICAL = new Set([OID_BASIC_CONSTRAINTS, OID_KEY_USAGE, OID_SUBJECT_ALT_NAME]);

// KeyUsage bits as @peculiar/x509 numbers them (RFC 5280 §4.2.1.3).
const KU_DIGITAL_SIGNATURE = 1;
const KU_KEY_CERT_SIGN = 32;
const KU_CRL_SIGN = 64;

function isBytesArray(v: unknown): v is readonly Uint8Array[] {
  return Array.isArray(v) && v.every((x) => x instanceof Uint8Array);
}

type Snapshot = {
  chain: Uint8Array[];
  anchors: Uint8Array[];
  crls: Uint8Array[];
  now: Date;
  maxDepth: number;
  requireCrl: boolean;
  crlMaxAgeSeconds: number;
  expectedRoles: readonly Role[] | undefined;
  allowedAlgorithms: readonly CertAlgorithm[];
  cache: VerificationCache | undefined;
};

/** Entries of the call-local cache used when the caller passes none. */
const CALL_CACHE_ENTRIES = 64;

/** Type-checks the arguments and copies everything, before the first await (jose's snapshot habit). */
function snapshot(chain: unknown, policy: PathPolicy): Snapshot {
  if (!isBytesArray(chain)) throw new TypeError('chain must be an array of DER Uint8Arrays');
  if (!policy || typeof policy !== 'object') throw new TypeError('policy must be an object');
  if (!isBytesArray(policy.trustAnchors)) throw new TypeError('policy.trustAnchors must be an array of DER Uint8Arrays');
  if (!isBytesArray(policy.crls)) throw new TypeError('policy.crls must be an array of DER Uint8Arrays');
  if (!(policy.now instanceof Date) || Number.isNaN(policy.now.getTime())) throw new TypeError('policy.now must be a valid Date');
  const maxDepth = policy.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 10) throw new TypeError('policy.maxDepth must be an integer 1..10');
  if (typeof policy.crlMaxAgeSeconds !== 'number' || !(policy.crlMaxAgeSeconds >= 0)) {
    throw new TypeError('policy.crlMaxAgeSeconds must be a non-negative number');
  }
  if (policy.requireCrl !== undefined && typeof policy.requireCrl !== 'boolean') throw new TypeError('policy.requireCrl must be a boolean');
  const roles = policy.expectedRoles;
  if (roles !== undefined && (!Array.isArray(roles) || !roles.every((r) => (ROLES as readonly string[]).includes(r)))) {
    throw new TypeError('policy.expectedRoles must be an array of roles');
  }
  const algs = policy.allowedAlgorithms ?? CERT_ALGORITHMS;
  if (!Array.isArray(algs) || !algs.every((a) => (CERT_ALGORITHMS as readonly string[]).includes(a))) {
    throw new TypeError(`policy.allowedAlgorithms must be a subset of ${CERT_ALGORITHMS.join(', ')}`);
  }
  if (policy.cache !== undefined && !isVerificationCache(policy.cache)) throw new TypeError('policy.cache must come from createVerificationCache');
  return {
    chain: chain.map((c) => c.slice()),
    anchors: policy.trustAnchors.map((c) => c.slice()),
    crls: policy.crls.map((c) => c.slice()),
    now: new Date(policy.now.getTime()),
    maxDepth,
    requireCrl: policy.requireCrl ?? true,
    crlMaxAgeSeconds: policy.crlMaxAgeSeconds,
    expectedRoles: roles ? [...roles] : undefined,
    allowedAlgorithms: [...algs],
    cache: policy.cache,
  };
}

type Keyed = ParsedCertificate & { readonly key: CryptoKey; readonly keyAlgorithm: CertAlgorithm };

/** validatePath(chain leaf-first, policy): the signer's verified identity and key, or the first failed check. */
export async function validatePath(chain: readonly Uint8Array[], policy: PathPolicy): Promise<Result<ValidatedPath, PathCode>> {
  const s = snapshot(chain, policy);
  // Without a caller's cache, a call-local one still spares repeated work
  // inside the call (an anchor sent in the chain, a CRL listed twice).
  const cache = s.cache ?? createVerificationCache({ maxEntries: CALL_CACHE_ENTRIES });

  // 1. Shape, size, parsing.
  if (s.chain.length === 0) return err('PROTO_CERT_MALFORMED', 'empty certificate chain');
  if (s.chain.length > s.maxDepth) return err('PROTO_CERT_PATH_TOO_LONG', `chain longer than ${s.maxDepth} certificates`);
  const certs: ParsedCertificate[] = [];
  for (const [i, der] of s.chain.entries()) {
    const p = parseCertificateCached(cache, der);
    if (!p) return err('PROTO_CERT_MALFORMED', `certificate ${i} cannot be parsed`, { index: i });
    certs.push(p);
  }
  const anchors = s.anchors.map((der, i) => {
    const p = parseCertificateCached(cache, der);
    // A broken trust store is a configuration bug, not an input error.
    if (!p) throw new TypeError(`policy.trustAnchors[${i}] is not a valid certificate`);
    return p;
  });

  // 2. Find the anchor: the chain's top is an anchor, or is issued by one.
  const top = certs[certs.length - 1]!;
  let path: ParsedCertificate[];
  if (anchors.some((a) => bytesEqual(a.der, top.der))) {
    path = certs;
  } else {
    const named = anchors.filter((a) => bytesEqual(a.subjectName, top.issuerName));
    if (named.length === 0) return err('PROTO_CERT_UNTRUSTED_ROOT', 'chain does not end at a trusted root');
    // Several anchors may share a name (key rollover): the one whose key verifies wins,
    // and the signature check in step 3 is then done against it again.
    let found: ParsedCertificate | undefined;
    for (const a of named) {
      const key = await importSpkiCached(cache, a.spki);
      if (
        key &&
        top.signatureAlgorithm === key.alg &&
        (await verifySignatureCached(cache, key.alg, a.spki, key.key, top.envelope.signature, top.envelope.toBeSigned.bytes))
      ) {
        found = a;
        break;
      }
    }
    path = [...certs, found ?? named[0]!];
  }
  if (path.length > s.maxDepth) return err('PROTO_CERT_PATH_TOO_LONG', `path longer than ${s.maxDepth} certificates including the root`);

  // 3. Top-down: every certificate is signed by the next one with an allowed algorithm.
  const imported = await Promise.all(path.map((p) => importSpkiCached(cache, p.spki)));
  const keyed: Keyed[] = [];
  for (const [i, p] of path.entries()) {
    const key = imported[i];
    if (!key || !s.allowedAlgorithms.includes(key.alg)) {
      return err('PROTO_CERT_ALG_NOT_ALLOWED', 'certificate key must be Ed25519 or P-256 and allowed by policy', { index: i });
    }
    keyed.push({ ...p, key: key.key, keyAlgorithm: key.alg });
  }
  // Every signature this path may need (certificates and CRLs) is started now, so
  // that they run together on WebCrypto's thread pool; the checks below still
  // consume them in their fixed order, so the first failure reported is unchanged.
  const crls = s.crls.map((der) => parseCrlCached(cache, der));
  const certSignatures = keyed.slice(0, -1).map((cert, i) => {
    const issuer = keyed[i + 1]!;
    const alg = cert.signatureAlgorithm;
    if (!bytesEqual(cert.issuerName, issuer.subjectName) || !alg || !s.allowedAlgorithms.includes(alg) || alg !== issuer.keyAlgorithm) return undefined;
    return verifySignatureCached(cache, alg, issuer.spki, issuer.key, cert.envelope.signature, cert.envelope.toBeSigned.bytes);
  });
  const crlSignatures = keyed.slice(1).map((issuer) => {
    const started = new Map<ParsedCrl, Promise<boolean>>();
    const verify = (c: ParsedCrl): Promise<boolean> => {
      let v = started.get(c);
      if (!v) {
        v = c.algorithm === issuer.keyAlgorithm ? verifySignatureCached(cache, c.algorithm, issuer.spki, issuer.key, c.signature, c.toBeSigned) : Promise.resolve(false);
        started.set(c, v);
      }
      return v;
    };
    // Only what checkRevocation would verify: a CRL by this issuer, with the issuer's algorithm.
    if (((issuer.keyUsage ?? 0) & KU_CRL_SIGN) !== 0) {
      for (const c of crls) {
        if (c && c.algorithm === issuer.keyAlgorithm && s.allowedAlgorithms.includes(c.algorithm) && bytesEqual(c.issuerName, issuer.subjectName)) void verify(c);
      }
    }
    return verify;
  });
  const fingerprint = fingerprintCached(cache, keyed[0]!.der);

  for (let i = keyed.length - 2; i >= 0; i--) {
    const cert = keyed[i]!;
    const issuer = keyed[i + 1]!;
    if (!bytesEqual(cert.issuerName, issuer.subjectName)) return err('PROTO_CERT_CHAIN_BROKEN', `certificate ${i} is not issued by the next one`, { index: i });
    const alg = cert.signatureAlgorithm;
    if (!alg || !s.allowedAlgorithms.includes(alg) || alg !== issuer.keyAlgorithm) {
      return err('PROTO_CERT_ALG_NOT_ALLOWED', `certificate ${i} signature algorithm not allowed`, { index: i });
    }
    if (!(await certSignatures[i])) {
      return err('PROTO_CERT_SIGNATURE_INVALID', `certificate ${i} signature does not verify`, { index: i });
    }
    // A valid signature under a key other than the one the certificate names is a
    // mis-issuance we refuse to paper over.
    if (cert.authorityKeyId !== undefined && issuer.subjectKeyId !== undefined && cert.authorityKeyId !== issuer.subjectKeyId) {
      return err('PROTO_CERT_CHAIN_BROKEN', `certificate ${i} names another issuer key`, { index: i });
    }
  }

  // 4. Extensions.
  for (const [i, c] of keyed.entries()) {
    const unknown = c.extensions.find((e) => e.critical && !UNDERSTOOD_CRITICAL.has(e.oid));
    if (unknown) return err('PROTO_CERT_CRITICAL_EXTENSION', `certificate ${i} has unknown critical extension ${unknown.oid}`, { index: i, oid: unknown.oid });
    if (i === 0) {
      if (c.basicConstraints?.ca) return err('PROTO_CERT_LEAF_IS_CA', 'a CA certificate cannot sign documents');
      const ku = c.keyUsage;
      // Our profile requires keyUsage on leaves; keyCertSign/cRLSign on a non-CA is
      // inconsistent (RFC 5280 §4.2.1.3) and suggests a mis-issued certificate.
      if (ku === undefined || !(ku & KU_DIGITAL_SIGNATURE) || ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) {
        return err('PROTO_CERT_KEY_USAGE', 'leaf keyUsage must be digitalSignature only');
      }
    } else {
      if (!c.basicConstraints?.ca) return err('PROTO_CERT_NOT_CA', `certificate ${i} is not a CA`, { index: i });
      if (c.keyUsage === undefined || !(c.keyUsage & KU_KEY_CERT_SIGN)) {
        return err('PROTO_CERT_KEY_USAGE', `certificate ${i} lacks keyCertSign`, { index: i });
      }
      // pathLenConstraint counts the intermediate CAs below this one (RFC 5280 §4.2.1.9).
      const below = i - 1;
      const limit = c.basicConstraints.pathLength;
      if (limit !== undefined && below > limit) {
        return err('PROTO_CERT_PATH_TOO_LONG', `certificate ${i} allows ${limit} intermediate CAs below it`, { index: i });
      }
    }
  }

  // 5. Validity, inclusive at both ends (RFC 5280 §4.1.2.5).
  const now = s.now.getTime();
  for (const [i, c] of keyed.entries()) {
    if (now < c.notBefore.getTime()) return err('PROTO_CERT_NOT_YET_VALID', `certificate ${i} is not yet valid`, { index: i });
    if (now > c.notAfter.getTime()) return err('PROTO_CERT_EXPIRED', `certificate ${i} has expired`, { index: i });
  }

  // 6. Profile and role of the leaf.
  const leaf = keyed[0]!;
  const profile = profileCached(cache, leaf);
  if (!profile.ok) return profile;
  if (s.expectedRoles && !s.expectedRoles.includes(profile.value.role)) {
    return err('PROTO_CERT_ROLE_MISMATCH', `signer role ${profile.value.role} not in ${s.expectedRoles.join(', ')}`, {
      role: profile.value.role,
    });
  }

  // 7. Revocation, top-down, for every certificate but the anchor.
  const parsedCrls: ParsedCrl[] = [];
  for (const c of crls) {
    if (!c) return err('PROTO_CERT_CRL_INVALID', 'a CRL in the policy cannot be parsed');
    parsedCrls.push(c);
  }
  for (let i = keyed.length - 2; i >= 0; i--) {
    const r = await checkRevocation(
      { serialHex: keyed[i]!.serialHex },
      keyed[i + 1]!,
      parsedCrls,
      { now: s.now, crlMaxAgeSeconds: s.crlMaxAgeSeconds, requireCrl: s.requireCrl, allowedAlgorithms: s.allowedAlgorithms },
      crlSignatures[i]!,
    );
    if (!r.ok) return err(r.code, `${r.message} (certificate ${i})`, { index: i });
  }

  const leafDer = leaf.der;
  let leafCert: x509.X509Certificate | undefined;
  return ok({
    identity: {
      kind: 'certified',
      partyId: profile.value.partyId,
      role: profile.value.role,
      displayName: profile.value.displayName,
      issuer: leaf.issuer,
      fingerprint: await fingerprint,
      // Fresh Dates: the parsed certificate may be shared through the cache.
      notBefore: new Date(leaf.notBefore.getTime()),
      notAfter: new Date(leaf.notAfter.getTime()),
    },
    publicKey: leaf.key,
    keyAlgorithm: leaf.keyAlgorithm,
    // Parsed on first use, per result: the parsed certificate may be shared
    // through the cache and must not be handed out mutably.
    get leaf(): x509.X509Certificate {
      leafCert ??= new x509.X509Certificate(leafDer.slice());
      return leafCert;
    },
  });
}
