// Issuing from a PKCS#10 request (RFC 2986). The request proves possession of
// the key (its self-signature) and contributes NOTHING else: subject, role and
// extensions are the CA's decision, so a requester cannot ask for CA:TRUE, a
// role or a name it was not given.
import { x509 } from './peculiar.ts';
import { importSpki, signatureAlgorithmOf, verifyX509Signature } from './algorithms.ts';
import { pemToDer } from './certificate.ts';
import { readSignedEnvelope } from './der.ts';
import { issueLeaf, type IssuedCertificate, type IssueLeafParams } from './issue.ts';
import { err, ok, type Result } from '../result.ts';

export type CsrCode = 'PROTO_CERT_MALFORMED' | 'PROTO_CERT_SIGNATURE_INVALID' | 'PROTO_CERT_ALG_NOT_ALLOWED';

export type IssueFromCsrParams = Omit<IssueLeafParams, 'subjectPublicKey'> & {
  /** DER bytes or PEM text of a CERTIFICATE REQUEST. */
  readonly csr: Uint8Array | string;
};

/** Checks a CSR's self-signature and returns its SubjectPublicKeyInfo (DER). */
export async function readCsrPublicKey(csr: Uint8Array | string): Promise<Result<Uint8Array, CsrCode>> {
  let der: Uint8Array | undefined;
  if (typeof csr === 'string') der = pemToDer(csr, 'CERTIFICATE REQUEST');
  else if (csr instanceof Uint8Array) der = csr.slice();
  else throw new TypeError('csr must be DER bytes or a PEM string');
  if (!der || der.length > 16 * 1024) return err('PROTO_CERT_MALFORMED', 'not a certificate request');
  const envelope = readSignedEnvelope(der);
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(der.slice());
  } catch {
    return err('PROTO_CERT_MALFORMED', 'certificate request is not valid DER');
  }
  if (!envelope) return err('PROTO_CERT_MALFORMED', 'certificate request is not valid DER');
  const alg = signatureAlgorithmOf(envelope.algorithm);
  if (!alg) return err('PROTO_CERT_ALG_NOT_ALLOWED', 'request signature algorithm not allowed');
  const spki = new Uint8Array(request.publicKey.rawData);
  const key = await importSpki(spki);
  if (!key) return err('PROTO_CERT_ALG_NOT_ALLOWED', 'request key must be Ed25519 or P-256');
  if (key.alg !== alg) return err('PROTO_CERT_ALG_NOT_ALLOWED', 'request signature algorithm does not match its key');
  if (!(await verifyX509Signature(alg, key.key, envelope.signature, envelope.toBeSigned.bytes))) {
    return err('PROTO_CERT_SIGNATURE_INVALID', 'request self-signature does not verify');
  }
  return ok(spki);
}

export async function issueFromCsr(p: IssueFromCsrParams): Promise<Result<IssuedCertificate, CsrCode>> {
  const { csr, ...rest } = p;
  const spki = await readCsrPublicKey(csr);
  if (!spki.ok) return spki;
  return ok(await issueLeaf({ ...rest, subjectPublicKey: spki.value }));
}
