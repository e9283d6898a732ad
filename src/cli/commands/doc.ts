// `quittance doc …`: sign and verify Quittance documents offline. Anyone holding
// the CA certificate can check a document without trusting any party.
import { writeFile } from 'node:fs/promises';
import { decryptPrivateKey, exportSpkiDer, readKeyFile, readPassphrase } from '../../crypto/index.ts';
import { DOCUMENT_TYPES, isDocumentTyp, parseDocument } from '../../protocol/documents/index.ts';
import type { SignerIdentity } from '../../protocol/identity.ts';
import { ROLES, type Role } from '../../protocol/identity.ts';
import { countersign, signDocument, verifyDocument, type GeneralJws, type SignerExpectation } from '../../protocol/jws.ts';
import { decodeProtectedHeader, snapshotJws } from '../../protocol/jws/shape.ts';
import { formatFingerprint, parseCertificatePem } from '../../protocol/x509/index.ts';
import { EXIT, UsageError, requireString, type Command, type Group, type Io } from '../command.ts';
import { certificatesDer, PEM_CERT, readCrls, readText } from '../pem-files.ts';
import { CLI_ERROR_CODES } from '../errors.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function parseJsonFile(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not JSON: ${(e as Error).message}`, { cause: e });
  }
}

const sign: Command = {
  name: 'sign',
  summary: 'sign a document (JSON payload) as a JWS, or countersign a signed one',
  args: 'FILE',
  options: {
    key: { type: 'string', description: 'encrypted private key (PEM)', valueName: 'K' },
    cert: { type: 'string', description: 'certificate or chain (PEM, leaf first); its chain goes into x5c', valueName: 'C' },
    typ: { type: 'string', description: 'document kind, e.g. quittance.invoice.v1+json', valueName: 'TYP' },
    countersign: { type: 'boolean', description: 'FILE is a signed document: verify it against --ca, then add a signature over the same payload' },
    ca: { type: 'string', description: 'with --countersign: trusted root(s) the existing signatures must verify against', valueName: 'CA.pem' },
    crl: { type: 'string', multiple: true, description: 'with --countersign: CRL file(s) for the existing signers', valueName: 'FILE' },
    out: { type: 'string', description: 'write the JWS here (default: stdout)', valueName: 'FILE' },
  },
  details: `The payload is checked against the document's schema before signing and signed as
RFC 8785 canonical JSON. Known kinds: ${Object.keys(DOCUMENT_TYPES).join(', ')}.
The key passphrase comes from QUITTANCE_PASSPHRASE or a prompt.`,
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
    const file = positionals[0]!;
    const keyPath = requireString(values, 'key');
    const certPath = requireString(values, 'cert');
    const typ = requireString(values, 'typ');
    if (!isDocumentTyp(typ)) throw new UsageError(`unknown --typ ${typ}; known: ${Object.keys(DOCUMENT_TYPES).join(', ')}`);

    const chain = certificatesDer(await readText(certPath, 'certificate'), certPath);
    const input = parseJsonFile(await readText(file, 'document'), file);
    const key = await decryptPrivateKey(await readKeyFile(keyPath), await readPassphrase({ environment: io.env, prompt: 'Key passphrase: ' }));
    if (!key.ok) return failed(io, key.code, key.message);
    // Refuse to produce a signature that the embedded certificate cannot verify.
    const leaf = parseCertificatePem((await readText(certPath, 'certificate')).match(PEM_CERT)![0]!);
    if (!leaf.ok) return failed(io, leaf.code, leaf.message);
    const spki = await exportSpkiDer(key.value.publicKey);
    if (!bytesEqual(spki, new Uint8Array(leaf.value.publicKey.rawData))) {
      return failed(io, CLI_ERROR_CODES[0], `${keyPath} is not the key certified by ${certPath}`);
    }
    const signer = { typ, privateKey: key.value.privateKey, alg: key.value.alg === 'Ed25519' ? 'EdDSA' : 'ES256', x5c: chain } as const;

    let jws: GeneralJws;
    if (values.countersign) {
      // Countersigning says "I accept this": never over signatures nobody checked.
      const caPath = requireString(values, 'ca');
      const shape = snapshotJws(input);
      if (!shape.ok) return failed(io, shape.code, shape.message);
      const crls = (await Promise.all(((values.crl as string[] | undefined) ?? []).map(readCrls))).flat();
      const existing = await verifyDocument(shape.value, {
        now: new Date(),
        trustAnchors: certificatesDer(await readText(caPath, 'CA certificate'), caPath),
        crls,
        requireCrl: crls.length > 0,
        crlMaxAgeSeconds: 604_800,
        expectedTyp: typ,
        signers: shape.value.signatures.map(() => ({ orAnonymous: true }) as const),
      });
      if (!existing.ok) return failed(io, CLI_ERROR_CODES[4], `the document's signatures do not verify: ${existing.code}: ${existing.message}`);
      const doc = parseDocument(typ, existing.value.payload);
      if (!doc.ok) return failed(io, doc.code, doc.message, doc.details);
      jws = await countersign(shape.value, signer);
    } else {
      const doc = parseDocument(typ, input);
      if (!doc.ok) return failed(io, doc.code, doc.message, doc.details);
      jws = await signDocument({ payload: input, ...signer });
    }
    const text = JSON.stringify(jws, null, 2) + '\n';
    if (typeof values.out === 'string') await writeFile(values.out, text);
    else io.out(text);
    return EXIT.OK;
  },
};

const verify: Command = {
  name: 'verify',
  summary: 'verify a signed document against a trusted CA (exit 0 valid, 1 invalid with the reason code)',
  args: 'FILE',
  options: {
    ca: { type: 'string', description: 'trusted root certificate(s), PEM', valueName: 'CA.pem' },
    crl: { type: 'string', multiple: true, description: 'CRL file (DER or PEM) of each CA in the path', valueName: 'FILE' },
    typ: { type: 'string', description: 'require this document kind (default: the kind the document names)', valueName: 'TYP' },
    role: { type: 'string', description: 'require the first signer to have this role', valueName: 'ROLE' },
    at: { type: 'string', description: 'verify as of this RFC 3339 time (default: now)', valueName: 'TIME' },
    'crl-max-age': { type: 'string', description: 'oldest acceptable CRL in seconds (default 604800)', valueName: 'S' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  details: `Checks every signature, the certificate chain of each signer to the trusted CA
(basicConstraints, keyUsage, validity, depth), the document kind and, for known kinds,
the payload schema. With --crl, revocation is checked and a stale or missing CRL fails;
without it, revocation is NOT checked and the output says so.`,
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError('expected exactly one FILE');
    const file = positionals[0]!;
    const caPath = requireString(values, 'ca');
    const anchors = certificatesDer(await readText(caPath, 'CA certificate'), caPath);
    const crls = (await Promise.all(((values.crl as string[] | undefined) ?? []).map(readCrls))).flat();
    if (values.at !== undefined && !RFC3339.test(String(values.at))) throw new UsageError('--at must be an RFC 3339 time, e.g. 2026-12-08T05:20:00Z');
    const now = values.at === undefined ? new Date() : new Date(String(values.at));
    if (Number.isNaN(now.getTime())) throw new UsageError('--at must be an RFC 3339 time');
    const maxAge = values['crl-max-age'] === undefined ? 604_800 : Number(values['crl-max-age']);
    if (!Number.isInteger(maxAge) || maxAge < 1) throw new UsageError('--crl-max-age must be a positive integer');
    const role = values.role;
    if (role !== undefined && !(ROLES as readonly string[]).includes(String(role))) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const json = Boolean(values.json);

    const input = parseJsonFile(await readText(file, 'document'), file);
    const shape = snapshotJws(input);
    if (!shape.ok) return invalid(io, json, shape.code, shape.message);
    const first = decodeProtectedHeader(shape.value.signatures[0]!.protected, 0);
    if (!first.ok) return invalid(io, json, first.code, first.message);
    const typ = typeof values.typ === 'string' ? values.typ : String(first.value.typ ?? '');

    // Each position may be certified or anonymous; --role constrains the first signer.
    const signers: SignerExpectation[] = shape.value.signatures.map((_, i) =>
      i === 0 && role !== undefined ? { roles: [role as Role] } : { orAnonymous: true },
    );
    const result = await verifyDocument(shape.value, {
      now,
      trustAnchors: anchors,
      crls,
      requireCrl: crls.length > 0,
      crlMaxAgeSeconds: maxAge,
      expectedTyp: typ,
      signers,
    });
    if (!result.ok) return invalid(io, json, result.code, result.message);
    if (isDocumentTyp(typ)) {
      const doc = parseDocument(typ, result.value.payload);
      if (!doc.ok) return invalid(io, json, doc.code, doc.message, doc.details);
    }
    const revocationChecked = crls.length > 0;
    if (json) {
      io.out(JSON.stringify({ valid: true, typ, documentHash: result.value.documentHash, revocationChecked, signers: result.value.signers, payload: result.value.payload }, null, 2) + '\n');
    } else {
      const lines = [`valid: ${typ}`, `  document hash: ${result.value.documentHash}`];
      result.value.signers.forEach((s, i) => lines.push(`  signer ${i + 1}: ${describeSigner(s)}`));
      lines.push(revocationChecked ? '  revocation: checked' : '  revocation: NOT checked (no --crl given)');
      io.out(lines.join('\n') + '\n');
    }
    return EXIT.OK;
  },
};

function describeSigner(s: SignerIdentity): string {
  if (s.kind === 'anonymous') return `anonymous key, thumbprint ${s.thumbprint}`;
  return `${s.role} "${s.displayName}" (party ${s.partyId}), issued by ${s.issuer}, valid ${s.notBefore.toISOString()} .. ${s.notAfter.toISOString()}, SHA-256 ${formatFingerprint(s.fingerprint)}`;
}

function invalid(io: Io, json: boolean, code: string, message: string, details?: unknown): number {
  if (json) io.out(JSON.stringify({ valid: false, code, message, ...(details === undefined ? {} : { details }) }, null, 2) + '\n');
  else io.out(`invalid: ${code}: ${message}\n`);
  return EXIT.FAILED;
}

function failed(io: Io, code: string, message: string, details?: unknown): number {
  io.err(`${code}: ${message}${details === undefined ? '' : `\n${JSON.stringify(details, null, 2)}`}\n`);
  return EXIT.FAILED;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export const docGroup: Group = {
  name: 'doc',
  summary: 'sign and verify Quittance documents offline',
  commands: [sign, verify],
};
