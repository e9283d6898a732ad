// `quittance wallet export TX --out FILE`: writes the evidence bundle of a paid
// purchase (docs/EVIDENCE.md) for `quittance verify` or any JOSE tool.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { exportEvidence } from '../../../wallet/export.ts';
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import * as S from './shared.ts';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write the signed evidence of a paid purchase to a file (check it with `quittance verify`)',
  args: 'TX',
  options: {
    data: S.DATA,
    out: { type: 'string', description: 'the bundle file to write', valueName: 'FILE' },
    force: { type: 'boolean', description: 'overwrite FILE if it exists' },
    json: S.JSON_OUT,
  },
  details: `The bundle (format quittance.evidence.v1) holds the order, the countersigned invoice,
the money reception request and response, the receipt, and the hello and completion when
kept, and every refund paid back (request, countersigned permit, claim, the payment
server's signed state, the repayment receipt), each as the JWS received, with the signers'
certificate chains inside. Only a PAID or COMPLETED purchase can be exported.`,
  async run({ values, positionals }, io) {
    const id = positionals[0];
    if (id === undefined || positionals.length !== 1) throw new UsageError('give one transaction id (see `wallet history`)');
    const out = resolve(requireString(values, 'out'));
    const json = Boolean(values.json);
    return S.withWallet(values, io, async (w) => {
      const bundle = await exportEvidence(w, id);
      if (!bundle.ok) return S.fail(io, json, bundle);
      try {
        // 'wx' fails on an existing file instead of silently replacing evidence.
        await writeFile(out, JSON.stringify(bundle.value, null, 2) + '\n', { flag: values.force === true ? 'w' : 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return S.fail(io, json, { code: 'CLI_OUTPUT_EXISTS', message: `refusing to overwrite ${out} (use --force)` });
        throw e;
      }
      const documents = Object.keys(bundle.value.documents);
      const refunds = bundle.value.refunds?.length ?? 0;
      const also = refunds > 0 ? ` and ${refunds} refund${refunds === 1 ? '' : 's'}` : '';
      S.printResult(io, json, { transactionId: bundle.value.transactionId, file: out, documents, refunds }, `wrote the evidence of ${bundle.value.transactionId} to ${out} (${documents.join(', ')})${also}\n`);
      return EXIT.OK;
    });
  },
};
