// Issued certificates and their revocation. Revocation is final: a revoked
// certificate is never un-revoked (no certificateHold), so a relying party
// that once saw it revoked can trust that forever.
import { createHash } from 'node:crypto';
import { exportSpkiDer } from '../crypto/index.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { CertificateView, RevocationReason } from '../protocol/messages/ca.ts';
import { serialHexFromDisplay } from '../protocol/x509/index.ts';
import type { IssuedCertificate, IssueRequest } from './authority.ts';
import type { CaCertificateTable } from './db.ts';
import type { CaDeps } from './deps.ts';
import type { CaErrorCode } from './errors.ts';

export async function listCertificates(deps: CaDeps, opts: { partyId?: string; limit: number }): Promise<CertificateView[]> {
  let q = deps.db.selectFrom('ca_certificates').selectAll().orderBy('issued_at', 'asc').limit(opts.limit);
  if (opts.partyId) q = q.where('party_id', '=', opts.partyId);
  return (await q.execute()).map(toView);
}

export async function getCertificate(deps: CaDeps, serialText: string): Promise<Result<CertificateView & { pem: string }, CaErrorCode>> {
  const serial = serialHexFromDisplay(serialText);
  if (!serial) return err('CA_CERTIFICATE_NOT_FOUND', 'no certificate with that serial');
  const row = await deps.db.selectFrom('ca_certificates').selectAll().where('serial', '=', serial).executeTakeFirst();
  return row ? ok({ ...toView(row), pem: row.pem }) : err('CA_CERTIFICATE_NOT_FOUND', 'no certificate with that serial');
}

export async function revokeCertificate(
  deps: CaDeps,
  serialText: string,
  reason: RevocationReason,
): Promise<Result<CertificateView, CaErrorCode>> {
  // Accept the serial as openssl prints it too (no sign octet, colons).
  const serial = serialHexFromDisplay(serialText);
  if (!serial) return err('CA_CERTIFICATE_NOT_FOUND', 'no certificate with that serial');
  const upd = await deps.db
    .updateTable('ca_certificates')
    .set({ revoked_at: deps.clock().toISOString(), revocation_reason: reason })
    .where('serial', '=', serial)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (upd.numUpdatedRows !== 1n) {
    const row = await deps.db.selectFrom('ca_certificates').select('serial').where('serial', '=', serial).executeTakeFirst();
    return row
      ? err('CA_CERTIFICATE_ALREADY_REVOKED', 'certificate is already revoked')
      : err('CA_CERTIFICATE_NOT_FOUND', 'no certificate with that serial');
  }
  const got = await getCertificate(deps, serial);
  if (!got.ok) return got;
  const { pem: _pem, ...view } = got.value;
  return ok(view);
}

function toView(row: CaCertificateTable): CertificateView {
  const v: CertificateView = {
    serial: row.serial,
    partyId: row.party_id,
    role: row.role,
    displayName: row.display_name,
    fingerprint: row.fingerprint,
    notBefore: row.not_before,
    notAfter: row.not_after,
  };
  if (row.revoked_at) v.revokedAt = row.revoked_at;
  if (row.revocation_reason) v.revocationReason = row.revocation_reason;
  if (row.registration_id) v.registrationId = row.registration_id;
  return v;
}

/**
 * Offline issuance (`quittance ca issue`): signs and records the certificate,
 * so it is listed and revocable like one issued through registration.
 */
export async function issueAndRecord(deps: CaDeps, req: IssueRequest): Promise<IssuedCertificate> {
  const issued = await deps.authority.issue(req);
  const spki = req.subjectPublicKey instanceof Uint8Array ? req.subjectPublicKey : await exportSpkiDer(req.subjectPublicKey);
  await deps.db
    .insertInto('ca_certificates')
    .values({
      serial: issued.serialHex,
      registration_id: null,
      party_id: req.partyId,
      role: req.role,
      display_name: req.displayName,
      spki_sha256: createHash('sha256').update(spki).digest('hex'),
      pem: issued.pem,
      fingerprint: issued.fingerprint,
      not_before: issued.notBefore.toISOString(),
      not_after: issued.notAfter.toISOString(),
      issued_at: deps.clock().toISOString(),
      revoked_at: null,
      revocation_reason: null,
    })
    .execute();
  return issued;
}
