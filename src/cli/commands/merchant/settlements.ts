// `quittance merchant settlements`: the shop's settlement reports — the
// payment server's signed statements of what it paid out to the shop's bank
// account and which payments and refunds that money is made of.
import { fetchSettlementReports, storedSettlementReports, type SettlementReportView } from '../../../merchant/settlement-reports.ts';
import { EXIT, type Command } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

function text(r: SettlementReportView): string {
  const items = r.items.map((i) => `    ${i.kind === 'refund' ? '-' : '+'} ${i.amount.padStart(12)}  ${i.transactionId}${i.permitId !== undefined ? `  (refund ${i.permitId})` : ''}`);
  return [`${r.settlementId}  ${r.time}  ${r.amount}  to ${r.payoutAccount}  (${r.items.length} item${r.items.length === 1 ? '' : 's'})`, ...items].join('\n');
}

export const settlements: Command = {
  name: 'settlements',
  summary: "fetch and show the payment server's signed settlement reports (payouts to the shop's bank account)",
  options: { data: S.DATA, db: S.DB, json: S.JSON_OUT },
  details: `Asks the payment server of merchant.json for the reports made since the newest one stored,
with a query signed by the shop's key (passphrase from QUITTANCE_PASSPHRASE or a prompt). Each report
must be signed by that payment server's certificate and name this shop; one that is not fails the
command (MERCHANT_SETTLEMENT_REPORT_INVALID) and nothing is stored. Prints every stored report:
id, time, amount, payout account, and its items (+ payments, - refunds).`,
  async run({ values }, io) {
    const json = values.json === true;
    return S.withMerchant(values, io, async (m) => {
      const r = await fetchSettlementReports(m.deps);
      if (!r.ok) return failWith(io, json, r);
      const all = await storedSettlementReports(m.deps.db);
      printResult(
        io,
        json,
        { fetched: r.value.reports.length, stored: r.value.stored, settlements: all },
        all.length === 0 ? 'no settlement reports\n' : `${all.map(text).join('\n')}\n(${r.value.stored} new)\n`,
      );
      return EXIT.OK;
    });
  },
};
