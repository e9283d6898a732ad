// Settling an order without the shopper (DESIGN §2, issue 4): the shopper's
// client may die between 180 and 210, so the shop asks its payment server for
// the transaction's state (GET /v1/payments/:shopId/:transactionId) and, when
// it answers PAID with the receipt, runs exactly the receipt check of 210.
// Nothing the payment server says is believed unsigned: only its receipt,
// verified with the key the order's invoice named, settles an order.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JwsGeneral } from '../protocol/documents/index.ts';
import { PaymentStateAnswer } from '../protocol/messages/merchant.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import { codeOf, getJson, paymentServerUrl } from './payment-server.ts';
import { purgeIdempotencyKeys } from './idempotency.ts';
import { acceptReceipt } from './receipts.ts';
import { sweepRefundsOnce } from './repayment-state.ts';

export type SettleOutcome = {
  transactionId: string;
  paymentState: 'UNPAID' | 'PAID';
  /** What the payment server said (RECEPTION_ACCEPTED, PAID, …; UNKNOWN: it has no payment for it); absent when not asked. */
  paymentServerState?: string;
  completion?: JwsGeneral;
};

type Asked = { kind: 'unknown' } | { kind: 'state'; answer: PaymentStateAnswer };

async function askPaymentServer(deps: MerchantDeps, base: string, transactionId: string): Promise<Result<Asked, MerchantHttpErrorCode>> {
  const got = await getJson(deps, base, `v1/payments/${encodeURIComponent(deps.signer.partyId)}/${encodeURIComponent(transactionId)}`);
  if (!got.ok) return got;
  const { status, body } = got.value;
  if (status === 404 && codeOf(body) === 'PAY_PAYMENT_UNKNOWN') return ok({ kind: 'unknown' });
  if (status !== 200) {
    const code = codeOf(body);
    return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', `the payment server answered ${status}`, { status, ...(code !== undefined ? { cause: code } : {}) });
  }
  const parsed = PaymentStateAnswer.safeParse(body);
  if (!parsed.success) return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', 'the payment server answered something that is not a payment state', { status });
  if (parsed.data.transactionId !== transactionId || parsed.data.shopId !== deps.signer.partyId) {
    return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', 'the payment server answered about another transaction', { status });
  }
  return ok({ kind: 'state', answer: parsed.data });
}

/**
 * Asks the payment server about one order and settles it when it was paid.
 * An order already PAID is answered from the database without asking.
 */
export async function settleFromPaymentServer(deps: MerchantDeps, transactionId: string): Promise<Result<SettleOutcome, MerchantHttpErrorCode>> {
  const row = await deps.db
    .selectFrom('merchant_orders')
    .select(['payment_state', 'payment_server_id', 'invoice_jws', 'completion_jws'])
    .where('transaction_id', '=', transactionId)
    .executeTakeFirst();
  if (!row) return err('MERCHANT_ORDER_NOT_FOUND', `no order ${transactionId}`);
  if (row.payment_state === 'PAID') {
    return ok({ transactionId, paymentState: 'PAID', ...(row.completion_jws !== null ? { completion: JSON.parse(row.completion_jws) as JwsGeneral } : {}) });
  }
  const asked = await askPaymentServer(deps, paymentServerUrl(deps, row.payment_server_id, row.invoice_jws), transactionId);
  if (!asked.ok) return asked;
  if (asked.value.kind === 'unknown') return ok({ transactionId, paymentState: 'UNPAID', paymentServerState: 'UNKNOWN' });
  return settleFromAnswer(deps, transactionId, asked.value.answer);
}

/**
 * The payment server's payment state, asked for or notified: only its signed
 * receipt settles the order, checked exactly as the shopper's copy (210).
 */
export async function settleFromAnswer(deps: MerchantDeps, transactionId: string, answer: PaymentStateAnswer): Promise<Result<SettleOutcome, MerchantHttpErrorCode>> {
  // Refunded in full since (REPAYMENT_COMPLETION) it was paid all the same: the receipt settles it.
  if ((answer.state !== 'PAID' && answer.state !== 'REPAYMENT_COMPLETION') || !answer.receipt) return ok({ transactionId, paymentState: 'UNPAID', paymentServerState: answer.state });
  const settled = await acceptReceipt(deps, transactionId, answer.receipt);
  if (!settled.ok) return settled;
  return ok({ transactionId, paymentState: 'PAID', paymentServerState: answer.state, completion: settled.value.response.completion });
}

export type SweepLog = { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };

const PAGE = 100;

/**
 * One pass over the unpaid orders still worth asking about: paymentDueTime +
 * settleMarginMinutes not yet past (a payment accepted just before the due
 * time may be completed a little after it). Pages by transaction id, so every
 * such order is asked once per pass however many there are.
 */
export async function sweepOnce(deps: MerchantDeps, log: SweepLog, signal?: AbortSignal): Promise<{ asked: number; settled: number }> {
  const horizon = new Date(deps.clock().getTime() - deps.config.settleMarginMinutes * 60_000).toISOString();
  let after = '';
  let asked = 0;
  let settled = 0;
  for (;;) {
    const page = await deps.db
      .selectFrom('merchant_orders')
      .select('transaction_id')
      .where('payment_state', '=', 'UNPAID')
      .where('payment_due_time', '>=', horizon)
      .where('transaction_id', '>', after)
      .orderBy('transaction_id')
      .limit(PAGE)
      .execute();
    for (const { transaction_id: tx } of page) {
      if (signal?.aborted) return { asked, settled };
      asked++;
      const r = await settleFromPaymentServer(deps, tx);
      if (!r.ok) log.warn({ transactionId: tx, code: r.code }, 'settling from the payment server failed');
      else if (r.value.paymentState === 'PAID') {
        settled++;
        log.info({ transactionId: tx }, 'order settled from the payment server');
      }
    }
    if (page.length < PAGE) return { asked, settled };
    after = page[page.length - 1]!.transaction_id;
  }
}

/**
 * `merchant serve`: a pass every settleSweepSeconds until `signal` aborts,
 * over unpaid orders (sweepOnce) and then refund permits (sweepRefundsOnce in
 * repayment-state.ts). A failed pass (database down) is logged and the next
 * one runs as usual.
 */
export async function runSettlementSweep(deps: MerchantDeps, opts: { signal: AbortSignal; log: SweepLog }): Promise<void> {
  const everyMs = deps.config.settleSweepSeconds * 1000;
  if (everyMs === 0) return;
  while (!opts.signal.aborted) {
    try {
      await sleep(everyMs, undefined, { signal: opts.signal });
    } catch {
      return; // aborted
    }
    try {
      await sweepOnce(deps, opts.log, opts.signal);
    } catch (e) {
      opts.log.warn({ error: e instanceof Error ? `${e.name}: ${e.message}` : 'error' }, 'settlement sweep failed');
    }
    // The same pass learns what became of refund permits (1210/1220).
    try {
      if (!opts.signal.aborted) await sweepRefundsOnce(deps, opts.log, opts.signal);
    } catch (e) {
      opts.log.warn({ error: e instanceof Error ? `${e.name}: ${e.message}` : 'error' }, 'refund sweep failed');
    }
    // Shop API Idempotency-Keys are kept 24 hours.
    try {
      if (!opts.signal.aborted) await purgeIdempotencyKeys(deps.db, deps.clock());
    } catch (e) {
      opts.log.warn({ error: e instanceof Error ? `${e.name}: ${e.message}` : 'error' }, 'idempotency purge failed');
    }
  }
}
