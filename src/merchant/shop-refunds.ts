// POST /v1/shop/orders/:offerId/refunds: the shop's backend approves the
// repayment requests of an offer's order that await approval
// (`refundsNeedApproval: true`), exactly as the operator's `merchant
// approve-refund` does (repayments.ts approveRepayment signs each permit).
//
// Why approvals and not refunds the shop starts itself: a refund is paid to
// the purchaser's key, and only the shopper's wallet can claim it (1150: the
// countersigner must own the permit's recipient id). The shopper asks (1110,
// signed by the order's key), the shop decides here, the wallet collects the
// permit from GET /v1/orders/:tx/repayments/:requestId.
import { formatAmount, parseAmount } from '../protocol/amount.ts';
import type { RepaymentAnswer } from '../protocol/messages/merchant.ts';
import type { ShopRefundCall } from '../protocol/messages/shop.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import { findOffer } from './offers.ts';
import { approveRepayment } from './repayments.ts';
import { listRefunds, type RefundSummary } from './views.ts';

export type ShopRefundOutcome = {
  offerId: string;
  transactionId: string;
  /** The permits signed now (or already, for a twin call), oldest request first. */
  approved: RepaymentAnswer[];
  /** Requests another decision overtook meanwhile (refused by the operator): code and message each. */
  failed: { requestId: string; code: string; message: string }[];
  /** Every refund of the order after this call, newest first. */
  refunds: RefundSummary[];
};

export async function approveShopRefunds(deps: MerchantDeps, offerId: string, call: ShopRefundCall): Promise<Result<ShopRefundOutcome, MerchantHttpErrorCode>> {
  const found = await findOffer(deps.db, offerId);
  if (!found) return err('MERCHANT_OFFER_NOT_FOUND', `no offer ${offerId}`);
  const order = found.order;
  if (!order || order.payment_state !== 'PAID') return err('MERCHANT_REPAYMENT_NOT_ALLOWED', `offer ${offerId} has no paid order: there is nothing to refund`);
  const tx = order.transaction_id;

  const all = await deps.db.selectFrom('merchant_refunds').select(['request_id', 'state', 'currency', 'amount', 'created_at']).where('transaction_id', '=', tx).orderBy('created_at').orderBy('request_id').execute();
  let chosen = all.filter((r) => r.state === 'awaiting-approval');
  if (call.requestIds !== undefined) {
    const wanted = new Set(call.requestIds);
    for (const id of wanted) {
      const row = all.find((r) => r.request_id === id);
      if (!row) return err('MERCHANT_REPAYMENT_NOT_FOUND', `order ${tx} has no repayment request ${id}`, { requestId: id });
      if (row.state !== 'awaiting-approval') return err('MERCHANT_REPAYMENT_ALREADY_DECIDED', `repayment request ${id} is ${row.state}`, { requestId: id, state: row.state });
    }
    chosen = chosen.filter((r) => wanted.has(r.request_id));
  }
  if (chosen.length === 0) {
    return err('MERCHANT_REFUND_NONE_AWAITING', `no repayment request of order ${tx} awaits approval (the shopper asks with \`wallet refund\`; refunds wait for approval only with refundsNeedApproval)`);
  }
  const sum = chosen.reduce((s, r) => s + BigInt(r.amount), 0n);
  const awaiting = formatAmount({ currency: chosen[0]!.currency, minor: sum });
  if (call.amount !== undefined) {
    const want = parseAmount(call.amount);
    if (!want.ok || want.value.currency !== chosen[0]!.currency || want.value.minor !== sum) {
      return err('MERCHANT_REFUND_AMOUNT_MISMATCH', `the requests awaiting approval add up to ${awaiting}, not ${call.amount}; nothing was approved`, { awaiting, requestIds: chosen.map((r) => r.request_id) });
    }
  }

  const approved: RepaymentAnswer[] = [];
  const failed: ShopRefundOutcome['failed'] = [];
  for (const r of chosen) {
    const a = await approveRepayment(deps, tx, r.request_id);
    if (a.ok) approved.push(a.value);
    else failed.push({ requestId: r.request_id, code: a.code, message: a.message });
  }
  return ok({ offerId, transactionId: tx, approved, failed, refunds: await listRefunds(deps.db, { transactionId: tx }) });
}
