// Messages 1210 → 1220 (DESIGN §3): the shop asks the payment server its
// order's invoice names what became of a permit (GET
// /v1/repayments/:shopId/:permitId) and records it. Nothing is believed
// unsigned: the repayment state must be signed with the key of the payment
// server certificate stored with the order, name this permit, transaction,
// shop and amount; `completed` must carry the shopper's repayment receipt,
// signed by the permit's recipient and naming this permit by id and hash.
//
// `remitted` is enough to count the money as refunded; `completed` adds the
// shopper's receipt as evidence. A permit the payment server does not know
// once its dueTime plus settleMarginMinutes has passed can no longer be
// collected (the payment server refuses permits past dueTime): it expires and
// gives its amount back to what may still be refunded. A payment server that
// cannot be reached changes nothing, so a permit keeps its amount held.
import { sql, type Kysely, type Selectable } from 'kysely';
import { parseDocument, REPAYMENT_RECEIPT_TYP, REPAYMENT_STATE_TYP, RepaymentState, type JwsGeneral } from '../protocol/documents/index.ts';
import { verifyDocument } from '../protocol/jws.ts';
import { RepaymentStateAnswer } from '../protocol/messages/payment.ts';
import { formatAmount } from '../protocol/amount.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import { CRL_MAX_AGE_SECONDS, type CrlSet } from './crl.ts';
import type { MerchantDatabase, MerchantOrderTable, MerchantRefundTable } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import { codeOf, getJson, paymentServerUrl, sameBytes, signingKeyOf, storedLeafKey } from './payment-server.ts';
import { sameAmount, wireJws } from './receipts.ts';
import type { SweepLog } from './settle.ts';
import { enqueueOrderRefunded } from './webhooks.ts';
import { orderState, refundSummary, type OrderState, type RefundSummary } from './views.ts';

type Db = Kysely<MerchantDatabase>;
type OrderRow = Pick<Selectable<MerchantOrderTable>, 'transaction_id' | 'purchaser_id' | 'payment_server_id' | 'payment_server_chain' | 'invoice_jws'>;
type RefundRow = Selectable<MerchantRefundTable>;

const MINUTE_MS = 60_000;

/**
 * What may still change: a permit out, repaid without the shopper's receipt
 * yet, or recorded as expired (the operator's refresh asks about those too,
 * in case the payment server paid one after all; the sweep does not).
 */
const ASKABLE = ['permitted', 'remitted', 'expired'] as const;

type Checked = { state: 'remitted' | 'completed'; stateJws: JwsGeneral; receiptJws?: JwsGeneral };

async function findOrder(db: Db, transactionId: string): Promise<OrderRow | undefined> {
  return db
    .selectFrom('merchant_orders')
    .select(['transaction_id', 'purchaser_id', 'payment_server_id', 'payment_server_chain', 'invoice_jws'])
    .where('transaction_id', '=', transactionId)
    .executeTakeFirst();
}

async function findRefund(db: Db, transactionId: string, requestId: string): Promise<RefundRow | undefined> {
  return db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).where('request_id', '=', requestId).executeTakeFirst();
}

function mismatch(field: string, message: string, extra: object = {}): Result<never, MerchantHttpErrorCode> {
  return err('MERCHANT_REPAYMENT_STATE_MISMATCH', message, { field, ...extra });
}

/** The shopper's repayment receipt (1190) carried by a `completed` state: by the permit's recipient, about this permit. */
async function checkRepaymentReceipt(deps: MerchantDeps, refund: RefundRow, receiptJws: JwsGeneral, crls: CrlSet, recipientId: string): Promise<Result<void, MerchantHttpErrorCode>> {
  const verified = await verifyDocument(receiptJws, {
    now: deps.clock(),
    trustAnchors: deps.trustAnchors,
    crls: crls.crls,
    requireCrl: crls.required,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: REPAYMENT_RECEIPT_TYP,
    signers: [{ roles: ['client'], orAnonymous: true }],
    cache: deps.verificationCache,
  });
  if (!verified.ok) return mismatch('repaymentReceipt', `the repayment receipt's signature is not accepted: ${verified.message}`, { code: verified.code });
  const signer = verified.value.signers[0]!;
  const signerId = signer.kind === 'certified' ? signer.partyId : signer.thumbprint;
  if (signerId !== recipientId) return mismatch('repaymentReceipt', `the repayment receipt is signed by ${signerId}, not by the permit's recipient ${recipientId}`);
  const parsed = parseDocument(REPAYMENT_RECEIPT_TYP, verified.value.payload);
  if (!parsed.ok) return mismatch('repaymentReceipt', 'the signed payload is not a repayment receipt', { issues: parsed.details });
  const receipt = parsed.value;
  const amount = formatAmount({ currency: refund.currency, minor: BigInt(refund.amount) });
  const checks: [string, boolean][] = [
    ['permitId', receipt.permitId === refund.permit_id],
    ['permitHash', receipt.permitHash === refund.permit_hash],
    ['transactionId', receipt.transactionId === refund.transaction_id],
    ['recipientId', receipt.recipientId === recipientId],
    ['amount', sameAmount(receipt.amount, amount)],
  ];
  const wrong = checks.find(([, same]) => !same);
  if (wrong) return mismatch('repaymentReceipt', `the repayment receipt's ${wrong[0]} does not match permit ${refund.permit_id}`, { receiptField: wrong[0] });
  return ok(undefined);
}

/** The payment server's signed repayment state is its word about THIS permit. */
async function checkState(deps: MerchantDeps, order: OrderRow, refund: RefundRow, stateJws: JwsGeneral): Promise<Result<Checked, MerchantHttpErrorCode>> {
  const crls = await deps.crls();
  if (!crls.ok) return crls;

  // 1. A payment server of our CA signed it, unaltered, with a certificate valid now…
  const verified = await verifyDocument(stateJws, {
    now: deps.clock(),
    trustAnchors: deps.trustAnchors,
    crls: crls.value.crls,
    requireCrl: crls.value.required,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: REPAYMENT_STATE_TYP,
    signers: [{ roles: ['payment'] }],
    cache: deps.verificationCache,
  });
  if (!verified.ok) {
    const extra = verified.details && typeof verified.details === 'object' ? verified.details : {};
    return err('MERCHANT_REPAYMENT_STATE_INVALID', `the repayment state's signature is not accepted: ${verified.message}`, { ...extra, code: verified.code });
  }
  // 2. …and it is the one the order's invoice named, with the key of the chain sent with the invoice.
  const signer = verified.value.signers[0]!;
  const signerId = signer.kind === 'certified' ? signer.partyId : '(anonymous)';
  const key = signingKeyOf(stateJws);
  if (signerId !== order.payment_server_id || !key || !sameBytes(key, storedLeafKey(order.payment_server_chain))) {
    return err('MERCHANT_REPAYMENT_STATE_INVALID', `the repayment state is signed by ${signerId}, not with the key of payment server ${order.payment_server_id} named in the invoice`, {
      paymentServerId: order.payment_server_id,
    });
  }
  // 3. What it says.
  const parsed = parseDocument(REPAYMENT_STATE_TYP, verified.value.payload);
  if (!parsed.ok) return err('MERCHANT_REPAYMENT_STATE_INVALID', 'the signed payload is not a repayment state', parsed.details);
  const state: RepaymentState = parsed.value;
  // 4. About this permit.
  const amount = formatAmount({ currency: refund.currency, minor: BigInt(refund.amount) });
  const checks: [string, boolean, string][] = [
    ['permitId', state.permitId === refund.permit_id, refund.permit_id ?? ''],
    ['transactionId', state.transactionId === refund.transaction_id, refund.transaction_id],
    ['shopId', state.shopId === deps.signer.partyId, deps.signer.partyId],
    ['amount', sameAmount(state.amount, amount), amount],
  ];
  const wrong = checks.find(([, same]) => !same);
  if (wrong) return mismatch(wrong[0], `the repayment state's ${wrong[0]} does not match permit ${refund.permit_id} (expected ${wrong[2]})`, { expected: wrong[2] });
  if (state.state === 'completed') {
    const receipt = wireJws(state.repaymentReceipt!);
    const checked = await checkRepaymentReceipt(deps, refund, receipt, crls.value, order.purchaser_id);
    if (!checked.ok) return checked;
    return ok({ state: 'completed', stateJws, receiptJws: receipt });
  }
  return ok({ state: 'remitted', stateJws });
}

/**
 * Records a verified state: permitted (or expired) → remitted → completed,
 * never backwards. Money counts once, when the refund first leaves the
 * permitted or expired state; a permit recorded as expired that the payment
 * server nevertheless repaid holds its amount again.
 */
async function record(deps: MerchantDeps, refund: RefundRow, checked: Checked): Promise<void> {
  const now = deps.clock().toISOString();
  for (let attempt = 0; attempt < 5; attempt++) {
    const done = await withRetry(() =>
      deps.db.transaction().execute(async (trx) => {
        const current = await findRefund(trx, refund.transaction_id, refund.request_id);
        if (!current) throw new Error(`refund ${refund.transaction_id}/${refund.request_id} vanished`);
        if (current.state === 'completed' || current.state === checked.state) return true;
        if (current.state !== 'permitted' && current.state !== 'expired' && current.state !== 'remitted') {
          throw new Error(`refund ${refund.transaction_id}/${refund.request_id} is ${current.state} with a repayment state`);
        }
        const moved = await trx
          .updateTable('merchant_refunds')
          .set({
            state: checked.state,
            state_jws: JSON.stringify(checked.stateJws),
            ...(checked.receiptJws ? { receipt_jws: JSON.stringify(checked.receiptJws), completed_at: now } : {}),
            remitted_at: current.remitted_at ?? now,
          })
          .where('transaction_id', '=', refund.transaction_id)
          .where('request_id', '=', refund.request_id)
          .where('state', '=', current.state)
          .executeTakeFirst();
        // Another refresh moved it first: look again.
        if (moved.numUpdatedRows === 0n) return false;
        if (current.state !== 'remitted') {
          const amount = BigInt(current.amount);
          await trx
            .updateTable('merchant_orders')
            .set(
              current.state === 'expired'
                ? { refunded: sql<bigint>`refunded + ${amount}`, refund_held: sql<bigint>`refund_held + ${amount}` }
                : { refunded: sql<bigint>`refunded + ${amount}` },
            )
            .where('transaction_id', '=', refund.transaction_id)
            .execute();
        }
        // The shop's backend hears of it once per permit (webhooks.ts dedupes), with the new total.
        await enqueueOrderRefunded(trx, current, checked.state, deps.clock());
        return true;
      }),
    );
    if (done) return;
  }
  throw new Error(`refund ${refund.transaction_id}/${refund.request_id}: could not record its state`);
}

/** permitted → expired, giving the amount back; a no-op if it moved meanwhile. */
async function expire(deps: MerchantDeps, refund: RefundRow): Promise<void> {
  const now = deps.clock().toISOString();
  await withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('merchant_refunds')
        .set({ state: 'expired', expired_at: now })
        .where('transaction_id', '=', refund.transaction_id)
        .where('request_id', '=', refund.request_id)
        .where('state', '=', 'permitted')
        .executeTakeFirst();
      if (moved.numUpdatedRows === 0n) return;
      await trx
        .updateTable('merchant_orders')
        .set({ refund_held: sql<bigint>`refund_held - ${BigInt(refund.amount)}` })
        .where('transaction_id', '=', refund.transaction_id)
        .execute();
    }),
  );
}

/** Past its dueTime plus the margin for clocks that disagree: the payment server will not pay it any more. */
function pastCollection(deps: MerchantDeps, refund: RefundRow): boolean {
  return refund.due_time !== null && deps.clock().getTime() > Date.parse(refund.due_time) + deps.config.settleMarginMinutes * MINUTE_MS;
}

/**
 * 1210 → 1220 for one refund: asks, verifies and records. Refunds without a
 * permit, and completed ones, are answered from the database.
 */
export async function refreshRefund(deps: MerchantDeps, refund: RefundRow): Promise<Result<RefundSummary, MerchantHttpErrorCode>> {
  if (!(ASKABLE as readonly string[]).includes(refund.state) || refund.permit_id === null) return ok(refundSummary(refund));
  const order = await findOrder(deps.db, refund.transaction_id);
  if (!order) throw new Error(`refund ${refund.transaction_id}/${refund.request_id} has no order`);
  const base = paymentServerUrl(deps, order.payment_server_id, order.invoice_jws);
  const got = await getJson(deps, base, `v1/repayments/${encodeURIComponent(deps.signer.partyId)}/${encodeURIComponent(refund.permit_id)}`);
  if (!got.ok) return got;
  const { status, body } = got.value;
  if (status === 404 && codeOf(body) === 'PAY_REPAYMENT_UNKNOWN') {
    if (refund.state === 'permitted' && pastCollection(deps, refund)) await expire(deps, refund);
  } else if (status !== 200) {
    const code = codeOf(body);
    return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', `the payment server answered ${status}`, { status, ...(code !== undefined ? { cause: code } : {}) });
  } else {
    const answer = RepaymentStateAnswer.safeParse(body);
    if (!answer.success) return err('MERCHANT_REPAYMENT_STATE_INVALID', 'the payment server answered something that is not a repayment state', { status });
    const checked = await checkState(deps, order, refund, wireJws(answer.data.state));
    if (!checked.ok) return checked;
    await record(deps, refund, checked.value);
  }
  return ok(refundSummary((await findRefund(deps.db, refund.transaction_id, refund.request_id))!));
}

/**
 * A repayment state the payment server posted (notifications, 1220 unasked):
 * the unverified payload only says which refund it claims to be about; then
 * exactly the checks of an asked-for answer apply, so a forged or altered
 * notification records nothing. The same state twice records once.
 */
export async function acceptNotifiedRepaymentState(deps: MerchantDeps, stateJws: JwsGeneral): Promise<Result<RefundSummary, MerchantHttpErrorCode>> {
  const claimed = RepaymentState.safeParse(unverifiedPayload(stateJws));
  if (!claimed.success) return err('MERCHANT_REPAYMENT_STATE_INVALID', 'the payload is not a repayment state');
  const { transactionId, permitId } = claimed.data;
  const refund = await deps.db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).where('permit_id', '=', permitId).executeTakeFirst();
  if (!refund) return err('MERCHANT_REPAYMENT_NOT_FOUND', `no permit ${permitId} was issued for order ${transactionId} here`);
  if (refund.state === 'completed') return ok(refundSummary(refund));
  const order = await findOrder(deps.db, transactionId);
  if (!order) throw new Error(`refund ${transactionId}/${refund.request_id} has no order`);
  const checked = await checkState(deps, order, refund, stateJws);
  if (!checked.ok) return checked;
  await record(deps, refund, checked.value);
  return ok(refundSummary((await findRefund(deps.db, transactionId, refund.request_id))!));
}

/** The payload of a JWS as JSON, NOT verified: only to find what it claims to be about. */
function unverifiedPayload(jws: JwsGeneral): unknown {
  try {
    return JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

export type OrderRefunds = { transactionId: string; state: OrderState; refunded: string; refunds: RefundSummary[] };

async function orderRefunds(db: Db, transactionId: string): Promise<OrderRefunds | undefined> {
  const order = await db.selectFrom('merchant_orders').select(['payment_state', 'currency', 'total', 'refund_held', 'refunded']).where('transaction_id', '=', transactionId).executeTakeFirst();
  if (!order) return undefined;
  const rows = await db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).orderBy('created_at').orderBy('request_id').execute();
  return {
    transactionId,
    state: orderState(order),
    refunded: formatAmount({ currency: order.currency, minor: BigInt(order.refunded) }),
    refunds: rows.map(refundSummary),
  };
}

/**
 * POST /v1/admin/orders/:tx/repayments/refresh: asks about every permit of
 * the order not yet completed (expired ones included). Each is recorded as it
 * is verified; the first failure is the answer (the others were still asked).
 */
export async function refreshOrderRefunds(deps: MerchantDeps, transactionId: string): Promise<Result<OrderRefunds, MerchantHttpErrorCode>> {
  const exists = await orderRefunds(deps.db, transactionId);
  if (!exists) return err('MERCHANT_ORDER_NOT_FOUND', `no order ${transactionId}`);
  const rows = await deps.db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).where('state', 'in', ASKABLE).orderBy('request_id').execute();
  let failure: Result<never, MerchantHttpErrorCode> | undefined;
  for (const row of rows) {
    const r = await refreshRefund(deps, row);
    if (!r.ok) failure ??= r;
  }
  if (failure) return failure;
  return ok((await orderRefunds(deps.db, transactionId))!);
}

/**
 * For a new request that would exceed the payment: asks about this order's
 * permits past their collection time, which expire if the payment server
 * never saw them. Returns how many refunds changed state; failures are left
 * for the sweep (the permit keeps its amount held).
 */
export async function expireStalePermits(deps: MerchantDeps, transactionId: string): Promise<number> {
  const rows = await deps.db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).where('state', '=', 'permitted').execute();
  let changed = 0;
  for (const row of rows) {
    if (!pastCollection(deps, row)) continue;
    const r = await refreshRefund(deps, row);
    if (r.ok && r.value.state !== 'permitted') changed++;
  }
  return changed;
}

const PAGE = 100;

/**
 * One pass of 1210 over the permits worth asking about: every permit still
 * out (one past its collection time is asked until the payment server
 * confirms it never paid it), and refunds repaid without the shopper's
 * receipt until their dueTime plus settleMarginMinutes. Pages by permit id.
 */
export async function sweepRefundsOnce(deps: MerchantDeps, log: SweepLog, signal?: AbortSignal): Promise<{ asked: number; changed: number }> {
  const horizon = new Date(deps.clock().getTime() - deps.config.settleMarginMinutes * MINUTE_MS).toISOString();
  let after = '';
  let asked = 0;
  let changed = 0;
  for (;;) {
    const page = await deps.db
      .selectFrom('merchant_refunds')
      .selectAll()
      .where((eb) => eb.or([eb('state', '=', 'permitted'), eb.and([eb('state', '=', 'remitted'), eb('due_time', '>=', horizon)])]))
      .where('permit_id', '>', after)
      .orderBy('permit_id')
      .limit(PAGE)
      .execute();
    for (const row of page) {
      if (signal?.aborted) return { asked, changed };
      asked++;
      const r = await refreshRefund(deps, row);
      if (!r.ok) log.warn({ transactionId: row.transaction_id, permitId: row.permit_id, code: r.code }, 'asking the payment server about a permit failed');
      else if (r.value.state !== row.state) {
        changed++;
        log.info({ transactionId: row.transaction_id, permitId: row.permit_id, state: r.value.state }, 'refund state recorded from the payment server');
      }
    }
    if (page.length < PAGE) return { asked, changed };
    after = page[page.length - 1]!.permit_id!;
  }
}
