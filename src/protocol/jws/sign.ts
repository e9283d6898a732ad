// Signing and countersigning documents (DESIGN §5). The payload is the RFC 8785
// canonical JSON of the document; a countersignature is one more signature over
// the very same payload string, never a re-serialisation of a decoded object.
import { FlattenedSign, GeneralSign } from 'jose';
import { decodeBase64url, encodeBase64 } from '../base64url.ts';
import { canonicalizeToBytes } from '../rfc8785.ts';
import { JWS_ALGORITHMS, JWS_LIMITS, type GeneralJws, type SignerOptions } from './types.ts';

function protectedHeader(s: SignerOptions): Record<string, unknown> {
  if (!s || typeof s !== 'object') throw new TypeError('signer must be an object');
  if (!JWS_ALGORITHMS.includes(s.alg)) throw new TypeError(`alg must be one of ${JWS_ALGORITHMS.join(', ')}`);
  if (typeof s.typ !== 'string' || s.typ.length === 0 || s.typ.length > JWS_LIMITS.maxTypChars) throw new TypeError('typ must be a non-empty string');
  const k = s.privateKey;
  if (!(k instanceof CryptoKey) || k.type !== 'private') throw new TypeError('privateKey must be a private CryptoKey');
  const ka = k.algorithm as { name: string; namedCurve?: string };
  const fits = s.alg === 'EdDSA' ? ka.name === 'Ed25519' : ka.name === 'ECDSA' && ka.namedCurve === 'P-256';
  if (!fits) throw new TypeError(`privateKey does not fit alg ${s.alg}`);
  if ((s.x5c === undefined) === (s.jwk === undefined)) throw new TypeError('give exactly one of x5c and jwk');
  const header: Record<string, unknown> = { alg: s.alg, typ: s.typ };
  if (s.x5c !== undefined) {
    if (!Array.isArray(s.x5c) || s.x5c.length === 0 || s.x5c.length > JWS_LIMITS.maxX5c || !s.x5c.every((c) => c instanceof Uint8Array)) {
      throw new TypeError(`x5c must be 1..${JWS_LIMITS.maxX5c} DER certificates`);
    }
    header.x5c = s.x5c.map((c) => encodeBase64(c));
  } else {
    const j = s.jwk as Record<string, unknown>;
    if (!j || typeof j !== 'object' || 'd' in j) throw new TypeError('jwk must be a public JWK');
    const okp = s.alg === 'EdDSA' && j.kty === 'OKP' && j.crv === 'Ed25519' && typeof j.x === 'string';
    const ec = s.alg === 'ES256' && j.kty === 'EC' && j.crv === 'P-256' && typeof j.x === 'string' && typeof j.y === 'string';
    if (!okp && !ec) throw new TypeError(`jwk does not fit alg ${s.alg}`);
    // Only the required members (RFC 7638 §3.2): what the thumbprint covers is all there is.
    header.jwk = okp ? { kty: 'OKP', crv: 'Ed25519', x: j.x } : { kty: 'EC', crv: 'P-256', x: j.x, y: j.y };
  }
  return header;
}

/** Signs a JSON document: payload = its RFC 8785 canonical bytes. Throws TypeError on bad arguments. */
export async function signDocument(p: { readonly payload: unknown } & SignerOptions): Promise<GeneralJws> {
  if (!p || typeof p.payload !== 'object' || p.payload === null || Array.isArray(p.payload)) {
    throw new TypeError('payload must be a plain JSON object');
  }
  const header = protectedHeader(p);
  // A verifier refuses a payload typ other than the header's (PROTO_JWS_TYP_MISMATCH).
  if (Object.hasOwn(p.payload, 'typ') && (p.payload as { typ?: unknown }).typ !== p.typ) throw new TypeError('payload.typ must equal typ');
  const bytes = canonicalizeToBytes(p.payload);
  if (!bytes.ok) throw new TypeError(`payload: ${bytes.message}`);
  const jws = await new GeneralSign(bytes.value).addSignature(p.privateKey).setProtectedHeader(header).sign();
  return { payload: jws.payload, signatures: jws.signatures.map((s) => ({ protected: s.protected!, signature: s.signature })) };
}

/**
 * Adds one signature over the same payload. It does not verify the existing
 * signatures: verify the document first (verifyDocument), then countersign.
 */
export async function countersign(jws: GeneralJws, signer: SignerOptions): Promise<GeneralJws> {
  if (!jws || typeof jws.payload !== 'string' || !Array.isArray(jws.signatures)) throw new TypeError('jws must be a general JWS');
  if (jws.signatures.length >= JWS_LIMITS.maxSignatures) throw new TypeError(`at most ${JWS_LIMITS.maxSignatures} signatures`);
  const payload = jws.payload;
  const signatures = jws.signatures.map((s) => ({ protected: s.protected, signature: s.signature }));
  const bytes = decodeBase64url(payload);
  if (!bytes) throw new TypeError('jws.payload is not canonical base64url');
  const header = protectedHeader(signer);
  const flat = await new FlattenedSign(bytes).setProtectedHeader(header).sign(signer.privateKey);
  // Canonical base64url round-trips, so this holds; checked because the signature
  // must cover exactly the payload string the other signers signed.
  if (flat.payload !== payload) throw new Error('countersign: payload encoding changed');
  return { payload, signatures: [...signatures, { protected: flat.protected!, signature: flat.signature }] };
}
