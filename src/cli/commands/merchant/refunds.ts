// `quittance merchant refunds`, `approve-refund REQUEST_ID` and
// `refuse-refund REQUEST_ID --reason TEXT`: the operator's refund desk
// (messages 1110 → 1140 when the shop's refunds need approval).
import { REFUND_STATES, type RefundState } from '../../../merchant/db.ts';
import { approveRepayment, refuseRepayment } from '../../../merchant/repayments.ts';
import { listRefunds, type RefundSummary } from '../../../merchant/views.ts';
import type { OpenedMerchantStore } from '../../../merchant/open.ts';
import { Text } from '../../../protocol/documents/fields.ts';
import type { RepaymentAnswer } from '../../../protocol/messages/merchant.ts';
import { EXIT, UsageError, integerOption, requireString, type Command, type Io } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

const TX = { type: 'string', description: 'the order the request belongs to (needed only when two orders have a request with this id)', valueName: 'TX' } as const;

function row(r: RefundSummary): string {
  const when = r.completedAt ?? r.remittedAt ?? r.expiredAt ?? r.decidedAt ?? r.createdAt;
  const extra = r.state === 'refused' ? `  refused: ${r.refusalReason ?? ''}` : r.permitId !== undefined ? `  permit ${r.permitId} due ${r.dueTime ?? ''}` : '';
  return `${r.requestId}  ${r.transactionId}  ${r.state.padEnd(17)}  ${r.amount.padStart(12)}  ${when}  "${r.reason}"${extra}`;
}

function answerText(a: RepaymentAnswer): string {
  if (a.state === 'refused') return `refused ${a.requestId} (order ${a.transactionId}): ${a.reason ?? ''}\n`;
  if (a.state === 'awaiting-approval') return `${a.requestId} (order ${a.transactionId}) awaits approval\n`;
  return `permitted ${a.requestId} (order ${a.transactionId}); the shopper's wallet collects the permit\n`;
}

function onePositional(positionals: string[]): string {
  const id = positionals[0];
  if (!id || positionals.length !== 1) throw new UsageError('give exactly one repayment request id');
  return id;
}

/** The order of REQUEST_ID: --tx, or the only order with a request of that id. */
async function orderOf(m: Pick<OpenedMerchantStore, 'db'>, requestId: string, tx: unknown): Promise<string | undefined> {
  if (typeof tx === 'string') return tx;
  const found = await listRefunds(m.db, { requestId, limit: 2 });
  if (found.length > 1) throw new UsageError(`request id ${requestId} is used in more than one order: give --tx`);
  return found[0]?.transactionId;
}

function notFound(io: Io, json: boolean, requestId: string): number {
  return failWith(io, json, { code: 'MERCHANT_REPAYMENT_NOT_FOUND', message: `no repayment request ${requestId}` });
}

export const refunds: Command = {
  name: 'refunds',
  summary: 'list repayment requests, newest first: state, amount, permit',
  options: {
    data: S.DATA,
    db: S.DB,
    state: { type: 'string', description: `only this state: ${REFUND_STATES.join(', ')}`, valueName: 'STATE' },
    tx: { type: 'string', description: 'only the refunds of this order', valueName: 'TX' },
    limit: { type: 'string', description: 'at most this many (default 100, at most 1000)', valueName: 'N' },
    json: S.JSON_OUT,
  },
  details: 'Reads the database only; needs no passphrase. `merchant show TX` shows an order with its refunds.',
  async run({ values }, io) {
    const limit = integerOption(values.limit, 'limit', 1, 1000);
    const state = values.state;
    if (state !== undefined && !(REFUND_STATES as readonly unknown[]).includes(state)) throw new UsageError(`--state must be one of ${REFUND_STATES.join(', ')}`);
    return S.withMerchantStore(values, async (m) => {
      const list = await listRefunds(m.db, {
        ...(limit !== undefined ? { limit } : {}),
        ...(state !== undefined ? { state: state as RefundState } : {}),
        ...(typeof values.tx === 'string' ? { transactionId: values.tx } : {}),
      });
      printResult(io, values.json === true, { repayments: list }, list.length === 0 ? 'no repayment requests\n' : list.map(row).join('\n') + '\n');
      return EXIT.OK;
    });
  },
};

export const approveRefund: Command = {
  name: 'approve-refund',
  summary: 'approve a repayment request awaiting approval: signs its permit',
  args: 'REQUEST_ID',
  options: { data: S.DATA, db: S.DB, tx: TX, json: S.JSON_OUT },
  details: `Signs the repayment permit (1140) with the shop's key (passphrase from QUITTANCE_PASSPHRASE or a
prompt); its due time runs from now (refundPermitDays, default 7). The shopper's wallet collects it
from GET /v1/orders/TX/repayments/REQUEST_ID. Approving again shows the same permit.`,
  async run({ values, positionals }, io) {
    const requestId = onePositional(positionals);
    const json = values.json === true;
    return S.withMerchant(values, io, async (m) => {
      const tx = await orderOf(m.deps, requestId, values.tx);
      if (tx === undefined) return notFound(io, json, requestId);
      const r = await approveRepayment(m.deps, tx, requestId);
      if (!r.ok) return failWith(io, json, r);
      printResult(io, json, r.value, answerText(r.value));
      return EXIT.OK;
    });
  },
};

export const refuseRefund: Command = {
  name: 'refuse-refund',
  summary: 'refuse a repayment request awaiting approval, with a reason the shopper is shown',
  args: 'REQUEST_ID',
  options: { data: S.DATA, db: S.DB, tx: TX, reason: { type: 'string', description: 'why (required; shown to the shopper, at most 500 characters)', valueName: 'TEXT' }, json: S.JSON_OUT },
  details: 'Reads and writes the database only; needs no passphrase. A permitted request cannot be refused.',
  async run({ values, positionals }, io) {
    const requestId = onePositional(positionals);
    const reason = requireString(values, 'reason');
    if (!Text(500).safeParse(reason).success) throw new UsageError('--reason: 1 to 500 characters, no control characters');
    const json = values.json === true;
    return S.withMerchantStore(values, async (m) => {
      const tx = await orderOf(m, requestId, values.tx);
      if (tx === undefined) return notFound(io, json, requestId);
      const r = await refuseRepayment({ db: m.db, clock: () => new Date() }, tx, requestId, reason);
      if (!r.ok) return failWith(io, json, r);
      printResult(io, json, r.value, answerText(r.value));
      return EXIT.OK;
    });
  },
};
