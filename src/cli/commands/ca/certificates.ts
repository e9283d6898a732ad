// `quittance ca revoke|issue|crl|show`: certificates after issue.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { getCertificate, issueAndRecord, revokeCertificate } from '../../../ca/certificates.ts';
import { currentCrl } from '../../../ca/crl.ts';
import { newPartyId, serialBytes } from '../../../ca/registrations.ts';
import { wholeSeconds } from '../../../ca/x509-authority.ts';
import { encryptPrivateKey, generateKeyPair, writeKeyFile } from '../../../crypto/index.ts';
import { PARTY_ID_PATTERN, ROLES, type Role } from '../../../protocol/identity.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../../../protocol/messages/ca.ts';
import { crlToPem, formatFingerprint } from '../../../protocol/x509/index.ts';
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import * as S from './shared.ts';

export const revoke: Command = {
  name: 'revoke',
  summary: 'revoke a certificate by serial; the next CRL lists it',
  args: 'SERIAL',
  options: {
    data: S.DATA,
    db: S.DB,
    reason: { type: 'string', description: `one of: ${REVOCATION_REASONS.join(', ')}`, valueName: 'REASON' },
    json: S.JSON_OUT,
  },
  async run({ values, positionals }, io) {
    const serial = S.serialArg(S.onePositional(positionals, 'certificate serial'));
    const reason = requireString(values, 'reason');
    if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) throw new UsageError(`--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
    return S.withCa(values, {}, async (ca) => {
      const r = await revokeCertificate(ca.deps, serial, reason as RevocationReason);
      if (!r.ok) return S.fail(io, Boolean(values.json), r.code, r.message);
      S.printResult(io, Boolean(values.json), r.value, `revoked ${serial} (${r.value.partyId}, ${reason})\n`);
      return EXIT.OK;
    });
  },
};

export const issue: Command = {
  name: 'issue',
  summary: 'issue a certificate offline for a server or operator (writes cert.pem, chain.pem, key.pem)',
  options: {
    data: S.DATA,
    db: S.DB,
    role: { type: 'string', description: `one of: ${ROLES.join(', ')}`, valueName: 'ROLE' },
    name: { type: 'string', description: 'display name shown to other parties', valueName: 'NAME' },
    out: { type: 'string', description: 'output directory', valueName: 'OUTDIR' },
    'party-id': { type: 'string', description: 'party id (default: generated)', valueName: 'ID' },
    alg: { type: 'string', description: 'key algorithm: ed25519 (default) or p256', valueName: 'ALG' },
    dns: { type: 'string', multiple: true, description: 'DNS name for TLS server use', valueName: 'NAME' },
    days: { type: 'string', description: 'lifetime in days (default from ca.json)', valueName: 'N' },
  },
  details: `The new key is generated here and written encrypted (key.pem) with the same passphrase
as the CA key (QUITTANCE_PASSPHRASE or a prompt). chain.pem is the leaf followed by the CA.
The certificate is recorded in the CA database, so it can be listed and revoked.`,
  async run({ values }, io) {
    const role = requireString(values, 'role');
    if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
    const name = requireString(values, 'name');
    const out = resolve(requireString(values, 'out'));
    const partyIdRaw = values['party-id'];
    if (partyIdRaw !== undefined && !PARTY_ID_PATTERN.test(String(partyIdRaw))) throw new UsageError('--party-id: 1-63 of [a-z0-9._-]');
    const days = S.positiveInt(values.days, 'days', 365);
    // Never overwrite a key: its certificate may be in use and cannot be re-derived.
    const existing = ['cert.pem', 'chain.pem', 'key.pem'].map((f) => join(out, f)).filter((f) => existsSync(f));
    if (existing.length) return S.fail(io, false, 'CLI_OUTPUT_EXISTS', `refusing to overwrite ${existing.join(', ')}`);
    const pass = await S.passphrase(io, 'CA key passphrase: ');
    return S.withCa(values, { passphrase: pass }, async (ca) => {
      const partyId = partyIdRaw ? String(partyIdRaw) : newPartyId(role as Role, ca.deps.random);
      const taken = await ca.deps.db.selectFrom('ca_certificates').select('serial').where('party_id', '=', partyId).executeTakeFirst();
      if (taken) return S.fail(io, false, 'CA_PARTY_ID_TAKEN', `party id ${partyId} already has a certificate`);
      const keys = await generateKeyPair(S.keyAlg(values.alg));
      const now = wholeSeconds(new Date());
      const lifetime = values.days === undefined ? ca.deps.config.certificateLifetimeDays : days;
      const cert = await issueAndRecord(ca.deps, {
        subjectPublicKey: keys.publicKey,
        partyId,
        displayName: name,
        role: role as Role,
        notBefore: now,
        notAfter: new Date(now.getTime() + lifetime * 86_400_000),
        serial: serialBytes(ca.deps.random),
        ...(Array.isArray(values.dns) ? { dnsNames: values.dns as string[] } : {}),
      });
      await mkdir(out, { recursive: true, mode: 0o700 });
      await writeFile(join(out, 'cert.pem'), cert.pem);
      await writeFile(join(out, 'chain.pem'), cert.pem + ca.caCertPem);
      await writeKeyFile(join(out, 'key.pem'), await encryptPrivateKey(keys.privateKey, pass));
      io.out(
        `issued ${role} certificate for "${name}" (party id ${partyId}, serial ${cert.serialHex})\n` +
          `  SHA-256 fingerprint: ${formatFingerprint(cert.fingerprint)}\n  wrote ${join(out, 'cert.pem')}, chain.pem, key.pem\n`,
      );
      return EXIT.OK;
    });
  },
};

export const crl: Command = {
  name: 'crl',
  summary: 'write the current CRL (signed anew when needed) to a file',
  options: {
    data: S.DATA,
    db: S.DB,
    out: { type: 'string', description: 'output file (default: stdout, PEM)', valueName: 'FILE' },
    der: { type: 'boolean', description: 'write DER instead of PEM' },
  },
  async run({ values }, io) {
    if (values.der && typeof values.out !== 'string') throw new UsageError('--der needs --out');
    return S.withCa(values, { passphrase: await S.passphrase(io, 'CA key passphrase: ') }, async (ca) => {
      const c = await currentCrl(ca.deps);
      const body = values.der ? Buffer.from(c.der) : crlToPem(c.der);
      if (typeof values.out === 'string') {
        await writeFile(values.out, body);
        io.err(`CRL #${c.number} (next update ${c.nextUpdate.toISOString()}) written to ${values.out}\n`);
      } else io.out(String(body));
      return EXIT.OK;
    });
  },
};

export const show: Command = {
  name: 'show',
  summary: 'show one certificate by serial (PEM and status)',
  args: 'SERIAL',
  options: { data: S.DATA, db: S.DB, json: S.JSON_OUT },
  async run({ values, positionals }, io) {
    const serial = S.serialArg(S.onePositional(positionals, 'certificate serial'));
    return S.withCa(values, {}, async (ca) => {
      const r = await getCertificate(ca.deps, serial);
      if (!r.ok) return S.fail(io, Boolean(values.json), r.code, r.message);
      const c = r.value;
      S.printResult(io, Boolean(values.json), c, `${c.role} "${c.displayName}" party ${c.partyId}\nvalid ${c.notBefore} .. ${c.notAfter}${c.revokedAt ? `\nREVOKED ${c.revokedAt} (${c.revocationReason})` : ''}\n${c.pem}`);
      return EXIT.OK;
    });
  },
};

