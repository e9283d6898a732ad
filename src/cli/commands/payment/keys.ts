// `quittance payment keys` and `quittance payment rotate`.
import { ensureDenominationKeys, listDenominationKeys, type DenominationKeyInfo } from '../../../payment/denominations.ts';
import { EXIT, type Command } from '../../command.ts';
import * as S from './shared.ts';

function view(k: DenominationKeyInfo, now: Date) {
  const t = now.getTime();
  const state = t > Date.parse(k.depositUntil) ? 'expired' : t > Date.parse(k.withdrawUntil) ? 'deposit-only' : 'active';
  return {
    denominationId: k.denominationId,
    value: k.amount,
    generation: k.generation,
    state,
    validFrom: k.validFrom,
    withdrawUntil: k.withdrawUntil,
    depositUntil: k.depositUntil,
  };
}

function table(rows: ReturnType<typeof view>[]): string {
  if (rows.length === 0) return 'no denomination keys yet (they are made by `payment serve` or `payment rotate`)\n';
  const lines = rows.map(
    (r) => `${r.value.padEnd(16)} gen ${String(r.generation).padEnd(4)} ${r.state.padEnd(13)} withdraw until ${r.withdrawUntil}  deposit until ${r.depositUntil}  ${r.denominationId}`,
  );
  return lines.join('\n') + '\n';
}

export const keys: Command = {
  name: 'keys',
  summary: 'list the denomination keys and their windows',
  options: {
    data: S.DATA,
    db: S.DB,
    all: { type: 'boolean', description: 'include keys past their deposit window' },
    json: S.JSON_OUT,
  },
  details: 'Reads the database only; needs no passphrase. State: active (signs coins), deposit-only, expired.',
  async run({ values }, io) {
    return S.withPaymentStore(values, async (p) => {
      const now = new Date();
      const rows = (await listDenominationKeys(p, now, { all: values.all === true })).map((k) => view(k, now));
      io.out(values.json ? JSON.stringify({ keys: rows }, null, 2) + '\n' : table(rows));
      return EXIT.OK;
    });
  },
};

export const rotate: Command = {
  name: 'rotate',
  summary: 'make a new key for every denomination now (old keys stay valid for their windows)',
  options: { data: S.DATA, db: S.DB, json: S.JSON_OUT },
  details: 'Running servers publish the new keys at their next GET /v1/keys. The passphrase comes from QUITTANCE_PASSPHRASE or a prompt.',
  async run({ values }, io) {
    return S.withPayment(values, io, async (p) => {
      const now = p.deps.clock();
      const created = (await ensureDenominationKeys(p.deps, now, { force: true })).map((k) => view(k, now));
      io.out(values.json ? JSON.stringify({ created }, null, 2) + '\n' : `created ${created.length} denomination keys\n${table(created)}`);
      return EXIT.OK;
    });
  },
};
