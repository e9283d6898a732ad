// `quittance payment payments | reserves | settlements | notifications`: the
// operator's read-only lists (src/payment/admin-views.ts). With --json each
// prints exactly what its GET /v1/admin/… route answers, so the payment
// console shows nothing the command line cannot.
import type { z } from 'zod';
import {
  listNotifications,
  listPayments,
  listReserves,
  listSettlements,
  NotificationsQuery,
  PageQuery,
  type AdminNotification,
  type AdminPayment,
  type AdminReserve,
  type AdminSettlement,
} from '../../../payment/admin-views.ts';
import type { OpenedPaymentStore } from '../../../payment/open.ts';
import { EXIT, UsageError, type Command } from '../../command.ts';
import { printResult } from '../../output.ts';
import * as S from './shared.ts';

const LIMIT = { type: 'string', description: 'at most N rows (1–500, default 100)', valueName: 'N' } as const;
const BEFORE = { type: 'string', description: 'the page after this cursor (the `next` of the previous page)', valueName: 'CURSOR' } as const;

/** The options as the route's query schema takes them: the same limits, the same refusals. */
function queryOf<Q extends z.ZodType>(schema: Q, values: Record<string, unknown>, names: readonly string[]): z.infer<Q> {
  const raw: Record<string, unknown> = {};
  for (const n of names) if (typeof values[n] === 'string') raw[n] = values[n];
  const r = schema.safeParse(raw);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
  return r.data;
}

function pageText<R>(rows: R[], next: string | undefined, empty: string, line: (r: R) => string): string {
  if (rows.length === 0) return `${empty}\n`;
  return rows.map(line).join('\n') + '\n' + (next !== undefined ? `more: --before ${next}\n` : '');
}

function listCommand<Q extends z.ZodType, A extends object>(spec: {
  name: string;
  summary: string;
  details: string;
  schema: Q;
  options: Record<string, typeof LIMIT | typeof BEFORE | { type: 'string'; description: string; valueName: string }>;
  read: (db: OpenedPaymentStore['db'], q: z.infer<Q>) => Promise<A>;
  text: (a: A) => string;
}): Command {
  const names = Object.keys(spec.options);
  return {
    name: spec.name,
    summary: spec.summary,
    options: { data: S.DATA, db: S.DB, ...spec.options, json: S.JSON_OUT },
    details: `${spec.details}\nReads the database only; needs no passphrase.`,
    async run({ values, positionals }, io) {
      if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
      const q = queryOf(spec.schema, values, names);
      return S.withPaymentStore(values, async (p) => {
        const answer = await spec.read(p.db, q);
        printResult(io, values.json === true, answer, spec.text(answer));
        return EXIT.OK;
      });
    },
  };
}

const paymentLine = (p: AdminPayment) =>
  `${p.createdAt}  ${p.shopId.padEnd(20)} ${p.transactionId.padEnd(24)} ${p.amount.padStart(14)} ${p.mode.padEnd(8)} ${p.state.padEnd(20)} refunded ${p.refunded}${p.paidAt !== null ? `  paid ${p.paidAt}` : ''}`;

export const paymentsCommand = listCommand({
  name: 'payments',
  summary: 'list payments (fig. 13: shop, transaction, amount, mode, state, refunded, paid at), newest first',
  details: 'State REPAYMENT_COMPLETION: refunded in full. Pages with --limit and --before (the cursor printed after "more:").',
  schema: PageQuery,
  options: { limit: LIMIT, before: BEFORE },
  read: listPayments,
  text: (a) => pageText(a.payments, a.next, 'no payments yet', paymentLine),
});

const reserveLine = (r: AdminReserve) =>
  `${r.reservePub}  ${r.balance.padStart(14)} balance  credited ${r.credited}  withdrawn ${r.withdrawn}${r.paid !== undefined ? `  paid ${r.paid}` : ''}${r.refunded !== undefined ? `  refunded ${r.refunded}` : ''}${r.purseOf !== null ? `  purse of ${r.purseOf}` : ''}`;

export const reservesCommand = listCommand({
  name: 'reserves',
  summary: 'list reserves and purses with their balances, newest first',
  details: 'A purse (mode account) names the certified shopper it belongs to. Pages with --limit and --before.',
  schema: PageQuery,
  options: { limit: LIMIT, before: BEFORE },
  read: listReserves,
  text: (a) => pageText(a.reserves, a.next, 'no reserves yet', reserveLine),
});

const settlementLine = (s: AdminSettlement) =>
  `${s.createdAt}  ${s.settlementId}  ${s.merchantId.padEnd(20)} ${s.amount.padStart(14)} ${s.state.padEnd(8)} to ${s.payoutAccount}${s.lastError !== null ? `  (${s.lastError})` : ''}`;

export const settlementsCommand = listCommand({
  name: 'settlements',
  summary: 'list settlements (payouts to merchants) with their state, newest first',
  details: 'pending: the bank has not answered yet (sent again at the next run); sent: paid; failed: refused, its items wait for the next one.',
  schema: PageQuery,
  options: { limit: LIMIT, before: BEFORE },
  read: listSettlements,
  text: (a) => pageText(a.settlements, a.next, 'no settlements yet', settlementLine),
});

const notificationLine = (n: AdminNotification) =>
  `${n.createdAt}  ${n.merchantId.padEnd(20)} ${n.kind.padEnd(9)} ${n.event.padEnd(9)} ${n.state.padEnd(9)} attempts ${n.attempts}  ${n.ref}${n.lastError !== null ? `  (${n.lastError})` : ''}`;

export const notificationsCommand = listCommand({
  name: 'notifications',
  summary: 'list the outbox of notifications to merchants, newest first',
  details: 'pending: to be sent at its next attempt; delivered: the merchant answered 2xx; failed: refused for good or given up on.',
  schema: NotificationsQuery,
  options: { limit: LIMIT, state: { type: 'string', description: 'only pending, delivered or failed', valueName: 'STATE' } },
  read: listNotifications,
  text: (a) => pageText(a.notifications, undefined, 'no notifications', notificationLine),
});
