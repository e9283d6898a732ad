// `quittance merchant orders` and `quittance merchant show TX`: the shop's
// orders from its database (no passphrase needed).
import { getOrder, listOrders, type OrderDetail, type OrderSummary, type RefundSummary } from '../../../merchant/views.ts';
import { EXIT, UsageError, integerOption, type Command } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

function row(o: OrderSummary): string {
  return `${o.transactionId}  ${o.state.padEnd(18)}  ${o.amount.padStart(12)}  ${o.paymentMode.padEnd(7)}  ${o.billTime}  ${o.purchaserKind === 'anonymous' ? `anonymous ${o.purchaserId}` : o.purchaserId}`;
}

function refundLine(r: RefundSummary): string {
  const permit = r.permitId !== undefined ? `  permit ${r.permitId} due ${r.dueTime ?? ''}` : '';
  const refused = r.refusalReason !== undefined ? `  refused: ${r.refusalReason}` : '';
  return `    ${r.requestId.padEnd(24)} ${r.state.padEnd(17)} ${r.amount.padStart(12)}  "${r.reason}"${permit}${refused}`;
}

function detail(o: OrderDetail): string {
  const lines = o.lines.map((l) => `    ${l.article.padEnd(12)} ${l.name.padEnd(24)} ${String(l.quantity).padStart(4)} × ${l.unitPrice}`);
  return (
    [
      `transaction   ${o.transactionId}`,
      `state         ${o.state}${o.paidAt !== undefined ? ` (paid ${o.paidAt})` : ''}`,
      ...(o.refunds.length > 0 ? [`refunded      ${o.refunded}`] : []),
      `purchaser     ${o.purchaserId} (${o.purchaserKind})`,
      `amount        ${o.amount} (${o.paymentMode}, payment server ${o.paymentServerId})`,
      `billed        ${o.billTime}`,
      `due           ${o.paymentDueTime}`,
      `refunds until ${o.refundDeadline}`,
      `order hash    ${o.orderHash}`,
      `invoice hash  ${o.invoiceHash}`,
      '  lines:',
      ...lines,
      ...(o.refunds.length > 0 ? ['  refunds:', ...o.refunds.map(refundLine)] : []),
    ].join('\n') + '\n'
  );
}

export const orders: Command = {
  name: 'orders',
  summary: 'list the orders, newest first',
  options: { data: S.DATA, db: S.DB, limit: { type: 'string', description: 'at most this many (default 100, at most 1000)', valueName: 'N' }, json: S.JSON_OUT },
  details: 'Reads the database only; needs no passphrase.',
  async run({ values }, io) {
    const limit = integerOption(values.limit, 'limit', 1, 1000);
    return S.withMerchantStore(values, async (m) => {
      const list = await listOrders(m.db, limit !== undefined ? { limit } : {});
      printResult(io, values.json === true, { orders: list }, list.length === 0 ? 'no orders yet\n' : list.map(row).join('\n') + '\n');
      return EXIT.OK;
    });
  },
};

export const show: Command = {
  name: 'show',
  summary: 'show one order: lines, state, hashes, refunds (--json adds the signed documents)',
  options: { data: S.DATA, db: S.DB, json: S.JSON_OUT },
  args: 'TX',
  details: 'Reads the database only; needs no passphrase.',
  async run({ values, positionals }, io) {
    const tx = positionals[0];
    if (!tx || positionals.length !== 1) throw new UsageError('give exactly one transaction id');
    return S.withMerchantStore(values, async (m) => {
      const o = await getOrder(m.db, tx);
      if (!o) return failWith(io, values.json === true, { code: 'MERCHANT_ORDER_NOT_FOUND', message: `no order ${tx}` });
      printResult(io, values.json === true, o, detail(o));
      return EXIT.OK;
    });
  },
};
