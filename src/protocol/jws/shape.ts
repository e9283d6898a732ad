// Syntax of an untrusted general JWS, read once into fresh objects (the
// snapshot: nothing the caller holds can change under us across an await),
// with size limits, before any cryptography.
import { decodeBase64, decodeBase64url } from '../base64url.ts';
import { err, ok, type Result } from '../result.ts';
import { JWS_LIMITS } from './types.ts';

export type RawSignature = { readonly protected: string; readonly signature: string };
export type RawJws = { readonly payload: string; readonly signatures: readonly RawSignature[] };

export type ShapeCode = 'PROTO_JWS_MALFORMED';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function malformed(message: string): Result<never, ShapeCode> {
  return err('PROTO_JWS_MALFORMED', message);
}

function str(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

/** Copies the JWS out of `input`, rejecting anything but { payload, signatures[{protected, signature, header?}] }. */
export function snapshotJws(input: unknown): Result<RawJws, ShapeCode> {
  try {
    if (!isPlainObject(input)) return malformed('JWS must be a JSON object');
    const keys = Object.keys(input);
    if (keys.some((k) => k !== 'payload' && k !== 'signatures')) return malformed('JWS has members other than payload and signatures');
    const payload = str(input.payload, JWS_LIMITS.maxPayloadChars);
    if (payload === undefined) return malformed('payload must be a string within the size limit');
    const sigs = input.signatures;
    if (!Array.isArray(sigs) || sigs.length < 1 || sigs.length > JWS_LIMITS.maxSignatures) {
      return malformed(`signatures must be an array of 1..${JWS_LIMITS.maxSignatures}`);
    }
    const signatures: RawSignature[] = [];
    for (const [i, s] of Array.from(sigs).entries()) {
      if (!isPlainObject(s)) return malformed(`signature ${i} must be an object`);
      if (Object.keys(s).some((k) => k !== 'protected' && k !== 'signature' && k !== 'header')) {
        return malformed(`signature ${i} has unknown members`);
      }
      // Unprotected header parameters are not signed: anyone can add or change them.
      // We read none, so we accept none, lest another verifier read them.
      if (s.header !== undefined && !(isPlainObject(s.header) && Object.keys(s.header).length === 0)) {
        return malformed(`signature ${i} has unprotected header parameters`);
      }
      const prot = str(s.protected, JWS_LIMITS.maxProtectedChars);
      const signature = str(s.signature, JWS_LIMITS.maxSignatureChars);
      if (prot === undefined || signature === undefined) return malformed(`signature ${i}: protected and signature must be strings`);
      signatures.push({ protected: prot, signature });
    }
    return ok({ payload, signatures });
  } catch {
    // A getter or proxy that throws: still just bad input.
    return malformed('JWS cannot be read');
  }
}

export type ProtectedHeader = {
  readonly alg: unknown;
  readonly typ: unknown;
  readonly x5c?: unknown;
  readonly jwk?: unknown;
};

export type HeaderCode = 'PROTO_JWS_MALFORMED' | 'PROTO_JWS_CRIT_UNSUPPORTED';

const HEADER_MEMBERS = new Set(['alg', 'typ', 'x5c', 'jwk']);

export function decodeProtectedHeader(b64: string, index: number): Result<ProtectedHeader, HeaderCode> {
  const bytes = decodeBase64url(b64);
  if (!bytes) return malformed(`signature ${index}: protected header is not canonical base64url`);
  let header: unknown;
  try {
    // ignoreBOM keeps a leading BOM in the text, where JSON.parse refuses it.
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return malformed(`signature ${index}: protected header is not JSON`);
  }
  if (!isPlainObject(header)) return malformed(`signature ${index}: protected header must be an object`);
  // RFC 7515 §4.1.11: a recipient MUST reject extensions it does not understand;
  // we understand none, so any crit is refused (this also disables b64:false).
  if ('crit' in header) return err('PROTO_JWS_CRIT_UNSUPPORTED', `signature ${index}: crit is not supported`);
  const extra = Object.keys(header).find((k) => !HEADER_MEMBERS.has(k));
  if (extra !== undefined) return malformed(`signature ${index}: unsupported protected header parameter ${extra}`);
  return ok({ alg: header.alg, typ: header.typ, x5c: header.x5c, jwk: header.jwk });
}

/** x5c: 1..maxX5c canonical standard-base64 DER strings (RFC 7515 §4.1.6). */
export function decodeX5c(x5c: unknown, index: number, decode: (text: string) => Uint8Array | undefined = decodeBase64): Result<Uint8Array[], ShapeCode> {
  if (!Array.isArray(x5c) || x5c.length < 1 || x5c.length > JWS_LIMITS.maxX5c) {
    return malformed(`signature ${index}: x5c must hold 1..${JWS_LIMITS.maxX5c} certificates`);
  }
  const out: Uint8Array[] = [];
  for (const c of x5c) {
    const der = typeof c === 'string' ? decode(c) : undefined;
    if (!der) return malformed(`signature ${index}: x5c entry is not base64 DER`);
    out.push(der);
  }
  return ok(out);
}

export { isPlainObject };
