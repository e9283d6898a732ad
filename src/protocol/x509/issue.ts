// Issuing helpers: the CA's side of the profile (DESIGN §5). Every
// certificate is issued with exactly the extensions validatePath expects, so a
// certificate we issue is one we accept, and one `openssl verify` accepts.
import { x509 } from './peculiar.ts';
import { algorithmOfKey, signingParams, type CertAlgorithm } from './algorithms.ts';
import { certificateToPem } from './certificate.ts';
import { assertPartyFields, caSubject, partySubject, partySubjectAltNames } from './profile.ts';
import { serialFromBytes } from './serial.ts';
import type { Role } from '../identity.ts';

export type IssuedCertificate = { readonly der: Uint8Array; readonly pem: string };

/** A CA that signs: its certificate (DER) and private key. */
export type Issuer = { readonly certificate: Uint8Array; readonly privateKey: CryptoKey };

type Validity = { readonly notBefore: Date; readonly notAfter: Date; readonly serial: Uint8Array };

export type CreateRootCaParams = Validity & {
  readonly keys: CryptoKeyPair;
  readonly commonName: string;
  readonly organization?: string;
  /** basicConstraints pathLenConstraint; omitted means unlimited (our depth limit still applies). */
  readonly pathLength?: number;
};

export type IssueIntermediateParams = Validity & {
  readonly issuer: Issuer;
  readonly subjectPublicKey: CryptoKey;
  readonly commonName: string;
  readonly organization?: string;
  readonly pathLength?: number;
};

export type IssueLeafParams = Validity & {
  readonly issuer: Issuer;
  /** A public CryptoKey or a DER SubjectPublicKeyInfo. */
  readonly subjectPublicKey: CryptoKey | Uint8Array;
  readonly partyId: string;
  readonly displayName: string;
  readonly role: Role;
  /** Extra SAN DNS names, for TLS server certificates. */
  readonly dnsNames?: readonly string[];
};

const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function checkValidity(p: Validity): void {
  if (!(p.notBefore instanceof Date) || Number.isNaN(p.notBefore.getTime())) throw new TypeError('notBefore must be a valid Date');
  if (!(p.notAfter instanceof Date) || Number.isNaN(p.notAfter.getTime())) throw new TypeError('notAfter must be a valid Date');
  if (p.notAfter.getTime() < p.notBefore.getTime()) throw new TypeError('notAfter must not be before notBefore');
  // X.509 times have whole seconds: a fraction would be silently dropped and the
  // certificate would say something other than what the CA decided.
  if (p.notBefore.getTime() % 1000 !== 0 || p.notAfter.getTime() % 1000 !== 0) throw new TypeError('notBefore/notAfter must be whole seconds');
}

function checkPathLength(pathLength: unknown): void {
  if (pathLength !== undefined && (!Number.isInteger(pathLength) || (pathLength as number) < 0 || (pathLength as number) > 16)) {
    throw new TypeError('pathLength must be an integer 0..16');
  }
}

function signerAlgorithm(key: unknown, name: string): CertAlgorithm {
  if (!(key instanceof CryptoKey) || key.type !== 'private') throw new TypeError(`${name} must be a private CryptoKey`);
  const alg = algorithmOfKey(key);
  if (!alg) throw new TypeError(`${name} must be an Ed25519 or ECDSA P-256 key`);
  return alg;
}

function parseIssuer(issuer: Issuer): { cert: x509.X509Certificate; alg: CertAlgorithm } {
  if (!issuer || !(issuer.certificate instanceof Uint8Array)) throw new TypeError('issuer.certificate must be DER bytes');
  const alg = signerAlgorithm(issuer.privateKey, 'issuer.privateKey');
  return { cert: new x509.X509Certificate(issuer.certificate.slice()), alg };
}

/** An issued certificate must lie within its issuer's validity, or no path through it can be valid. */
function checkWithinIssuer(issuer: x509.X509Certificate, p: Validity): void {
  if (p.notBefore < issuer.notBefore || p.notAfter > issuer.notAfter) {
    throw new TypeError('validity must lie within the issuer certificate validity');
  }
}

async function done(cert: x509.X509Certificate): Promise<IssuedCertificate> {
  const der = new Uint8Array(cert.rawData);
  return { der, pem: certificateToPem(der) };
}

function caExtensions(pathLength: number | undefined): x509.Extension[] {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
}

/** AKI copied from the issuer's SKI, so that both sides name the same key identically. */
function authorityKeyId(issuer: x509.X509Certificate): x509.AuthorityKeyIdentifierExtension {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new TypeError('issuer certificate has no subjectKeyIdentifier');
  return new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
}

export async function createRootCa(p: CreateRootCaParams): Promise<IssuedCertificate> {
  checkValidity(p);
  checkPathLength(p.pathLength);
  if (!p.keys || !(p.keys.publicKey instanceof CryptoKey)) throw new TypeError('keys must be a CryptoKeyPair');
  const alg = signerAlgorithm(p.keys.privateKey, 'keys.privateKey');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialFromBytes(p.serial),
    name: caSubject(p.commonName, p.organization),
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    keys: p.keys,
    signingAlgorithm: signingParams(alg),
    extensions: [...caExtensions(p.pathLength), await x509.SubjectKeyIdentifierExtension.create(p.keys.publicKey)],
  });
  return done(cert);
}

export async function issueIntermediate(p: IssueIntermediateParams): Promise<IssuedCertificate> {
  checkValidity(p);
  checkPathLength(p.pathLength);
  const { cert: issuer, alg } = parseIssuer(p.issuer);
  checkWithinIssuer(issuer, p);
  if (!(p.subjectPublicKey instanceof CryptoKey) || !algorithmOfKey(p.subjectPublicKey)) {
    throw new TypeError('subjectPublicKey must be an Ed25519 or P-256 public CryptoKey');
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialFromBytes(p.serial),
    subject: caSubject(p.commonName, p.organization),
    issuer: issuer.subjectName,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    publicKey: p.subjectPublicKey,
    signingKey: p.issuer.privateKey,
    signingAlgorithm: signingParams(alg),
    extensions: [
      ...caExtensions(p.pathLength),
      await x509.SubjectKeyIdentifierExtension.create(p.subjectPublicKey),
      authorityKeyId(issuer),
    ],
  });
  return done(cert);
}

export async function issueLeaf(p: IssueLeafParams): Promise<IssuedCertificate> {
  checkValidity(p);
  assertPartyFields(p.partyId, p.displayName, p.role);
  const dnsNames = p.dnsNames ?? [];
  if (!Array.isArray(dnsNames) || !dnsNames.every((d) => typeof d === 'string' && DNS_NAME.test(d))) {
    throw new TypeError('dnsNames must be lower-case DNS names');
  }
  const { cert: issuer, alg } = parseIssuer(p.issuer);
  checkWithinIssuer(issuer, p);
  const spki = p.subjectPublicKey;
  if (!(spki instanceof Uint8Array) && !(spki instanceof CryptoKey && spki.type === 'public' && algorithmOfKey(spki))) {
    throw new TypeError('subjectPublicKey must be an Ed25519 or P-256 public CryptoKey, or SPKI bytes');
  }
  const publicKey = spki instanceof Uint8Array ? new x509.PublicKey(spki.slice()) : spki;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialFromBytes(p.serial),
    subject: partySubject(p.partyId, p.displayName),
    issuer: issuer.subjectName,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    publicKey,
    signingKey: p.issuer.privateKey,
    signingAlgorithm: signingParams(alg),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension(partySubjectAltNames(p.partyId, p.role, dnsNames), false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      authorityKeyId(issuer),
    ],
  });
  return done(cert);
}
