// `quittance payment settle`: pay merchants' collected takings out to their
// bank accounts now (src/payment/settlement.ts); `payment serve` does the same
// every settleEveryMinutes.
import { runSettlements, type SettlementOutcome } from '../../../payment/settlement.ts';
import { PARTY_ID_PATTERN } from '../../../protocol/identity.ts';
import { EXIT, UsageError, type Command } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

export function outcomeLine(o: SettlementOutcome): string {
  const what = [o.merchantId, o.currency ?? '-', o.outcome];
  if (o.amount !== undefined) what.push(o.amount);
  if (o.settlementId !== undefined) what.push(o.settlementId);
  return `${what.join('  ')}${o.message !== undefined ? `  (${o.message})` : ''}`;
}

export const settle: Command = {
  name: 'settle',
  summary: "pay merchants' collected takings out to their bank accounts now, with signed settlement reports",
  options: {
    data: S.DATA,
    db: S.DB,
    merchant: { type: 'string', description: 'only this merchant (party id)', valueName: 'ID' },
    json: S.JSON_OUT,
  },
  details: `First sends again any settlement still waiting for the bank, then, per merchant and currency,
pays its PAID payments minus its refunds not yet settled (no fees) from the linked bank account
(\`payment link-bank\`) to the merchant's payout account (\`payment add-merchant --payout\`), one
bank transfer whose id is the settlement id. Prints one line per merchant: sent, pending (the bank
did not answer; sent again next run), failed (the bank refused; the items wait for the next
settlement), nothing, or skipped (no payout account, suspended, no bank account in the currency).
Exit 1 when a settlement failed or stays pending. Needs the passphrase: reports are signed.`,
  async run({ values }, io) {
    const json = values.json === true;
    const merchantId = typeof values.merchant === 'string' ? values.merchant : undefined;
    if (merchantId !== undefined && !PARTY_ID_PATTERN.test(merchantId)) throw new UsageError(`--merchant ${merchantId} is not a party id`);
    return S.withPayment(values, io, async (p) => {
      if (!p.deps.bankLink) return failWith(io, json, { code: 'PAY_SETTLEMENT_UNAVAILABLE', message: 'this payment server has no bank link: run `quittance payment link-bank` first' });
      if (merchantId !== undefined && !(await p.deps.db.selectFrom('payment_merchants').select('merchant_id').where('merchant_id', '=', merchantId).executeTakeFirst())) {
        return failWith(io, json, { code: 'PAY_MERCHANT_UNKNOWN', message: `no contract with merchant ${merchantId}` });
      }
      const r = await runSettlements(p.deps, fetch, {
        ...(merchantId !== undefined ? { merchantId } : {}),
        ...(json ? {} : { onOutcome: (o: SettlementOutcome) => io.out(outcomeLine(o) + '\n') }),
      });
      for (const e of r.errors) io.err(`error: ${e}\n`);
      const bad = r.errors.length > 0 || r.outcomes.some((o) => o.outcome === 'failed' || o.outcome === 'pending');
      if (json) printResult(io, true, { ok: !bad, ...r }, '');
      else if (r.outcomes.length === 0) io.out('no merchants\n');
      return bad ? EXIT.FAILED : EXIT.OK;
    });
  },
};
