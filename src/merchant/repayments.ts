// Messages 1110 → 1140 (EP 0 848 343 figs. 17, 18, 20; DESIGN §3): the
// shopper's signed repayment request becomes a repayment permit signed by the
// shop, which the payment server named in the order's invoice will pay once,
// to the purchaser and no one else.
//
// Pipeline: order exists → CRL (certified signers only) → signature, path,
// role (a certified `client` of our CA, or an anonymous key) → the signer is
// the very key that signed the order (certified: the same leaf certificate;
// anonymous: the key whose thumbprint is the purchaser id) → the payload is a
// repayment request for this order and shop → earlier request with this
// requestId: the same request answers its answer again, another is a
// conflict → business rules (paid, refund deadline, currency, lines) → permit
// signed (CPU, no transaction open; not when refunds need approval) → ONE
// transaction: the order's refund_held grows by the amount only if it stays
// within what was paid (a conditional update: two concurrent requests cannot
// both pass), and the refund row is inserted. A refusal anywhere writes nothing.
//
// What counts against the payment (refund_held): requests awaiting approval,
// permits not expired, and refunds the payment server repaid. A refused
// request and an expired permit give their amount back.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { formatAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import {
  INVOICE_TYP,
  parseDocument,
  REPAYMENT_PERMIT_TYP,
  REPAYMENT_REQUEST_TYP,
  type Invoice,
  type JwsGeneral,
  type Line,
  type RepaymentPermit,
  type RepaymentRequest,
} from '../protocol/documents/index.ts';
import type { SignerIdentity } from '../protocol/identity.ts';
import { documentHash, signDocument, verifyDocument } from '../protocol/jws.ts';
import type { RepaymentAnswer, RepaymentRequestCall } from '../protocol/messages/merchant.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import { CRL_MAX_AGE_SECONDS } from './crl.ts';
import type { MerchantDatabase, MerchantOrderTable, MerchantRefundTable } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import { claimsCertificate } from './orders.ts';
import { wireJws } from './receipts.ts';
import { expireStalePermits } from './repayment-state.ts';

type Db = Kysely<MerchantDatabase>;
type OrderRow = Selectable<MerchantOrderTable>;
type RefundRow = Selectable<MerchantRefundTable>;

export type RepaymentOutcome = { answer: RepaymentAnswer; replay: boolean };

const DAY_MS = 86_400_000;

/** 128 random bits: permit ids are the payment server's once-only key and reveal nothing. */
export function newPermitId(): string {
  return `pm-${randomBytes(16).toString('hex')}`;
}

/** The answer (1140) a refund row gives, now: a permit once there is one, whatever became of it since. */
export function answerOf(row: RefundRow): RepaymentAnswer {
  if (row.state === 'awaiting-approval') return { requestId: row.request_id, transactionId: row.transaction_id, state: 'awaiting-approval' };
  if (row.state === 'refused') {
    return { requestId: row.request_id, transactionId: row.transaction_id, state: 'refused', ...(row.refusal_reason !== null ? { reason: row.refusal_reason } : {}) };
  }
  if (row.permit_jws === null) throw new Error(`refund ${row.transaction_id}/${row.request_id} is ${row.state} without a permit`);
  return { requestId: row.request_id, transactionId: row.transaction_id, state: 'permitted', permit: JSON.parse(row.permit_jws) as JwsGeneral };
}

export async function findRefund(db: Db, transactionId: string, requestId: string): Promise<RefundRow | undefined> {
  return db.selectFrom('merchant_refunds').selectAll().where('transaction_id', '=', transactionId).where('request_id', '=', requestId).executeTakeFirst();
}

async function findOrder(db: Db, transactionId: string): Promise<OrderRow | undefined> {
  return db.selectFrom('merchant_orders').selectAll().where('transaction_id', '=', transactionId).executeTakeFirst();
}

/** Our own signed invoice, as stored: a failure to read it is a bug, not the caller's. */
function storedInvoice(row: OrderRow): Invoice {
  const jws = JSON.parse(row.invoice_jws) as JwsGeneral;
  const parsed = parseDocument(INVOICE_TYP, JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as unknown);
  if (!parsed.ok) throw new Error(`stored invoice of ${row.transaction_id} does not parse`);
  return parsed.value;
}

/** SHA-256 (lower-case hex) of the leaf certificate that signed the stored order: SignerIdentity.fingerprint of its signer. */
function orderLeafFingerprint(row: OrderRow): string | undefined {
  try {
    const jws = JSON.parse(row.order_jws) as JwsGeneral;
    const header = JSON.parse(new TextDecoder().decode(decodeBase64url(jws.signatures[0]!.protected))) as { x5c?: unknown };
    const leaf = Array.isArray(header.x5c) ? header.x5c[0] : undefined;
    if (typeof leaf !== 'string') return undefined;
    return createHash('sha256').update(Buffer.from(leaf, 'base64')).digest('hex');
  } catch {
    return undefined;
  }
}

/**
 * Fig. 20: only the key that signed the order may ask for its money back. For
 * a certified purchaser that is the same certificate (a renewed certificate of
 * the same party is another key); for an anonymous one, the per-order key
 * whose thumbprint is the purchaser id.
 */
function isOrderSigner(row: OrderRow, signer: SignerIdentity): boolean {
  if (row.purchaser_kind === 'anonymous') return signer.kind === 'anonymous' && signer.thumbprint === row.purchaser_id;
  if (signer.kind !== 'certified' || signer.partyId !== row.purchaser_id) return false;
  const fingerprint = orderLeafFingerprint(row);
  return fingerprint !== undefined && fingerprint === signer.fingerprint;
}

function describeSigner(signer: SignerIdentity): string {
  return signer.kind === 'certified' ? `certified ${signer.partyId}` : `anonymous ${signer.thumbprint}`;
}

/** A line's identity for comparison: article, name and unit price in its one spelling. */
function lineKey(article: string, name: string, unitPrice: Amount): string {
  return JSON.stringify([article, name, formatAmount(unitPrice)]);
}

/** The returned lines must be among the order's lines: each (article, name, price) at most as many units as ordered. */
async function checkLines(db: Db, transactionId: string, lines: readonly Line[]): Promise<Result<void, MerchantHttpErrorCode>> {
  const ordered = new Map<string, number>();
  const rows = await db.selectFrom('merchant_order_lines').select(['article', 'name', 'quantity', 'currency', 'unit_price']).where('transaction_id', '=', transactionId).execute();
  for (const r of rows) {
    const key = lineKey(r.article, r.name, { currency: r.currency, minor: BigInt(r.unit_price) });
    ordered.set(key, (ordered.get(key) ?? 0) + r.quantity);
  }
  const returned = new Map<string, number>();
  for (const [i, l] of lines.entries()) {
    const price = parseAmount(l.unitPrice);
    if (!price.ok) return err('MERCHANT_REPAYMENT_MISMATCH', `line ${i}: unit price ${l.unitPrice} is not an amount`, { field: 'lines', line: i });
    const key = lineKey(l.article, l.name, price.value);
    const n = (returned.get(key) ?? 0) + l.quantity;
    returned.set(key, n);
    if (n > (ordered.get(key) ?? 0)) {
      return err('MERCHANT_REPAYMENT_MISMATCH', `line ${i}: the order has ${ordered.get(key) ?? 0} of ${l.article} "${l.name}" at ${l.unitPrice}, fewer than returned`, { field: 'lines', line: i });
    }
  }
  return ok(undefined);
}

function refundable(order: Pick<OrderRow, 'currency' | 'total' | 'refund_held'>): string {
  const left = BigInt(order.total) - BigInt(order.refund_held);
  return formatAmount({ currency: order.currency, minor: left > 0n ? left : 0n });
}

function exceeds(order: Pick<OrderRow, 'currency' | 'total' | 'refund_held'>, amount: Amount): Result<never, MerchantHttpErrorCode> {
  const left = refundable(order);
  return err('MERCHANT_REFUND_EXCEEDS_PAYMENT', `${formatAmount(amount)} is more than what is left to refund of this payment (${left}: paid, minus refunds paid, permitted or awaiting approval)`, {
    refundable: left,
  });
}

export type SignedPermit = { permitId: string; jws: JwsGeneral; hash: string; permissionTime: string; dueTime: string };

/** Fig. 18: the permit for `amount` of this order, to its purchaser, at the payment server its invoice names. */
export async function makePermit(deps: MerchantDeps, order: OrderRow, requestHash: string, amount: Amount, now: Date): Promise<SignedPermit> {
  const invoice = storedInvoice(order);
  const permit: RepaymentPermit = {
    typ: REPAYMENT_PERMIT_TYP,
    permitId: (deps.newPermitId ?? newPermitId)(),
    transactionId: order.transaction_id,
    requestHash,
    recipientId: order.purchaser_id,
    amount: formatAmount(amount),
    mode: invoice.paymentMode,
    shop: { id: deps.signer.partyId, name: deps.signer.displayName },
    repayer: { id: invoice.paymentServer.id, name: invoice.paymentServer.name, address: invoice.paymentAddress },
    permissionTime: now.toISOString(),
    dueTime: new Date(now.getTime() + deps.config.refundPermitDays * DAY_MS).toISOString(),
  };
  // What we sign must be a document our own verifiers accept: a failure is a bug.
  const self = parseDocument(REPAYMENT_PERMIT_TYP, permit);
  if (!self.ok) throw new Error(`merchant made an invalid repayment permit: ${JSON.stringify(self.details)}`);
  const jws = wireJws(await signDocument({ payload: permit, typ: REPAYMENT_PERMIT_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c }));
  return { permitId: permit.permitId, jws, hash: await documentHash(decodeBase64url(jws.payload)!), permissionTime: permit.permissionTime, dueTime: permit.dueTime };
}

type Authenticated = { request: RepaymentRequest; requestHash: string; amount: Amount };

/** Steps 1–4: who signed, that it is the order's own signer, and that it is a request about this order at this shop. */
async function authenticate(deps: MerchantDeps, order: OrderRow, jws: JwsGeneral): Promise<Result<Authenticated, MerchantHttpErrorCode>> {
  // Anonymous requests need no CRL (so an unreachable CA does not stop them);
  // a certified signature found without CRLs still fails closed (requireCrl).
  const crls = claimsCertificate(jws) ? await deps.crls() : ok({ crls: [], required: true });
  if (!crls.ok) return crls;

  // 1. Who signed, and that the payload is theirs unaltered.
  const verified = await verifyDocument(jws, {
    now: deps.clock(),
    trustAnchors: deps.trustAnchors,
    crls: crls.value.crls,
    requireCrl: crls.value.required,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: REPAYMENT_REQUEST_TYP,
    signers: [{ roles: ['client'], orAnonymous: true }],
    cache: deps.verificationCache,
  });
  if (!verified.ok) {
    const extra = verified.details && typeof verified.details === 'object' ? verified.details : {};
    return err('MERCHANT_REPAYMENT_SIGNATURE_INVALID', `the repayment request's signature is not accepted: ${verified.message}`, { ...extra, code: verified.code });
  }

  // 2. The same key that signed the order (fig. 20), before anything about the order is told.
  const signer = verified.value.signers[0]!;
  if (!isOrderSigner(order, signer)) {
    return err('MERCHANT_PURCHASER_MISMATCH', `the repayment request is signed by ${describeSigner(signer)}, not by the key that signed order ${order.transaction_id}`);
  }

  // 3. What it says.
  const parsed = parseDocument(REPAYMENT_REQUEST_TYP, verified.value.payload);
  if (!parsed.ok) return err('MERCHANT_REPAYMENT_INVALID', 'the signed payload is not a valid repayment request', parsed.details);
  const request = parsed.value;
  const amount = parseAmount(request.amount);
  if (!amount.ok) throw new Error('request amount passed the schema but does not parse');
  if (amount.value.minor <= 0n) return err('MERCHANT_REPAYMENT_INVALID', 'the amount must be more than zero', [{ path: 'amount', message: 'more than zero' }]);

  // 4. About this order, at this shop.
  if (request.transactionId !== order.transaction_id) {
    return err('MERCHANT_REPAYMENT_MISMATCH', `the request is about transaction ${request.transactionId}, posted to ${order.transaction_id}`, { field: 'transactionId', expected: order.transaction_id });
  }
  if (request.shopId !== deps.signer.partyId) {
    return err('MERCHANT_NOT_THIS_SHOP', `the request is addressed to ${request.shopId}, this shop is ${deps.signer.partyId}`);
  }
  return ok({ request, requestHash: verified.value.documentHash, amount: amount.value });
}

async function earlierRequest(db: Db, transactionId: string, requestId: string, requestHash: string): Promise<Result<RepaymentOutcome, MerchantHttpErrorCode> | undefined> {
  const row = await findRefund(db, transactionId, requestId);
  if (!row) return undefined;
  if (row.request_hash !== requestHash) {
    return err('MERCHANT_REQUEST_CONFLICT', `request id ${requestId} was already used for another repayment request of this order`);
  }
  return ok({ answer: answerOf(row), replay: true });
}

/** POST /v1/orders/:transactionId/repayments, after the body schema. */
export async function acceptRepaymentRequest(deps: MerchantDeps, transactionId: string, call: RepaymentRequestCall): Promise<Result<RepaymentOutcome, MerchantHttpErrorCode>> {
  // Copied before the first await (STYLE: snapshot untrusted input).
  const jws = wireJws(call.request);
  const order = await findOrder(deps.db, transactionId);
  if (!order) return err('MERCHANT_ORDER_NOT_FOUND', `no order ${transactionId}`);

  const authenticated = await authenticate(deps, order, jws);
  if (!authenticated.ok) return authenticated;
  const { request, requestHash, amount } = authenticated.value;

  // 5. Seen before: before the business rules, so that a repeat still gets its
  //    answer after the deadline or once the permits used up the payment.
  const earlier = await earlierRequest(deps.db, transactionId, request.requestId, requestHash);
  if (earlier) return earlier;

  // 6. Business rules.
  const now = deps.clock();
  if (order.payment_state !== 'PAID') return err('MERCHANT_REPAYMENT_NOT_ALLOWED', `order ${transactionId} is not paid: there is nothing to refund`);
  if (now.getTime() > Date.parse(order.refund_deadline)) {
    return err('MERCHANT_REFUND_DEADLINE_PASSED', `refunds of ${transactionId} could be asked for until ${order.refund_deadline}`, { refundDeadline: order.refund_deadline });
  }
  if (amount.currency !== order.currency) {
    return err('MERCHANT_REPAYMENT_MISMATCH', `the order was paid in ${order.currency}, the request asks for ${amount.currency}`, { field: 'amount', expected: order.currency });
  }
  if (request.lines) {
    const lines = await checkLines(deps.db, transactionId, request.lines);
    if (!lines.ok) return lines;
  }
  // A cheap look before signing; the transaction below decides. Permits past
  // their due time still hold their amount until the payment server confirms
  // it never paid them: ask it now rather than refuse.
  if (BigInt(order.refund_held) + amount.minor > BigInt(order.total)) {
    if ((await expireStalePermits(deps, transactionId)) === 0) return exceeds(order, amount);
    const current = (await findOrder(deps.db, transactionId))!;
    if (BigInt(current.refund_held) + amount.minor > BigInt(current.total)) return exceeds(current, amount);
  }

  // 7. The permit, signed outside the transaction (unless an operator decides first).
  const permit = deps.config.refundsNeedApproval ? undefined : await makePermit(deps, order, requestHash, amount, now);

  // 8. One transaction: hold the amount within what was paid, and the refund row; or nothing.
  let held: boolean;
  try {
    held = await withRetry(() =>
      deps.db.transaction().execute(async (trx) => {
        const hold = await trx
          .updateTable('merchant_orders')
          .set({ refund_held: sql<bigint>`refund_held + ${amount.minor}` })
          .where('transaction_id', '=', transactionId)
          .where('payment_state', '=', 'PAID')
          .where(sql<boolean>`refund_held + ${amount.minor} <= total`)
          .executeTakeFirst();
        if (hold.numUpdatedRows === 0n) return false;
        await trx
          .insertInto('merchant_refunds')
          .values({
            transaction_id: transactionId,
            request_id: request.requestId,
            request_hash: requestHash,
            request_jws: JSON.stringify(jws),
            currency: amount.currency,
            amount: amount.minor,
            reason: request.reason,
            state: permit ? 'permitted' : 'awaiting-approval',
            permit_id: permit?.permitId ?? null,
            permit_jws: permit ? JSON.stringify(permit.jws) : null,
            permit_hash: permit?.hash ?? null,
            permission_time: permit?.permissionTime ?? null,
            due_time: permit?.dueTime ?? null,
            created_at: now.toISOString(),
            decided_at: permit ? now.toISOString() : null,
          })
          .execute();
        return true;
      }),
    );
  } catch (e) {
    if (!deps.isUniqueViolation(e)) throw e;
    // A twin of this request committed first (its hold stands, ours rolled back): answer as it was answered.
    const twin = await earlierRequest(deps.db, transactionId, request.requestId, requestHash);
    if (twin) return twin;
    throw e;
  }
  if (!held) {
    // Another request took what was left between the look and the transaction; or a twin of this one did.
    const twin = await earlierRequest(deps.db, transactionId, request.requestId, requestHash);
    if (twin) return twin;
    return exceeds((await findOrder(deps.db, transactionId))!, amount);
  }
  const row = await findRefund(deps.db, transactionId, request.requestId);
  if (!row) throw new Error(`refund ${transactionId}/${request.requestId} vanished after its insert`);
  return ok({ answer: answerOf(row), replay: false });
}

/** GET /v1/orders/:transactionId/repayments/:requestId: the answer as it stands (the wallet polls while awaiting approval). */
export async function repaymentAnswer(db: Db, transactionId: string, requestId: string): Promise<Result<RepaymentAnswer, MerchantHttpErrorCode>> {
  const row = await findRefund(db, transactionId, requestId);
  if (!row) return err('MERCHANT_REPAYMENT_NOT_FOUND', `no repayment request ${requestId} for order ${transactionId}`);
  return ok(answerOf(row));
}

/**
 * The operator approves a request awaiting approval: the permit is signed now
 * (permissionTime and dueTime from now). Approving it again answers the same
 * permit; approving a refused request is MERCHANT_REPAYMENT_ALREADY_DECIDED.
 * The amount was held when the request came, so the cap needs no new check.
 */
export async function approveRepayment(deps: MerchantDeps, transactionId: string, requestId: string): Promise<Result<RepaymentAnswer, MerchantHttpErrorCode>> {
  const row = await findRefund(deps.db, transactionId, requestId);
  if (!row) return err('MERCHANT_REPAYMENT_NOT_FOUND', `no repayment request ${requestId} for order ${transactionId}`);
  if (row.state === 'refused') return err('MERCHANT_REPAYMENT_ALREADY_DECIDED', `repayment request ${requestId} was refused`, { state: row.state });
  if (row.state !== 'awaiting-approval') return ok(answerOf(row));
  const order = await findOrder(deps.db, transactionId);
  if (!order) throw new Error(`refund ${transactionId}/${requestId} has no order`);
  const now = deps.clock();
  const permit = await makePermit(deps, order, row.request_hash, { currency: row.currency, minor: BigInt(row.amount) }, now);
  await withRetry(() =>
    deps.db
      .updateTable('merchant_refunds')
      .set({
        state: 'permitted',
        permit_id: permit.permitId,
        permit_jws: JSON.stringify(permit.jws),
        permit_hash: permit.hash,
        permission_time: permit.permissionTime,
        due_time: permit.dueTime,
        decided_at: now.toISOString(),
      })
      .where('transaction_id', '=', transactionId)
      .where('request_id', '=', requestId)
      .where('state', '=', 'awaiting-approval')
      .execute(),
  );
  // Whoever decided first (this call, a twin approval, or a refusal) is the answer.
  const decided = (await findRefund(deps.db, transactionId, requestId))!;
  if (decided.state === 'refused') return err('MERCHANT_REPAYMENT_ALREADY_DECIDED', `repayment request ${requestId} was refused`, { state: decided.state });
  return ok(answerOf(decided));
}

/**
 * The operator refuses a request awaiting approval, with a reason the shopper
 * is shown; its amount is no longer held. Refusing it again answers the same;
 * refusing a permitted request is MERCHANT_REPAYMENT_ALREADY_DECIDED (a
 * permit, once signed, is the shopper's to collect until its due time).
 */
export async function refuseRepayment(
  deps: Pick<MerchantDeps, 'db' | 'clock'>,
  transactionId: string,
  requestId: string,
  reason: string,
): Promise<Result<RepaymentAnswer, MerchantHttpErrorCode>> {
  const row = await findRefund(deps.db, transactionId, requestId);
  if (!row) return err('MERCHANT_REPAYMENT_NOT_FOUND', `no repayment request ${requestId} for order ${transactionId}`);
  if (row.state === 'refused') return ok(answerOf(row));
  if (row.state !== 'awaiting-approval') return err('MERCHANT_REPAYMENT_ALREADY_DECIDED', `repayment request ${requestId} is ${row.state}: its permit was issued`, { state: row.state });
  const now = deps.clock().toISOString();
  await withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      const refused = await trx
        .updateTable('merchant_refunds')
        .set({ state: 'refused', refusal_reason: reason, decided_at: now })
        .where('transaction_id', '=', transactionId)
        .where('request_id', '=', requestId)
        .where('state', '=', 'awaiting-approval')
        .executeTakeFirst();
      if (refused.numUpdatedRows === 0n) return;
      await trx
        .updateTable('merchant_orders')
        .set({ refund_held: sql<bigint>`refund_held - ${BigInt(row.amount)}` })
        .where('transaction_id', '=', transactionId)
        .execute();
    }),
  );
  const decided = (await findRefund(deps.db, transactionId, requestId))!;
  if (decided.state !== 'refused') return err('MERCHANT_REPAYMENT_ALREADY_DECIDED', `repayment request ${requestId} is ${decided.state}: its permit was issued`, { state: decided.state });
  return ok(answerOf(decided));
}
