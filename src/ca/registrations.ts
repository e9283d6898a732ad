// Registration: "from real to digital identity" (SEMPER). The applicant proves
// possession of its key with a CSR; an operator checks the real identity and
// approves; only then is a certificate issued, carrying a pseudonym.
import { err, ok, type Result } from '../protocol/result.ts';
import type { Role } from '../protocol/identity.ts';
import {
  SELF_SERVICE_ROLES,
  type ApproveRequest,
  type RegistrationRequest,
  type RegistrationView,
} from '../protocol/messages/ca.ts';
import type { CaRegistrationTable } from './db.ts';
import type { CaDeps } from './deps.ts';
import type { CaErrorCode } from './errors.ts';

const ROLE_PREFIX: Record<Role, string> = {
  client: 'c',
  merchant: 'm',
  payment: 'p',
  bank: 'b',
  notary: 'n',
  operator: 'o',
  ca: 'a',
};

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Party ids are random, so they reveal nothing about the real identity or the order of registration. */
export function newPartyId(role: Role, random: (n: number) => Uint8Array): string {
  const bytes = random(10);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return `${ROLE_PREFIX[role]}-${out}`;
}

function newRegistrationId(random: (n: number) => Uint8Array): string {
  // 128 bits: the id is the applicant's handle to fetch its certificate.
  return `reg_${Buffer.from(random(16)).toString('base64url')}`;
}

export async function submitRegistration(
  deps: CaDeps,
  req: RegistrationRequest,
): Promise<Result<RegistrationView, CaErrorCode>> {
  if (!(SELF_SERVICE_ROLES as readonly string[]).includes(req.role)) {
    return err('CA_ROLE_NOT_SELF_SERVICE', `role ${req.role} is issued by an operator only`);
  }
  const csr = await deps.authority.inspectCsr(req.csr);
  if (!csr.ok) return err(csr.code, csr.message);

  const existing = await deps.db
    .selectFrom('ca_registrations')
    .select('id')
    .where('spki_sha256', '=', csr.value.spkiSha256)
    .where('status', '!=', 'rejected')
    .executeTakeFirst();
  if (existing) return err('CA_CSR_KEY_IN_USE', 'this public key is already registered');

  const row: CaRegistrationTable = {
    id: newRegistrationId(deps.random),
    status: 'pending',
    real_name: req.realIdentity.name,
    postal_address: req.realIdentity.postalAddress,
    email: req.realIdentity.email,
    requested_role: req.role,
    display_name: req.displayName,
    csr_pem: req.csr,
    spki_sha256: csr.value.spkiSha256,
    party_id: null,
    created_at: deps.clock().toISOString(),
    decided_at: null,
    decided_by: null,
    identity_check: null,
    reject_reason: null,
    certificate_serial: null,
  };
  try {
    await deps.db.insertInto('ca_registrations').values(row).execute();
  } catch (e) {
    if (deps.isUniqueViolation(e)) return err('CA_CSR_KEY_IN_USE', 'this public key is already registered');
    throw e;
  }

  if (deps.config.autoApprove) {
    return approveRegistration(deps, row.id, { identityCheck: 'auto-approved (demo setting)' }, 'auto-approve');
  }
  return ok(toView(deps, row, null));
}

export async function getRegistration(deps: CaDeps, id: string): Promise<Result<RegistrationView, CaErrorCode>> {
  const row = await deps.db.selectFrom('ca_registrations').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return err('CA_REGISTRATION_NOT_FOUND', 'no such registration');
  const cert = row.certificate_serial
    ? await deps.db.selectFrom('ca_certificates').select('pem').where('serial', '=', row.certificate_serial).executeTakeFirst()
    : undefined;
  return ok(toView(deps, row, cert?.pem ?? null));
}

/** Operator view: the real identity as well (never served to anyone else). */
export async function getRegistrationForOperator(deps: CaDeps, id: string) {
  const row = await deps.db.selectFrom('ca_registrations').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? ok(operatorView(row)) : err('CA_REGISTRATION_NOT_FOUND' as const, 'no such registration');
}

export async function listRegistrations(deps: CaDeps, status: 'pending' | 'approved' | 'rejected' | undefined, limit: number) {
  let q = deps.db.selectFrom('ca_registrations').selectAll().orderBy('created_at', 'asc').limit(limit);
  if (status) q = q.where('status', '=', status);
  return (await q.execute()).map(operatorView);
}

export async function approveRegistration(
  deps: CaDeps,
  id: string,
  req: ApproveRequest,
  operator: string,
): Promise<Result<RegistrationView, CaErrorCode>> {
  const row = await deps.db.selectFrom('ca_registrations').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return err('CA_REGISTRATION_NOT_FOUND', 'no such registration');
  if (row.status !== 'pending') return err('CA_REGISTRATION_NOT_PENDING', `registration is ${row.status}`);

  const role = row.requested_role as Role;
  const partyId = req.partyId ?? newPartyId(role, deps.random);
  if (req.partyId) {
    const taken = await deps.db.selectFrom('ca_certificates').select('serial').where('party_id', '=', partyId).executeTakeFirst();
    if (taken) return err('CA_PARTY_ID_TAKEN', `party id ${partyId} already has a certificate`);
  }
  // X.509 has whole seconds; the stored times must equal the certificate's.
  const now = new Date(Math.floor(deps.clock().getTime() / 1000) * 1000);
  const notAfter = new Date(now.getTime() + deps.config.certificateLifetimeDays * 86_400_000);
  const csr = await deps.authority.inspectCsr(row.csr_pem);
  if (!csr.ok) throw new Error(`stored CSR of ${id} no longer parses: ${csr.code}`);
  // Sign before the transaction: the transaction stays short and a failure
  // below leaves an unused certificate that nobody ever saw.
  const issued = await deps.authority.issue({
    subjectPublicKey: csr.value.spki,
    partyId,
    displayName: row.display_name,
    role,
    notBefore: now,
    notAfter,
    serial: serialBytes(deps.random),
  });

  try {
    const decided = await deps.db.transaction().execute(async (trx) => {
      // Conditional update: two operators approving at once issue one certificate.
      const upd = await trx
        .updateTable('ca_registrations')
        .set({
          status: 'approved',
          party_id: partyId,
          decided_at: now.toISOString(),
          decided_by: operator,
          identity_check: req.identityCheck,
          certificate_serial: issued.serialHex,
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (upd.numUpdatedRows !== 1n) return false;
      await trx
        .insertInto('ca_certificates')
        .values({
          serial: issued.serialHex,
          registration_id: id,
          party_id: partyId,
          role,
          display_name: row.display_name,
          spki_sha256: row.spki_sha256,
          pem: issued.pem,
          fingerprint: issued.fingerprint,
          not_before: issued.notBefore.toISOString(),
          not_after: issued.notAfter.toISOString(),
          issued_at: now.toISOString(),
          revoked_at: null,
          revocation_reason: null,
        })
        .execute();
      return true;
    });
    if (!decided) return err('CA_REGISTRATION_NOT_PENDING', 'registration was decided meanwhile');
  } catch (e) {
    if (deps.isUniqueViolation(e)) return err('CA_PARTY_ID_TAKEN', `party id ${partyId} is taken`);
    throw e;
  }
  return getRegistration(deps, id);
}

export async function rejectRegistration(
  deps: CaDeps,
  id: string,
  reason: string,
  operator: string,
): Promise<Result<RegistrationView, CaErrorCode>> {
  const upd = await deps.db
    .updateTable('ca_registrations')
    .set({ status: 'rejected', reject_reason: reason, decided_at: deps.clock().toISOString(), decided_by: operator })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (upd.numUpdatedRows !== 1n) {
    const exists = await deps.db.selectFrom('ca_registrations').select('status').where('id', '=', id).executeTakeFirst();
    return exists
      ? err('CA_REGISTRATION_NOT_PENDING', `registration is ${exists.status}`)
      : err('CA_REGISTRATION_NOT_FOUND', 'no such registration');
  }
  return getRegistration(deps, id);
}

/**
 * RFC 5280 §4.1.2.2 asks for unpredictable serials: 16 random bytes, the first
 * in 0x40..0x7f so the serial needs neither a sign octet nor has a leading
 * zero — it reads the same in our database, in openssl and in @peculiar/x509.
 */
export function serialBytes(random: (n: number) => Uint8Array): Uint8Array {
  const s = random(16);
  s[0] = 0x40 | (s[0]! & 0x3f);
  return s;
}

function toView(deps: CaDeps, row: CaRegistrationTable, certPem: string | null): RegistrationView {
  const view: RegistrationView = {
    registrationId: row.id,
    status: row.status,
    role: row.requested_role as Role,
    displayName: row.display_name,
    createdAt: row.created_at,
  };
  if (row.party_id) view.partyId = row.party_id;
  if (certPem) {
    view.certificate = certPem;
    view.chain = [certPem, ...deps.authority.chainPem];
  }
  if (row.reject_reason) view.rejectReason = row.reject_reason;
  return view;
}

function operatorView(row: CaRegistrationTable) {
  return {
    registrationId: row.id,
    status: row.status,
    role: row.requested_role,
    displayName: row.display_name,
    realIdentity: { name: row.real_name, postalAddress: row.postal_address, email: row.email },
    partyId: row.party_id ?? undefined,
    createdAt: row.created_at,
    decidedAt: row.decided_at ?? undefined,
    decidedBy: row.decided_by ?? undefined,
    identityCheck: row.identity_check ?? undefined,
    rejectReason: row.reject_reason ?? undefined,
    certificateSerial: row.certificate_serial ?? undefined,
  };
}
