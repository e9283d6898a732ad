// RFC 8785 JSON Canonicalization Scheme (JCS). Signatures and document hashes
// are computed over these bytes (DESIGN §5), so two parties that hold the same
// JSON value must produce the same bytes, in any language.
//
// Errors, by where the bad value can come from:
// - Values that JSON.parse can produce but JCS cannot express — a non-finite
//   number ("1e400" parses to Infinity), a string with a lone surrogate ("\ud800"),
//   nesting deeper than MAX_DEPTH — are wire input: canonicalize returns
//   { ok: false, code: 'PROTO_JSON_NOT_CANONICALIZABLE', details: { path } }.
// - Values JSON.parse never produces — bigint (money goes on the wire as an
//   AmountString, never a number), undefined, functions, symbols, class
//   instances, sparse arrays, cycles — are programming errors: TypeError.
import { err, ok } from './result.ts';
import type { Result } from './result.ts';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

export type CanonicalizeCode = 'PROTO_JSON_NOT_CANONICALIZABLE';

/** Far deeper than any document; shallow enough that recursion cannot exhaust the stack. */
export const MAX_DEPTH = 64;

class NotCanonicalizable {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    this.path = path;
    this.reason = reason;
  }
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

// §3.2.2.3: numbers are serialized as ECMAScript Number::toString does
// (ECMA-262 §7.1.12.1 / Number.prototype.toString()), which is exactly String(n)
// in any conforming engine; -0 becomes "0". NaN and ±Infinity are not JSON (§3.2.2.3 note).
function serializeNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new NotCanonicalizable(path, `${String(n)} is not a JSON number`);
  return String(n);
}

// §3.2.2.2: strings as ECMAScript JSON.stringify writes them: \b \t \n \f \r \" \\
// as two-character escapes, other controls below U+0020 as \u00xx (lower-case hex),
// everything else, '/' and non-ASCII included, as is. §3.1 requires well-formed
// Unicode (I-JSON), so a lone surrogate is an error, not the \udxxx escape that
// ES2019's JSON.stringify would emit.
function serializeString(s: string, path: string): string {
  if (!s.isWellFormed()) throw new NotCanonicalizable(path, 'string contains a lone surrogate');
  return JSON.stringify(s);
}

function serialize(v: unknown, path: string, depth: number, ancestors: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return serializeString(v, path);
    case 'number':
      return serializeNumber(v, path);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw new TypeError(`value at ${path} is a ${typeof v}, which JSON cannot carry`);
  }
  if (v === null) return 'null';
  if (depth >= MAX_DEPTH) throw new NotCanonicalizable(path, `nesting deeper than ${MAX_DEPTH}`);
  if (ancestors.has(v)) throw new TypeError(`value at ${path} is circular`);
  ancestors.add(v);
  let out: string;
  if (Array.isArray(v)) {
    const parts: string[] = [];
    for (let i = 0; i < v.length; i++) {
      if (!(i in v)) throw new TypeError(`array at ${path} has a hole at ${i}`);
      parts.push(serialize(v[i], `${path}[${i}]`, depth + 1, ancestors));
    }
    out = `[${parts.join(',')}]`;
  } else {
    if (!isPlainObject(v)) throw new TypeError(`value at ${path} is a ${v.constructor?.name ?? 'exotic object'}, not a plain object`);
    // §3.2.3: members sorted by their names as arrays of UTF-16 code units,
    // compared unsigned — which is what Array.prototype.sort does with no comparator.
    const keys = Object.keys(v).sort();
    const parts: string[] = [];
    for (const k of keys) {
      const childPath = `${path}.${k}`;
      parts.push(`${serializeString(k, childPath)}:${serialize((v as Record<string, unknown>)[k], childPath, depth + 1, ancestors)}`);
    }
    out = `{${parts.join(',')}}`;
  }
  ancestors.delete(v);
  return out;
}

/** The RFC 8785 canonical form of a JSON value, as a string. */
export function canonicalize(value: unknown): Result<string, CanonicalizeCode> {
  try {
    return ok(serialize(value, '$', 0, new Set()));
  } catch (e) {
    if (e instanceof NotCanonicalizable) {
      return err('PROTO_JSON_NOT_CANONICALIZABLE', `not canonicalizable at ${e.path}: ${e.reason}`, { path: e.path });
    }
    throw e;
  }
}

/** The canonical form as UTF-8 bytes (§3.2.4): what is signed and hashed. */
export function canonicalizeToBytes(value: unknown): Result<Uint8Array, CanonicalizeCode> {
  const r = canonicalize(value);
  return r.ok ? ok(new TextEncoder().encode(r.value)) : r;
}
