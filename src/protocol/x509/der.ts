// A minimal strict DER reader (X.690 §10), used only to reach the exact bytes
// that a signature covers. Re-encoding a parsed structure and verifying that
// instead would accept certificates whose signed bytes differ from what we
// parsed (the classic BER/DER confusion), so signed data is taken verbatim.

export type Tlv = {
  readonly tag: number;
  /** Whole element: tag, length and content. */
  readonly bytes: Uint8Array;
  readonly content: Uint8Array;
};

/** Reads one element at `offset`; undefined on any non-DER length or overrun. */
export function readTlv(buf: Uint8Array, offset: number): Tlv | undefined {
  const tag = buf[offset];
  const first = buf[offset + 1];
  if (tag === undefined || first === undefined) return undefined;
  // Multi-byte tags never occur in the structures we read.
  if ((tag & 0x1f) === 0x1f) return undefined;
  let length = first;
  let header = 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) return undefined; // indefinite or absurd lengths
    length = 0;
    for (let i = 0; i < n; i++) {
      const b = buf[offset + 2 + i];
      if (b === undefined) return undefined;
      if (i === 0 && b === 0) return undefined; // non-minimal length
      length = length * 256 + b;
    }
    if (length < 0x80) return undefined; // long form for a short length
    header += n;
  }
  const end = offset + header + length;
  if (end > buf.length) return undefined;
  return { tag, bytes: buf.subarray(offset, end), content: buf.subarray(offset + header, end) };
}

/** Splits a constructed element's content into its children; undefined if they do not tile it. */
export function readChildren(content: Uint8Array): Tlv[] | undefined {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < content.length) {
    const tlv = readTlv(content, offset);
    if (!tlv) return undefined;
    out.push(tlv);
    offset += tlv.bytes.length;
  }
  return out;
}

const SEQUENCE = 0x30;
const BIT_STRING = 0x03;

/**
 * Certificate, CertificateList and CertificationRequest share one outer shape
 * (RFC 5280 §4.1, §5.1; RFC 2986 §4.2): SEQUENCE { toBeSigned, algorithm, BIT STRING }.
 */
export type SignedEnvelope = {
  readonly toBeSigned: Tlv;
  readonly algorithm: Uint8Array;
  readonly signature: Uint8Array;
};

export function readSignedEnvelope(der: Uint8Array): SignedEnvelope | undefined {
  const outer = readTlv(der, 0);
  if (!outer || outer.tag !== SEQUENCE || outer.bytes.length !== der.length) return undefined;
  const parts = readChildren(outer.content);
  if (!parts || parts.length !== 3) return undefined;
  const [tbs, alg, sig] = parts as [Tlv, Tlv, Tlv];
  if (tbs.tag !== SEQUENCE || alg.tag !== SEQUENCE || sig.tag !== BIT_STRING) return undefined;
  // Signatures are whole octets: the "unused bits" prefix must be zero.
  if (sig.content.length < 1 || sig.content[0] !== 0) return undefined;
  return { toBeSigned: tbs, algorithm: alg.bytes, signature: sig.content.subarray(1) };
}

/**
 * The AlgorithmIdentifier inside the signed part. RFC 5280 §4.1.1.2 requires it to
 * equal the outer one; otherwise the signed statement names another algorithm.
 */
export function innerAlgorithm(toBeSigned: Tlv, kind: 'certificate' | 'crl'): Uint8Array | undefined {
  const fields = readChildren(toBeSigned.content);
  if (!fields) return undefined;
  // Certificate: [0] version, serial, signature. CRL: version (optional INTEGER), signature.
  let i = 0;
  if (kind === 'certificate') {
    if (fields[0]?.tag === 0xa0) i++;
    i++; // serialNumber
  } else if (fields[0]?.tag === 0x02) {
    i++;
  }
  const alg = fields[i];
  return alg && alg.tag === SEQUENCE ? alg.bytes : undefined;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
