// The refund from the wallet (DESIGN §3, issue 5, messages 1110–1200):
//
//   1110 the repayment request, signed with the key that signed the order   → merchant
//   1140 the permit (or: awaiting the shop operator's approval; or refused)   ← merchant
//   1150 + 1170 the claim: the permit countersigned by the same key, a
//        remittance request naming where the money goes (the hash of fresh
//        blinded envelopes, or the purse), the envelopes                     → payment server
//   1160/1180 its signed state `remitted` and the blind signatures            ← payment server
//   1190 our signed repayment receipt                                        → payment server
//   1200 its signed state `completed`                                         ← payment server
//
// Every document is stored before the message that carries it is sent, and
// the fresh coins are pending rows derived from the seed, so `--resume`
// repeats each request byte for byte and a crash between 1180 and 1190 loses
// nothing: the payment server answers the repeated claim with the same
// signatures. Only the key that signed the order can ask (the merchant checks),
// and only it can claim (the payment server checks the countersignature and
// the remittance request): an intercepted permit is worth nothing.
import { randomBytes } from 'node:crypto';
import { formatAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { REMITTANCE_REQUEST_TYP, REPAYMENT_PERMIT_TYP, REPAYMENT_RECEIPT_TYP, REPAYMENT_REQUEST_TYP, type RemittanceRequest, type RepaymentPermit, type RepaymentReceipt, type RepaymentRequest } from '../protocol/documents/index.ts';
import { countersign, documentHash, signDocument, type GeneralJws } from '../protocol/jws.ts';
import { RepaymentAnswer } from '../protocol/messages/merchant.ts';
import { MAX_ENVELOPES, RemittanceAnswer, remittanceEnvelopesHash, RepaymentStateAnswer, type RemittanceCall } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { contextOf, type BuyCode, type BuyDeps, type Context } from './buy.ts';
import type { RefundState, WalletPurchaseTable, WalletRefundTable } from './db.ts';
import { callJson } from './http-client.ts';
import { fetchKeyList } from './key-list.ts';
import type { OpenedWallet } from './open.ts';
import { blindPending, finalizePending, storePendingCoins } from './pending-coins.ts';
import { checkPermit, checkRepaymentState } from './purchase-checks.ts';
import { registerPurse } from './purse.ts';
import { planCoins, withdrawableKeys } from './withdraw.ts';

export type RefundCode = BuyCode;

/** What the shopper is asked to accept before claiming: the permit (fig. 25). */
export type RefundPrompt = { kind: 'permit'; permit: { permitId: string; transactionId: string; amount: string; mode: string; shop: { id: string; name: string }; repayer: { id: string; name: string; address: string }; dueTime: string } };

export type RefundEvent =
  | { kind: 'requested'; requestId: string; transactionId: string; amount: string }
  | { kind: 'awaiting-approval'; requestId: string }
  | { kind: 'claiming'; requestId: string; coins: number; purseKey?: string }
  | { kind: 'remitted'; requestId: string; amount: string; coins: number }
  | { kind: 'completed'; requestId: string };

export type RefundDeps = Pick<BuyDeps, 'now' | 'fetch' | 'seed' | 'passphrase'> & {
  confirm: (p: RefundPrompt) => Promise<boolean>;
  display?: (e: RefundEvent) => void;
};

export type RefundOutcome = {
  requestId: string;
  transactionId: string;
  state: RefundState;
  amount: string;
  permitId?: string;
  /** Mode ecash: the fresh coins received. */
  coins?: number;
};

function parseJws(text: string): GeneralJws {
  return JSON.parse(text) as GeneralJws;
}

function payloadOf<T>(jws: GeneralJws): T {
  return JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as T;
}

async function reload(wallet: OpenedWallet, requestId: string): Promise<WalletRefundTable> {
  return wallet.db.selectFrom('wallet_refunds').selectAll().where('request_id', '=', requestId).executeTakeFirstOrThrow();
}

async function update(wallet: OpenedWallet, requestId: string, set: Partial<WalletRefundTable>, now: Date): Promise<void> {
  await wallet.db.updateTable('wallet_refunds').set({ ...set, updated_at: now.toISOString() }).where('request_id', '=', requestId).execute();
}

async function stopped<T extends { ok: false; code: string }>(wallet: OpenedWallet, requestId: string, failure: T, now: Date): Promise<T> {
  await update(wallet, requestId, { last_error: failure.code }, now);
  return failure;
}

/**
 * A permit that can no longer be claimed and was never paid (past its due
 * time, and the payment server knows no claim of it): the refund did not
 * happen. Its planned coins are dropped and it stops counting against what may
 * be asked back, so `wallet refund TX` can ask the shop again.
 */
async function abandon(wallet: OpenedWallet, r: WalletRefundTable, why: string, now: Date): Promise<{ ok: false; code: 'WALLET_REFUND_EXPIRED'; message: string }> {
  await wallet.db.transaction().execute(async (tx) => {
    if (r.coins_request_id !== null) await tx.deleteFrom('wallet_coins').where('request_id', '=', r.coins_request_id).where('state', '=', 'pending').execute();
    await tx.updateTable('wallet_refunds').set({ state: 'REFUSED', last_error: `WALLET_REFUND_EXPIRED: ${why}`, updated_at: now.toISOString() }).where('request_id', '=', r.request_id).execute();
  });
  return err('WALLET_REFUND_EXPIRED', `${why}; nothing was paid back — ask the shop again with \`quittance wallet refund\``);
}

function outcome(r: WalletRefundTable, coins?: number): RefundOutcome {
  return {
    requestId: r.request_id,
    transactionId: payloadOf<RepaymentRequest>(parseJws(r.request_jws)).transactionId,
    state: r.state,
    amount: formatAmount({ currency: r.currency, minor: r.amount }),
    ...(r.permit_id !== null ? { permitId: r.permit_id } : {}),
    ...(coins !== undefined ? { coins } : {}),
  };
}

/** What this wallet asked back for the purchase already (refunds not refused). */
async function askedBefore(wallet: OpenedWallet, purchaseId: string): Promise<bigint> {
  const rows = await wallet.db.selectFrom('wallet_refunds').select('amount').where('purchase_id', '=', purchaseId).where('state', '<>', 'REFUSED').execute();
  return rows.reduce((s, r) => s + BigInt(r.amount), 0n);
}

async function findPurchase(wallet: OpenedWallet, transactionId: string): Promise<Result<WalletPurchaseTable, RefundCode>> {
  const rows = await wallet.db.selectFrom('wallet_purchases').selectAll().where('transaction_id', '=', transactionId).execute();
  if (rows.length === 0) return err('WALLET_PURCHASE_NOT_FOUND', `no purchase with transaction id ${transactionId} (see wallet history)`);
  const row = rows[0]!;
  if (row.state !== 'PAID' && row.state !== 'COMPLETED') return err('WALLET_REFUND_TOO_MUCH', `purchase ${transactionId} is ${row.state}, not paid: there is nothing to refund (finish it with wallet buy --resume)`);
  return ok(row);
}

/** Asks the merchant for a refund of `amount` (default: all that is left) and follows it through to the fresh coins or the purse. */
export async function refund(wallet: OpenedWallet, params: { transactionId: string; amount?: Amount; reason: string }, deps: RefundDeps): Promise<Result<RefundOutcome, RefundCode>> {
  const purchase = await findPurchase(wallet, params.transactionId);
  if (!purchase.ok) return purchase;
  const p = purchase.value;
  const left = p.amount - (await askedBefore(wallet, p.purchase_id));
  const minor = params.amount?.minor ?? left;
  if (params.amount && params.amount.currency !== p.currency) return err('WALLET_REFUND_TOO_MUCH', `the purchase was paid in ${p.currency}, not ${params.amount.currency}`);
  if (minor <= 0n || minor > left) {
    return err('WALLET_REFUND_TOO_MUCH', `${formatAmount({ currency: p.currency, minor })} is more than is left to refund of this purchase (${formatAmount({ currency: p.currency, minor: left < 0n ? 0n : left })} of ${formatAmount({ currency: p.currency, minor: p.amount })})`);
  }
  const ctx = await contextOf(wallet, p, deps);
  if (!ctx.ok) return ctx;
  const now = deps.now();
  const request: RepaymentRequest = {
    typ: REPAYMENT_REQUEST_TYP,
    requestId: `rq-${randomBytes(12).toString('base64url')}`,
    transactionId: p.transaction_id,
    shopId: p.merchant_id,
    amount: formatAmount({ currency: p.currency, minor }),
    reason: params.reason,
    time: now.toISOString(),
  };
  const jws = await signDocument({ payload: request, ...ctx.value.purchaser.signer(REPAYMENT_REQUEST_TYP) });
  const at = now.toISOString();
  await wallet.db
    .insertInto('wallet_refunds')
    .values({
      request_id: request.requestId,
      purchase_id: p.purchase_id,
      currency: p.currency,
      amount: minor,
      reason: params.reason,
      request_jws: JSON.stringify(jws),
      state: 'REQUESTED',
      permit_id: null,
      permit_jws: null,
      claim: null,
      coins_request_id: null,
      remitted_jws: null,
      receipt_jws: null,
      completed_jws: null,
      last_error: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
  deps.display?.({ kind: 'requested', requestId: request.requestId, transactionId: p.transaction_id, amount: request.amount });
  return continueRefund(wallet, await reload(wallet, request.requestId), p, ctx.value, deps);
}

/** 1110 → 1140 (a POST the first time, a GET once the shop said it must approve). */
async function askMerchant(wallet: OpenedWallet, r: WalletRefundTable, p: WalletPurchaseTable, ctx: Context, deps: RefundDeps): Promise<Result<WalletRefundTable, RefundCode>> {
  const request = parseJws(r.request_jws);
  const tx = encodeURIComponent(p.transaction_id);
  const answer =
    r.state === 'REQUESTED'
      ? await callJson(deps.fetch, 'merchant', p.merchant_url, { method: 'POST', path: `/v1/orders/${tx}/repayments`, body: { request }, schema: RepaymentAnswer, what: 'the repayment request' })
      : await callJson(deps.fetch, 'merchant', p.merchant_url, { method: 'GET', path: `/v1/orders/${tx}/repayments/${encodeURIComponent(r.request_id)}`, schema: RepaymentAnswer, what: 'the repayment request state' });
  if (!answer.ok) return stopped(wallet, r.request_id, answer, deps.now());
  const a = answer.value.value;
  if (a.requestId !== r.request_id || a.transactionId !== p.transaction_id) {
    return stopped(wallet, r.request_id, err('WALLET_MERCHANT_RESPONSE_INVALID', 'the answer names another repayment request'), deps.now());
  }
  if (a.state === 'awaiting-approval') {
    await update(wallet, r.request_id, { state: 'AWAITING_APPROVAL', last_error: null }, deps.now());
    deps.display?.({ kind: 'awaiting-approval', requestId: r.request_id });
    return ok(await reload(wallet, r.request_id));
  }
  if (a.state === 'refused') {
    const why = a.reason ?? 'no reason given';
    await update(wallet, r.request_id, { state: 'REFUSED', last_error: `WALLET_REFUND_REFUSED: ${why}` }, deps.now());
    return err('WALLET_REFUND_REFUSED', `the shop refused the refund: ${why}`);
  }
  if (!a.permit) return stopped(wallet, r.request_id, err('WALLET_PERMIT_INVALID', 'the shop says permitted but sent no permit'), deps.now());
  const checked = await checkPermit(a.permit, { invoice: ctx.checked, requestHash: await documentHash(decodeBase64url(request.payload)!), amount: formatAmount({ currency: r.currency, minor: r.amount }) }, ctx.trust, deps.now());
  if (!checked.ok && (checked.details as { field?: unknown } | undefined)?.field === 'dueTime') {
    // The shop answers a request it permitted long ago with that (now expired) permit.
    return abandon(wallet, r, `the shop's permit for this request was due by ${(payloadOf<RepaymentPermit>(a.permit as GeneralJws)).dueTime}`, deps.now());
  }
  if (!checked.ok) return stopped(wallet, r.request_id, checked, deps.now());
  await update(wallet, r.request_id, { state: 'PERMITTED', permit_id: checked.value.permit.permitId, permit_jws: JSON.stringify(a.permit), last_error: null }, deps.now());
  return ok(await reload(wallet, r.request_id));
}

/** The first claim stored wins: a second process preparing the same refund sends the stored one. */
async function storeClaim(wallet: OpenedWallet, r: WalletRefundTable, claim: RemittanceCall, now: Date): Promise<void> {
  await wallet.db.updateTable('wallet_refunds').set({ state: 'CLAIMING', claim: JSON.stringify(claim), updated_at: now.toISOString() }).where('request_id', '=', r.request_id).where('state', '=', 'PERMITTED').execute();
}

/** PERMITTED → CLAIMING: the claim, with fresh pending coins (ecash) or our purse (account), stored in one wallet transaction. */
async function prepareClaim(wallet: OpenedWallet, r: WalletRefundTable, p: WalletPurchaseTable, ctx: Context, deps: RefundDeps): Promise<Result<void, RefundCode>> {
  const permitJws = parseJws(r.permit_jws!);
  const permit = payloadOf<RepaymentPermit>(permitJws);
  const permitHash = await documentHash(decodeBase64url(permitJws.payload)!);
  const countersigned = await countersign(permitJws, ctx.purchaser.signer(REPAYMENT_PERMIT_TYP));
  const base = {
    typ: REMITTANCE_REQUEST_TYP,
    permitId: permit.permitId,
    permitHash,
    transactionId: permit.transactionId,
    recipientId: permit.recipientId,
    paymentServerId: permit.repayer.id,
    amount: permit.amount,
    mode: permit.mode,
    time: deps.now().toISOString(),
  } as const;
  const now = deps.now();
  if (permit.mode === 'account') {
    const purse = await registerPurse(wallet, p.payment_url, deps);
    if (!purse.ok) return purse;
    const request: RemittanceRequest = { ...base, purseKey: purse.value.purseKey };
    const claim: RemittanceCall = { permit: countersigned as RemittanceCall['permit'], request: (await signDocument({ payload: request, ...ctx.purchaser.signer(REMITTANCE_REQUEST_TYP) })) as RemittanceCall['request'], envelopes: [] };
    await storeClaim(wallet, r, claim, now);
    deps.display?.({ kind: 'claiming', requestId: r.request_id, coins: 0, purseKey: purse.value.purseKey });
    return ok(undefined);
  }
  // Fresh coins of the payment server's current keys, at most one request's
  // worth — planned once: a crash before the claim was stored finds them here.
  let coinsRequestId = r.coins_request_id;
  if (coinsRequestId === null) {
    const keys = await fetchKeyList(wallet, p.payment_url, deps);
    if (!keys.ok) return keys;
    if (keys.value.partyId !== p.payment_party_id) return err('WALLET_PAYMENT_SERVER_MISMATCH', `${p.payment_url} is now payment party ${keys.value.partyId}, not ${p.payment_party_id}`);
    const signing = withdrawableKeys(keys.value.keys, r.currency, now);
    const values = planCoins(r.amount, [...signing.keys()], MAX_ENVELOPES);
    if (!values) return err('WALLET_NO_DENOMINATION', `the payment server signs no set of at most ${MAX_ENVELOPES} coins worth ${permit.amount} now`);
    const id = `rf-${randomBytes(18).toString('base64url')}`;
    // Another process preparing the same claim may have planned coins first: then use those.
    coinsRequestId = await wallet.db.transaction().execute(async (tx) => {
      const taken = await tx.updateTable('wallet_refunds').set({ coins_request_id: id, updated_at: now.toISOString() }).where('request_id', '=', r.request_id).where('coins_request_id', 'is', null).executeTakeFirst();
      if (taken.numUpdatedRows === 0n) return (await tx.selectFrom('wallet_refunds').select('coins_request_id').where('request_id', '=', r.request_id).executeTakeFirstOrThrow()).coins_request_id!;
      await storePendingCoins(tx, deps.seed, values.map((v) => signing.get(v)!), id, now);
      return id;
    });
  }
  const prepared = await blindPending(wallet, coinsRequestId, deps.seed);
  if (!prepared.ok) return prepared;
  const request: RemittanceRequest = { ...base, envelopesHash: await remittanceEnvelopesHash(prepared.value.envelopes) };
  const claim: RemittanceCall = {
    permit: countersigned as RemittanceCall['permit'],
    request: (await signDocument({ payload: request, ...ctx.purchaser.signer(REMITTANCE_REQUEST_TYP) })) as RemittanceCall['request'],
    envelopes: prepared.value.envelopes,
  };
  await storeClaim(wallet, r, claim, now);
  deps.display?.({ kind: 'claiming', requestId: r.request_id, coins: prepared.value.coins.length });
  return ok(undefined);
}

/** CLAIMING → REMITTED: sends the stored claim (identical on every repeat), checks the signed state, keeps the coins. */
async function sendClaim(wallet: OpenedWallet, r: WalletRefundTable, p: WalletPurchaseTable, ctx: Context, deps: RefundDeps): Promise<Result<number, RefundCode>> {
  const claim = JSON.parse(r.claim!) as RemittanceCall;
  const answer = await callJson(deps.fetch, 'payment', p.payment_url, { method: 'POST', path: '/v1/repayments', body: claim, schema: RemittanceAnswer, what: 'the refund claim', timeoutMs: 120_000 });
  const permit = payloadOf<RepaymentPermit>(parseJws(r.permit_jws!));
  if (!answer.ok && answer.code === 'PAY_PERMIT_EXPIRED') {
    // Too late — unless an earlier copy of this claim was paid: the payment server knows.
    const known = await callJson(deps.fetch, 'payment', p.payment_url, {
      method: 'GET',
      path: `/v1/repayments/${encodeURIComponent(permit.shop.id)}/${encodeURIComponent(permit.permitId)}`,
      schema: RepaymentStateAnswer,
      what: 'the repayment state request',
      allowNotFound: true,
    });
    if (known.ok && known.value.value === undefined) return abandon(wallet, r, `permit ${permit.permitId} was due by ${permit.dueTime}`, deps.now());
  }
  if (!answer.ok) return stopped(wallet, r.request_id, answer, deps.now());
  const state = await checkRepaymentState(answer.value.value.state, { invoice: ctx.checked, permit, state: 'remitted' }, ctx.trust, deps.now());
  if (!state.ok) return stopped(wallet, r.request_id, state, deps.now());
  let coins = 0;
  let finish: Awaited<ReturnType<typeof finalizePending>> | undefined;
  if (r.coins_request_id !== null) {
    const prepared = await blindPending(wallet, r.coins_request_id, deps.seed);
    if (!prepared.ok) return prepared;
    // The envelopes sent are the ones the remittance request signed: rebuilt from the seed, they must be the same.
    if (JSON.stringify(prepared.value.envelopes) !== JSON.stringify(claim.envelopes)) throw new Error(`wallet store: the pending coins of refund ${r.request_id} no longer match its claim`);
    finish = await finalizePending(prepared.value, answer.value.value.blindSignatures);
    if (!finish.ok) return stopped(wallet, r.request_id, finish, deps.now());
    coins = prepared.value.coins.length;
  } else if (answer.value.value.blindSignatures.length !== 0) {
    return stopped(wallet, r.request_id, err('WALLET_PAYMENT_RESPONSE_INVALID', 'blind signatures for a refund into the purse'), deps.now());
  }
  const now = deps.now();
  await wallet.db.transaction().execute(async (tx) => {
    if (finish?.ok) await finish.value(tx, now);
    await tx
      .updateTable('wallet_refunds')
      .set({ state: 'REMITTED', remitted_jws: JSON.stringify(answer.value.value.state), last_error: null, updated_at: now.toISOString() })
      .where('request_id', '=', r.request_id)
      .where('state', '=', 'CLAIMING')
      .execute();
  });
  deps.display?.({ kind: 'remitted', requestId: r.request_id, amount: permit.amount, coins });
  return ok(coins);
}

/** REMITTED → COMPLETED: our signed repayment receipt (1190, stored first) and the payment server's acknowledgement (1200). */
async function sendReceipt(wallet: OpenedWallet, r: WalletRefundTable, p: WalletPurchaseTable, ctx: Context, deps: RefundDeps): Promise<Result<void, RefundCode>> {
  const permitJws = parseJws(r.permit_jws!);
  const permit = payloadOf<RepaymentPermit>(permitJws);
  if (r.receipt_jws === null) {
    const receipt: RepaymentReceipt = {
      typ: REPAYMENT_RECEIPT_TYP,
      permitId: permit.permitId,
      permitHash: await documentHash(decodeBase64url(permitJws.payload)!),
      transactionId: permit.transactionId,
      recipientId: permit.recipientId,
      amount: permit.amount,
      time: deps.now().toISOString(),
    };
    const jws = await signDocument({ payload: receipt, ...ctx.purchaser.signer(REPAYMENT_RECEIPT_TYP) });
    await update(wallet, r.request_id, { receipt_jws: JSON.stringify(jws) }, deps.now());
    r = await reload(wallet, r.request_id);
  }
  const answer = await callJson(deps.fetch, 'payment', p.payment_url, {
    method: 'POST',
    path: `/v1/repayments/${encodeURIComponent(permit.permitId)}/receipt`,
    body: { receipt: parseJws(r.receipt_jws!) },
    schema: RepaymentStateAnswer,
    what: 'the repayment receipt',
  });
  if (!answer.ok) return stopped(wallet, r.request_id, answer, deps.now());
  const state = await checkRepaymentState(answer.value.value.state, { invoice: ctx.checked, permit, state: 'completed' }, ctx.trust, deps.now());
  if (!state.ok) return stopped(wallet, r.request_id, state, deps.now());
  await update(wallet, r.request_id, { state: 'COMPLETED', completed_jws: JSON.stringify(answer.value.value.state), last_error: null }, deps.now());
  deps.display?.({ kind: 'completed', requestId: r.request_id });
  return ok(undefined);
}

async function continueRefund(wallet: OpenedWallet, r: WalletRefundTable, p: WalletPurchaseTable, ctx: Context, deps: RefundDeps): Promise<Result<RefundOutcome, RefundCode>> {
  if (r.state === 'REQUESTED' || r.state === 'AWAITING_APPROVAL') {
    const asked = await askMerchant(wallet, r, p, ctx, deps);
    if (!asked.ok) return asked;
    r = asked.value;
    if (r.state === 'AWAITING_APPROVAL') return ok(outcome(r));
  }
  if (r.state === 'PERMITTED') {
    const permit = payloadOf<RepaymentPermit>(parseJws(r.permit_jws!));
    // Never claimed (the claim is stored before it is sent), and now too late to.
    if (deps.now().getTime() > Date.parse(permit.dueTime)) return abandon(wallet, r, `permit ${permit.permitId} was due by ${permit.dueTime} and was never claimed`, deps.now());
    const view = { permitId: permit.permitId, transactionId: permit.transactionId, amount: permit.amount, mode: permit.mode, shop: permit.shop, repayer: permit.repayer, dueTime: permit.dueTime };
    if (!(await deps.confirm({ kind: 'permit', permit: view }))) return err('WALLET_CANCELLED', 'you did not claim the permitted refund; `wallet refund --resume` claims it later (before its due time)');
    const prepared = await prepareClaim(wallet, r, p, ctx, deps);
    if (!prepared.ok) return stopped(wallet, r.request_id, prepared, deps.now());
    r = await reload(wallet, r.request_id);
  }
  let coins: number | undefined;
  if (r.state === 'CLAIMING') {
    const sent = await sendClaim(wallet, r, p, ctx, deps);
    if (!sent.ok) return sent;
    coins = sent.value;
    r = await reload(wallet, r.request_id);
  }
  if (r.state === 'REMITTED') {
    // The money is ours already; the receipt is evidence for the payment server.
    const receipt = await sendReceipt(wallet, r, p, ctx, deps);
    if (!receipt.ok) return receipt;
    r = await reload(wallet, r.request_id);
  }
  if (coins === undefined && r.coins_request_id !== null) {
    coins = (await wallet.db.selectFrom('wallet_coins').select('coin_pub').where('request_id', '=', r.coins_request_id).execute()).length;
  }
  return ok(outcome(r, coins));
}

export type RefundResumeOutcome = { resumed: RefundOutcome[]; failed: { requestId: string; code: string; message: string }[] };

/** Finishes every unfinished refund (or only `requestId`), repeating each stored request as it was. */
export async function resumeRefunds(wallet: OpenedWallet, deps: RefundDeps, requestId?: string): Promise<Result<RefundResumeOutcome, RefundCode>> {
  let q = wallet.db.selectFrom('wallet_refunds').selectAll().where('state', 'in', ['REQUESTED', 'AWAITING_APPROVAL', 'PERMITTED', 'CLAIMING', 'REMITTED']);
  if (requestId !== undefined) q = q.where('request_id', '=', requestId);
  const rows = await q.orderBy('created_at').execute();
  if (requestId !== undefined && rows.length === 0) return err('WALLET_REFUND_NOT_FOUND', `no unfinished refund with request id ${requestId}`);
  const out: RefundResumeOutcome = { resumed: [], failed: [] };
  for (const r of rows) {
    const p = await wallet.db.selectFrom('wallet_purchases').selectAll().where('purchase_id', '=', r.purchase_id).executeTakeFirstOrThrow();
    const ctx = await contextOf(wallet, p, deps);
    const done = ctx.ok ? await continueRefund(wallet, r, p, ctx.value, deps) : ctx;
    if (done.ok) out.resumed.push(done.value);
    else out.failed.push({ requestId: r.request_id, code: done.code, message: done.message });
  }
  return ok(out);
}

/** Refunds of a purchase, for `wallet show` and the evidence bundle. */
export async function refundsOf(wallet: OpenedWallet, purchaseId: string): Promise<WalletRefundTable[]> {
  return wallet.db.selectFrom('wallet_refunds').selectAll().where('purchase_id', '=', purchaseId).orderBy('created_at').execute();
}

export function parseRefundAmount(raw: string): Result<Amount, 'WALLET_REFUND_TOO_MUCH'> {
  const a = parseAmount(raw);
  if (!a.ok) return err('WALLET_REFUND_TOO_MUCH', `--amount: ${a.message}`);
  return ok(a.value);
}
