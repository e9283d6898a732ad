// The published CRL. It is re-signed when a revocation happened after the
// last one, or when half of its validity has passed, so relying parties that
// cache it (and fail closed once it is stale) always find a fresh one.
import type { RevocationReason } from '../protocol/messages/ca.ts';
import type { CaDeps } from './deps.ts';

export type PublishedCrl = { number: number; thisUpdate: Date; nextUpdate: Date; der: Uint8Array };

export async function currentCrl(deps: CaDeps): Promise<PublishedCrl> {
  const now = deps.clock();
  const latest = await deps.db.selectFrom('ca_crls').selectAll().orderBy('number', 'desc').limit(1).executeTakeFirst();
  if (latest) {
    const thisUpdate = new Date(latest.this_update);
    const nextUpdate = new Date(latest.next_update);
    const halfLife = (nextUpdate.getTime() - thisUpdate.getTime()) / 2;
    const revoked = await deps.db
      .selectFrom('ca_certificates')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('revoked_at', 'is not', null)
      .executeTakeFirstOrThrow();
    const newer = Number(revoked.n) !== Number(latest.revoked_count);
    if (!newer && now.getTime() - thisUpdate.getTime() < halfLife && now >= thisUpdate) {
      return { number: Number(latest.number), thisUpdate, nextUpdate, der: Buffer.from(latest.der_base64, 'base64') };
    }
  }
  return publishCrl(deps, latest ? Number(latest.number) + 1 : 1);
}

async function publishCrl(deps: CaDeps, number: number): Promise<PublishedCrl> {
  // CRL times have whole seconds: store exactly what the CRL says.
  const thisUpdate = new Date(Math.floor(deps.clock().getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + deps.config.crlValidityHours * 3_600_000);
  const revoked = await deps.db
    .selectFrom('ca_certificates')
    .select(['serial', 'revoked_at', 'revocation_reason'])
    .where('revoked_at', 'is not', null)
    // Expired certificates stay listed: removing them would need the
    // ExpiredCertsOnCRL extension to be unambiguous, and the list is small.
    .orderBy('serial')
    .execute();
  const der = await deps.authority.makeCrl({
    number,
    thisUpdate,
    nextUpdate,
    entries: revoked.map((r) => ({
      serialHex: r.serial,
      revokedAt: new Date(r.revoked_at!),
      reason: (r.revocation_reason ?? 'unspecified') as RevocationReason,
    })),
  });
  try {
    await deps.db
      .insertInto('ca_crls')
      .values({
        number,
        this_update: thisUpdate.toISOString(),
        next_update: nextUpdate.toISOString(),
        der_base64: Buffer.from(der).toString('base64'),
        revoked_count: revoked.length,
      })
      .execute();
  } catch (e) {
    // Another process published this number first: serve theirs.
    if (!deps.isUniqueViolation(e)) throw e;
    const theirs = await deps.db.selectFrom('ca_crls').selectAll().where('number', '=', number).executeTakeFirstOrThrow();
    return {
      number,
      thisUpdate: new Date(theirs.this_update),
      nextUpdate: new Date(theirs.next_update),
      der: Buffer.from(theirs.der_base64, 'base64'),
    };
  }
  return { number, thisUpdate, nextUpdate, der };
}
