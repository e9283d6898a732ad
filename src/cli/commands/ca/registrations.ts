// `quittance ca list|approve|reject`: the operator's registration desk.
import { listCertificates } from '../../../ca/certificates.ts';
import { approveRegistration, listRegistrations, rejectRegistration } from '../../../ca/registrations.ts';
import { PARTY_ID_PATTERN } from '../../../protocol/identity.ts';
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import * as S from './shared.ts';

export const list: Command = {
  name: 'list',
  summary: 'list registrations (default: pending) or certificates',
  options: {
    data: S.DATA,
    db: S.DB,
    status: { type: 'string', description: 'pending (default), approved, rejected or all', valueName: 'STATUS' },
    certificates: { type: 'boolean', description: 'list issued certificates instead' },
    json: S.JSON_OUT,
  },
  async run({ values }, io) {
    return S.withCa(values, {}, async (ca) => {
      if (values.certificates) {
        const certs = await listCertificates(ca.deps, { limit: 1000 });
        const text = certs
          .map((c) => `${c.serial}  ${c.role.padEnd(8)} ${c.partyId.padEnd(20)} ${c.displayName}  until ${c.notAfter}${c.revokedAt ? `  REVOKED ${c.revokedAt} (${c.revocationReason})` : ''}`)
          .join('\n');
        S.printResult(io, Boolean(values.json), { certificates: certs }, (text || '(no certificates)') + '\n');
        return EXIT.OK;
      }
      const status = values.status ?? 'pending';
      if (!['pending', 'approved', 'rejected', 'all'].includes(String(status))) throw new UsageError('--status must be pending, approved, rejected or all');
      const regs = await listRegistrations(ca.deps, status === 'all' ? undefined : (status as 'pending'), 1000);
      const text = regs
        .map((r) => `${r.registrationId}  ${r.status.padEnd(8)} ${r.role.padEnd(8)} "${r.displayName}"  real: ${r.realIdentity.name}, ${r.realIdentity.email}`)
        .join('\n');
      S.printResult(io, Boolean(values.json), { registrations: regs }, (text || `(no ${status} registrations)`) + '\n');
      return EXIT.OK;
    });
  },
};

export const approve: Command = {
  name: 'approve',
  summary: 'approve a pending registration and issue its certificate',
  args: 'REGISTRATION_ID',
  options: {
    data: S.DATA,
    db: S.DB,
    check: { type: 'string', description: 'how the real identity was checked (stored with the registration)', valueName: 'TEXT' },
    'party-id': { type: 'string', description: 'party id to assign (default: generated)', valueName: 'ID' },
    json: S.JSON_OUT,
  },
  async run({ values, positionals }, io) {
    const id = S.onePositional(positionals, 'registration id');
    const partyId = values['party-id'];
    if (partyId !== undefined && !PARTY_ID_PATTERN.test(String(partyId))) throw new UsageError('--party-id: 1-63 of [a-z0-9._-]');
    return S.withCa(values, { passphrase: await S.passphrase(io, 'CA key passphrase: ') }, async (ca) => {
      const r = await approveRegistration(
        ca.deps,
        id,
        { identityCheck: typeof values.check === 'string' ? values.check : 'approved by operator (CLI)', ...(partyId ? { partyId: String(partyId) } : {}) },
        'operator-cli',
      );
      if (!r.ok) return S.fail(io, Boolean(values.json), r.code, r.message);
      S.printResult(io, Boolean(values.json), r.value, `approved ${id}: party id ${r.value.partyId}, "${r.value.displayName}" (${r.value.role})\n`);
      return EXIT.OK;
    });
  },
};

export const reject: Command = {
  name: 'reject',
  summary: 'reject a pending registration',
  args: 'REGISTRATION_ID',
  options: { data: S.DATA, db: S.DB, reason: { type: 'string', description: 'why (required)', valueName: 'TEXT' }, json: S.JSON_OUT },
  async run({ values, positionals }, io) {
    const id = S.onePositional(positionals, 'registration id');
    const reason = requireString(values, 'reason');
    return S.withCa(values, {}, async (ca) => {
      const r = await rejectRegistration(ca.deps, id, reason, 'operator-cli');
      if (!r.ok) return S.fail(io, Boolean(values.json), r.code, r.message);
      S.printResult(io, Boolean(values.json), r.value, `rejected ${id}\n`);
      return EXIT.OK;
    });
  },
};

