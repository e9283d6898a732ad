// `quittance ca …`: run and operate the registration and certification authority.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createApp } from '../../ca/app.ts';
import { getCertificate, issueAndRecord, listCertificates, revokeCertificate } from '../../ca/certificates.ts';
import { currentCrl } from '../../ca/crl.ts';
import { MIN_PASSPHRASE, initCa } from '../../ca/init.ts';
import { isInitialized } from '../../ca/data-dir.ts';
import { openCa, type OpenCaOptions, type OpenedCa } from '../../ca/open.ts';
import { approveRegistration, listRegistrations, newPartyId, rejectRegistration } from '../../ca/registrations.ts';
import { wholeSeconds } from '../../ca/x509-authority.ts';
import { tlsServerOptions } from '../../http/tls.ts';
import { encryptPrivateKey, generateKeyPair, readPassphrase, writeKeyFile } from '../../crypto/index.ts';
import { PARTY_ID_PATTERN, ROLES, type Role } from '../../protocol/identity.ts';
import { REVOCATION_REASONS, type RevocationReason } from '../../protocol/messages/ca.ts';
import { crlToPem, fingerprintSha256, formatFingerprint, normalizeSerialHex, parseCertificatePem } from '../../protocol/x509/index.ts';
import { EXIT, UsageError, parsePort, requireString, type Command, type Group, type Io } from '../command.ts';

const DATA = { type: 'string', description: 'CA data directory (created by `ca init`)', valueName: 'DIR' } as const;
const DB = { type: 'string', description: 'database URL (sqlite:PATH or postgres://…); default from ca.json', valueName: 'URL' } as const;
const JSON_OUT = { type: 'boolean', description: 'print the result as JSON' } as const;

async function passphrase(io: Io, prompt: string): Promise<string> {
  return readPassphrase({ environment: io.env, prompt });
}

function printResult(io: Io, json: boolean, value: unknown, text: string): void {
  io.out(json ? JSON.stringify(value, null, 2) + '\n' : text);
}

function fail(io: Io, json: boolean, code: string, message: string): number {
  if (json) io.out(JSON.stringify({ ok: false, code, message }) + '\n');
  else io.err(`${code}: ${message}\n`);
  return EXIT.FAILED;
}

function keyAlg(raw: unknown): 'Ed25519' | 'P-256' {
  if (raw === undefined || raw === 'ed25519') return 'Ed25519';
  if (raw === 'p256') return 'P-256';
  throw new UsageError(`--alg must be ed25519 or p256, got ${String(raw)}`);
}

function positiveInt(raw: unknown, name: string, fallback: number, max = 3650): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${name} must be an integer 1..${max}, got ${String(raw)}`);
  return n;
}

/** Accepts a serial as `ca list` prints it, or as openssl does (upper case, colons). */
function serialArg(raw: string): string {
  const hex = raw.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,40}$/.test(hex)) throw new UsageError(`not a certificate serial: ${raw}`);
  return normalizeSerialHex(hex.length % 2 ? `0${hex}` : hex);
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}`);
  return positionals[0]!;
}

/** Opens the CA named by --data (and --db), runs `fn`, and always closes it. */
async function withCa<T>(values: Record<string, unknown>, opts: OpenCaOptions, fn: (ca: OpenedCa) => Promise<T>): Promise<T> {
  const ca = await openCa(resolve(requireString(values, 'data')), { ...opts, ...(typeof values.db === 'string' ? { db: values.db } : {}) });
  try {
    return await fn(ca);
  } finally {
    await ca.close();
  }
}

const init: Command = {
  name: 'init',
  summary: 'create a new root CA (encrypted key, self-signed certificate, config, operator token)',
  options: {
    data: DATA,
    name: { type: 'string', description: 'common name of the root certificate (default "Quittance Root CA")', valueName: 'NAME' },
    alg: { type: 'string', description: 'key algorithm: ed25519 (default) or p256', valueName: 'ALG' },
    'validity-days': { type: 'string', description: 'root certificate lifetime in days (default 3650)', valueName: 'N' },
    'cert-days': { type: 'string', description: 'lifetime of issued certificates in days (default 365)', valueName: 'N' },
    'auto-approve': { type: 'boolean', description: 'DEMO ONLY: issue certificates at registration without an operator' },
    db: DB,
  },
  details: `Writes DIR/ca-key.pem (PKCS#8, PBES2/PBKDF2-SHA256 600,000 iterations, AES-256-CBC),
DIR/ca-cert.pem (give this to every relying party) and DIR/ca.json. The key passphrase
comes from QUITTANCE_PASSPHRASE or a prompt. The operator token is printed once; only its
SHA-256 is stored.`,
  async run({ values }, io) {
    const dir = resolve(requireString(values, 'data'));
    const config: Record<string, unknown> = {};
    if (values['auto-approve']) config.autoApprove = true;
    if (values['cert-days'] !== undefined) config.certificateLifetimeDays = positiveInt(values['cert-days'], 'cert-days', 365);
    if (typeof values.db === 'string') config.db = values.db;
    const validityDays = positiveInt(values['validity-days'], 'validity-days', 3650, 36500);
    const alg = keyAlg(values.alg);
    if (isInitialized(dir)) return fail(io, false, 'CLI_CA_EXISTS', `${dir} already holds a CA; refusing to overwrite it`);
    const pass = await passphrase(io, 'New CA key passphrase: ');
    if (pass.length < MIN_PASSPHRASE) return fail(io, false, 'CLI_PASSPHRASE_TOO_SHORT', `the CA key passphrase must have at least ${MIN_PASSPHRASE} characters`);
    const ca = await initCa(dir, {
      passphrase: pass,
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      alg,
      validityDays,
      config,
    });
    const fp = formatFingerprint(await fingerprintSha256(derOf(ca.certPem)));
    io.out(
      `CA created in ${dir}\n` +
        `  certificate: ${ca.paths.cert}\n  SHA-256 fingerprint: ${fp}\n` +
        `  operator token (shown once, keep it secret): ${ca.adminToken}\n`,
    );
    return EXIT.OK;
  },
};

const serve: Command = {
  name: 'serve',
  summary: 'run the CA server (registration, certificates, CRL, operator API)',
  options: {
    data: DATA,
    port: { type: 'string', description: 'TCP port (default 7001; 0 picks a free one)', valueName: 'N' },
    host: { type: 'string', description: 'address to listen on (default 127.0.0.1)', valueName: 'HOST' },
    db: DB,
    'auto-approve': { type: 'boolean', description: 'DEMO ONLY: issue certificates at registration without an operator' },
    'tls-cert': { type: 'string', description: 'serve HTTPS with this certificate chain (PEM, leaf first)', valueName: 'FILE' },
    'tls-key': { type: 'string', description: 'encrypted private key for --tls-cert (same passphrase)', valueName: 'FILE' },
  },
  details: `Prints one JSON line {"event":"ready","party":"ca","url":…} when it listens; stops on SIGINT/SIGTERM.
With --tls-cert/--tls-key the server speaks HTTPS and accepts operator certificates
(role operator, issued by this CA, not revoked) over mutual TLS on the admin endpoints,
besides the bearer token. Make the server certificate with
  quittance ca issue --data DIR --role ca --name "Quittance CA" --dns localhost --out tls/`,
  async run({ values }, io) {
    const port = parsePort(values.port, 7001);
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
    const tlsCert = values['tls-cert'];
    const tlsKey = values['tls-key'];
    if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
    const tls = typeof tlsCert === 'string' && typeof tlsKey === 'string' ? { cert: await readFile(tlsCert, 'utf8'), key: await readFile(tlsKey, 'utf8') } : undefined;
    const pass = await passphrase(io, 'CA key passphrase: ');
    const overrides = values['auto-approve'] ? { configOverrides: { autoApprove: true } } : {};
    return withCa(values, { passphrase: pass, ...overrides }, async (ca) => {
      const https = tls ? tlsServerOptions({ certPem: tls.cert, keyPem: tls.key, passphrase: pass, clientCaPem: ca.caCertPem }) : undefined;
      const app = createApp(ca.deps, { logger: { level: io.env.QUITTANCE_LOG_LEVEL ?? 'info' }, ...(https ? { https } : {}) });
      try {
        const address = await app.listen({ port, host });
        io.out(JSON.stringify({ event: 'ready', party: 'ca', url: address }) + '\n');
        await io.stopSignal;
      } finally {
        await app.close();
      }
      return EXIT.OK;
    });
  },
};

const list: Command = {
  name: 'list',
  summary: 'list registrations (default: pending) or certificates',
  options: {
    data: DATA,
    db: DB,
    status: { type: 'string', description: 'pending (default), approved, rejected or all', valueName: 'STATUS' },
    certificates: { type: 'boolean', description: 'list issued certificates instead' },
    json: JSON_OUT,
  },
  async run({ values }, io) {
    return withCa(values, {}, async (ca) => {
      if (values.certificates) {
        const certs = await listCertificates(ca.deps, { limit: 1000 });
        const text = certs
          .map((c) => `${c.serial}  ${c.role.padEnd(8)} ${c.partyId.padEnd(20)} ${c.displayName}  until ${c.notAfter}${c.revokedAt ? `  REVOKED ${c.revokedAt} (${c.revocationReason})` : ''}`)
          .join('\n');
        printResult(io, Boolean(values.json), { certificates: certs }, (text || '(no certificates)') + '\n');
        return EXIT.OK;
      }
      const status = values.status ?? 'pending';
      if (!['pending', 'approved', 'rejected', 'all'].includes(String(status))) throw new UsageError('--status must be pending, approved, rejected or all');
      const regs = await listRegistrations(ca.deps, status === 'all' ? undefined : (status as 'pending'), 1000);
      const text = regs
        .map((r) => `${r.registrationId}  ${r.status.padEnd(8)} ${r.role.padEnd(8)} "${r.displayName}"  real: ${r.realIdentity.name}, ${r.realIdentity.email}`)
        .join('\n');
      printResult(io, Boolean(values.json), { registrations: regs }, (text || `(no ${status} registrations)`) + '\n');
      return EXIT.OK;
    });
  },
};

const approve: Command = {
  name: 'approve',
  summary: 'approve a pending registration and issue its certificate',
  args: 'REGISTRATION_ID',
  options: {
    data: DATA,
    db: DB,
    check: { type: 'string', description: 'how the real identity was checked (stored with the registration)', valueName: 'TEXT' },
    'party-id': { type: 'string', description: 'party id to assign (default: generated)', valueName: 'ID' },
    json: JSON_OUT,
  },
  async run({ values, positionals }, io) {
    const id = onePositional(positionals, 'registration id');
    const partyId = values['party-id'];
    if (partyId !== undefined && !PARTY_ID_PATTERN.test(String(partyId))) throw new UsageError('--party-id: 1-63 of [a-z0-9._-]');
    return withCa(values, { passphrase: await passphrase(io, 'CA key passphrase: ') }, async (ca) => {
      const r = await approveRegistration(
        ca.deps,
        id,
        { identityCheck: typeof values.check === 'string' ? values.check : 'approved by operator (CLI)', ...(partyId ? { partyId: String(partyId) } : {}) },
        'operator-cli',
      );
      if (!r.ok) return fail(io, Boolean(values.json), r.code, r.message);
      printResult(io, Boolean(values.json), r.value, `approved ${id}: party id ${r.value.partyId}, "${r.value.displayName}" (${r.value.role})\n`);
      return EXIT.OK;
    });
  },
};

const reject: Command = {
  name: 'reject',
  summary: 'reject a pending registration',
  args: 'REGISTRATION_ID',
  options: { data: DATA, db: DB, reason: { type: 'string', description: 'why (required)', valueName: 'TEXT' }, json: JSON_OUT },
  async run({ values, positionals }, io) {
    const id = onePositional(positionals, 'registration id');
    const reason = requireString(values, 'reason');
    return withCa(values, {}, async (ca) => {
      const r = await rejectRegistration(ca.deps, id, reason, 'operator-cli');
      if (!r.ok) return fail(io, Boolean(values.json), r.code, r.message);
      printResult(io, Boolean(values.json), r.value, `rejected ${id}\n`);
      return EXIT.OK;
    });
  },
};

const revoke: Command = {
  name: 'revoke',
  summary: 'revoke a certificate by serial; the next CRL lists it',
  args: 'SERIAL',
  options: {
    data: DATA,
    db: DB,
    reason: { type: 'string', description: `one of: ${REVOCATION_REASONS.join(', ')}`, valueName: 'REASON' },
    json: JSON_OUT,
  },
  async run({ values, positionals }, io) {
    const serial = serialArg(onePositional(positionals, 'certificate serial'));
    const reason = requireString(values, 'reason');
    if (!(REVOCATION_REASONS as readonly string[]).includes(reason)) throw new UsageError(`--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
    return withCa(values, {}, async (ca) => {
      const r = await revokeCertificate(ca.deps, serial, reason as RevocationReason);
      if (!r.ok) return fail(io, Boolean(values.json), r.code, r.message);
      printResult(io, Boolean(values.json), r.value, `revoked ${serial} (${r.value.partyId}, ${reason})\n`);
      return EXIT.OK;
    });
  },
};

const issue: Command = {
  name: 'issue',
  summary: 'issue a certificate offline for a server or operator (writes cert.pem, chain.pem, key.pem)',
  options: {
    data: DATA,
    db: DB,
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
    const days = positiveInt(values.days, 'days', 365);
    // Never overwrite a key: its certificate may be in use and cannot be re-derived.
    const existing = ['cert.pem', 'chain.pem', 'key.pem'].map((f) => join(out, f)).filter((f) => existsSync(f));
    if (existing.length) return fail(io, false, 'CLI_OUTPUT_EXISTS', `refusing to overwrite ${existing.join(', ')}`);
    const pass = await passphrase(io, 'CA key passphrase: ');
    return withCa(values, { passphrase: pass }, async (ca) => {
      const partyId = partyIdRaw ? String(partyIdRaw) : newPartyId(role as Role, ca.deps.random);
      const taken = await ca.deps.db.selectFrom('ca_certificates').select('serial').where('party_id', '=', partyId).executeTakeFirst();
      if (taken) return fail(io, false, 'CA_PARTY_ID_TAKEN', `party id ${partyId} already has a certificate`);
      const keys = await generateKeyPair(keyAlg(values.alg));
      const now = wholeSeconds(new Date());
      const lifetime = values.days === undefined ? ca.deps.config.certificateLifetimeDays : days;
      const cert = await issueAndRecord(ca.deps, {
        subjectPublicKey: keys.publicKey,
        partyId,
        displayName: name,
        role: role as Role,
        notBefore: now,
        notAfter: new Date(now.getTime() + lifetime * 86_400_000),
        serial: new Uint8Array(randomBytes(16)),
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

const crl: Command = {
  name: 'crl',
  summary: 'write the current CRL (signed anew when needed) to a file',
  options: {
    data: DATA,
    db: DB,
    out: { type: 'string', description: 'output file (default: stdout, PEM)', valueName: 'FILE' },
    der: { type: 'boolean', description: 'write DER instead of PEM' },
  },
  async run({ values }, io) {
    if (values.der && typeof values.out !== 'string') throw new UsageError('--der needs --out');
    return withCa(values, { passphrase: await passphrase(io, 'CA key passphrase: ') }, async (ca) => {
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

const show: Command = {
  name: 'show',
  summary: 'show one certificate by serial (PEM and status)',
  args: 'SERIAL',
  options: { data: DATA, db: DB, json: JSON_OUT },
  async run({ values, positionals }, io) {
    const serial = serialArg(onePositional(positionals, 'certificate serial'));
    return withCa(values, {}, async (ca) => {
      const r = await getCertificate(ca.deps, serial);
      if (!r.ok) return fail(io, Boolean(values.json), r.code, r.message);
      const c = r.value;
      printResult(io, Boolean(values.json), c, `${c.role} "${c.displayName}" party ${c.partyId}\nvalid ${c.notBefore} .. ${c.notAfter}${c.revokedAt ? `\nREVOKED ${c.revokedAt} (${c.revocationReason})` : ''}\n${c.pem}`);
      return EXIT.OK;
    });
  },
};

function derOf(pem: string): Uint8Array {
  const p = parseCertificatePem(pem);
  if (!p.ok) throw new Error('certificate does not parse');
  return new Uint8Array(p.value.rawData);
}

export const caGroup: Group = {
  name: 'ca',
  summary: 'registration and certification authority',
  commands: [init, serve, list, approve, reject, revoke, issue, crl, show],
};
