// The little DER (X.690) needed for PKCS#8 EncryptedPrivateKeyInfo and PBES2
// parameters. Hand-written because @peculiar/asn1-schema's classes need
// decorators, which Node's type stripping cannot run. Parsing is strict: definite
// lengths only, every byte accounted for, so a crafted file cannot make us read
// past a boundary or accept trailing garbage.

export const TAG = { INTEGER: 0x02, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06, SEQUENCE: 0x30 } as const;

export class DerError extends Error {}

export interface Node {
  readonly tag: number;
  readonly content: Uint8Array;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = [0x80 | bytes.length, ...bytes];
  }
  return concat([Uint8Array.of(tag, ...len), content]);
}

export const seq = (...items: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, concat(items));
export const octets = (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b);
export const nul = (): Uint8Array => tlv(TAG.NULL, new Uint8Array(0));

export function uint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('uint: expected a non-negative safe integer');
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || (bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(TAG.INTEGER, Uint8Array.from(bytes));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [a, b, ...rest] = arcs;
  if (a === undefined || b === undefined) throw new RangeError(`oid: ${dotted}`);
  const out: number[] = [];
  for (const arc of [a * 40 + b, ...rest]) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(out));
}

/** Splits `bytes` into its top-level TLVs; every byte must belong to one. */
export function children(bytes: Uint8Array): Node[] {
  const out: Node[] = [];
  let at = 0;
  while (at < bytes.length) {
    const tag = bytes[at]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
    let len = bytes[at + 1];
    if (len === undefined) throw new DerError('truncated length');
    at += 2;
    if (len & 0x80) {
      const count = len & 0x7f;
      if (count === 0 || count > 4) throw new DerError('indefinite or oversized length');
      len = 0;
      for (let i = 0; i < count; i++) {
        const b = bytes[at + i];
        if (b === undefined) throw new DerError('truncated length');
        len = len * 256 + b;
      }
      at += count;
    }
    if (at + len > bytes.length) throw new DerError('content runs past its parent');
    out.push({ tag, content: bytes.subarray(at, at + len) });
    at += len;
  }
  return out;
}

/** The single TLV that makes up `bytes`. */
export function one(bytes: Uint8Array, tag: number): Node {
  const nodes = children(bytes);
  if (nodes.length !== 1 || nodes[0]!.tag !== tag) throw new DerError(`expected one element with tag 0x${tag.toString(16)}`);
  return nodes[0]!;
}

export function expect(node: Node | undefined, tag: number, what: string): Node {
  if (node === undefined || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

export function readOid(node: Node | undefined, what: string): string {
  const { content } = expect(node, TAG.OID, what);
  if (content.length === 0) throw new DerError(`${what}: empty OID`);
  const arcs: number[] = [];
  let v = 0;
  for (const b of content) {
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError(`${what}: OID arc too large`);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  if ((content[content.length - 1]! & 0x80) !== 0) throw new DerError(`${what}: truncated OID`);
  const first = arcs.shift()!;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

export function readUint(node: Node | undefined, what: string): number {
  const { content } = expect(node, TAG.INTEGER, what);
  if (content.length === 0 || (content[0]! & 0x80) !== 0) throw new DerError(`${what}: not a non-negative INTEGER`);
  if (content.length > 1 && content[0] === 0 && (content[1]! & 0x80) === 0) throw new DerError(`${what}: non-minimal INTEGER`);
  let v = 0;
  for (const b of content) {
    v = v * 256 + b;
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError(`${what}: INTEGER too large`);
  }
  return v;
}
