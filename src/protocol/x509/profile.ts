// The Quittance certificate profile (DESIGN §5). The subject names the party
// and nothing else: `CN=<display name>, UID=<party id>`; the real identity
// stays with the CA. The role travels in subjectAltName as a URI, so that
// `openssl x509 -text` prints it readably and `openssl verify` (which ignores
// SAN URIs outside name constraints) accepts it:
//   URI:urn:quittance:role:<role>, URI:urn:quittance:party:<party id>
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { x509 } from './peculiar.ts';
import { err, ok, type Result } from '../result.ts';
import { DisplayName, PARTY_ID_PATTERN, ROLES, type Role } from '../identity.ts';

export const OID_COMMON_NAME = '2.5.4.3';
/** RFC 4519 §2.39 userid (UID), 0.9.2342.19200300.100.1.1. */
export const OID_USER_ID = '0.9.2342.19200300.100.1.1';
export const ROLE_URI_PREFIX = 'urn:quittance:role:';
export const PARTY_URI_PREFIX = 'urn:quittance:party:';

export type CertificateProfile = { readonly partyId: string; readonly role: Role; readonly displayName: string };

// The certified name is what the wallet's trusted display shows. Bidi overrides
// and isolates ("Trojan Source") make it render as something the CA never
// certified ("Shop \u202Eknab-yzal" shows as "Shop lazy-bank"). identity.ts's
// DisplayName refuses only control characters, so the profile adds this.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/u;

function isCertifiableName(v: unknown): boolean {
  return DisplayName.safeParse(v).success && !BIDI_CONTROLS.test(v as string);
}

export function assertPartyFields(partyId: unknown, displayName: unknown, role: unknown): void {
  if (typeof partyId !== 'string' || !PARTY_ID_PATTERN.test(partyId)) throw new TypeError('partyId must match PARTY_ID_PATTERN');
  if (!isCertifiableName(displayName)) throw new TypeError('displayName must be 1-128 characters without control or bidi-override characters');
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}`);
}

/**
 * Subject as UTF8Strings, set explicitly: the library's string and JSON forms
 * would read a leading '#' as hex and unescape backslashes in a display name.
 */
export function partySubject(partyId: string, displayName: string): x509.Name {
  return new x509.Name([{ [OID_COMMON_NAME]: [{ utf8String: displayName }] }, { [OID_USER_ID]: [{ utf8String: partyId }] }]);
}

export function caSubject(commonName: string, organization?: string): x509.Name {
  if (typeof commonName !== 'string' || !DisplayName.safeParse(commonName).success) throw new TypeError('commonName must be 1-128 characters');
  if (organization !== undefined && !DisplayName.safeParse(organization).success) throw new TypeError('organization must be 1-128 characters');
  const rdns: Record<string, { utf8String: string }[]>[] = [];
  if (organization !== undefined) rdns.push({ '2.5.4.10': [{ utf8String: organization }] });
  rdns.push({ [OID_COMMON_NAME]: [{ utf8String: commonName }] });
  return new x509.Name(rdns);
}

export function partySubjectAltNames(partyId: string, role: Role, dnsNames: readonly string[] = []): x509.JsonGeneralNames {
  return [
    { type: 'url', value: `${ROLE_URI_PREFIX}${role}` },
    { type: 'url', value: `${PARTY_URI_PREFIX}${partyId}` },
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
  ];
}

type ProfileCode = 'PROTO_CERT_PROFILE_INVALID';

function invalid(message: string): Result<never, ProfileCode> {
  return err('PROTO_CERT_PROFILE_INVALID', message);
}

/** The one text value of a string-typed attribute, or undefined (non-string ANY, BMP, ...). */
function textOf(value: asn1X509.AttributeValue): string | undefined {
  if (value.utf8String !== undefined) return value.utf8String;
  if (value.printableString !== undefined) return value.printableString;
  return undefined;
}

/** Reads party id, role and display name from a leaf certificate; fails on anything outside the profile. */
export function readProfile(cert: x509.X509Certificate): Result<CertificateProfile, ProfileCode> {
  if (!(cert instanceof x509.X509Certificate)) throw new TypeError('cert must be an X509Certificate');
  let name: asn1X509.Name;
  try {
    name = AsnConvert.parse(cert.subjectName.toArrayBuffer(), asn1X509.Name);
  } catch {
    return invalid('subject cannot be read');
  }
  // Exactly two single-valued RDNs, CN and UID: anything more would be shown to
  // users as if the CA had vouched for it.
  const fields = new Map<string, string>();
  if (name.length !== 2) return invalid('subject must be exactly CN and UID');
  for (const rdn of name) {
    const attr = rdn.length === 1 ? rdn[0] : undefined;
    if (!attr) return invalid('multi-valued RDN in subject');
    if (attr.type !== OID_COMMON_NAME && attr.type !== OID_USER_ID) return invalid(`unexpected subject attribute ${attr.type}`);
    if (fields.has(attr.type)) return invalid('repeated subject attribute');
    const text = textOf(attr.value);
    if (text === undefined) return invalid('subject attribute is not a UTF8String or PrintableString');
    fields.set(attr.type, text);
  }
  const displayName = fields.get(OID_COMMON_NAME);
  const partyId = fields.get(OID_USER_ID);
  if (displayName === undefined || partyId === undefined) return invalid('subject must be exactly CN and UID');
  if (!PARTY_ID_PATTERN.test(partyId)) return invalid('UID is not a valid party id');
  if (!isCertifiableName(displayName)) return invalid('CN is not a valid display name');

  let names: readonly x509.GeneralName[];
  try {
    const sans = cert.getExtensions(x509.SubjectAlternativeNameExtension);
    const san = sans.length === 1 ? sans[0] : undefined;
    if (!san) return invalid('exactly one subjectAltName extension required');
    names = san.names.items;
  } catch {
    return invalid('subjectAltName cannot be read');
  }
  const roles: string[] = [];
  const parties: string[] = [];
  for (const gn of names) {
    if (gn.type !== 'url') continue;
    if (gn.value.startsWith(ROLE_URI_PREFIX)) roles.push(gn.value.slice(ROLE_URI_PREFIX.length));
    else if (gn.value.startsWith(PARTY_URI_PREFIX)) parties.push(gn.value.slice(PARTY_URI_PREFIX.length));
    else if (gn.value.toLowerCase().startsWith('urn:quittance:')) return invalid(`unknown profile URI ${gn.value}`);
  }
  const [role] = roles;
  if (roles.length !== 1 || role === undefined) return invalid('exactly one role URI required');
  if (!(ROLES as readonly string[]).includes(role)) return invalid(`unknown role ${role}`);
  if (parties.length !== 1 || parties[0] !== partyId) return invalid('party URI must be present once and equal the subject UID');
  return ok({ partyId, role: role as Role, displayName });
}
