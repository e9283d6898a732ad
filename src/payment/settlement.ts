// Settlement (DESIGN §4 "payout", issue 5): a shop's collected takings in one
// currency paid out to its bank account (payment_merchants.payout_account),
// with a signed settlement report listing what the money is made of.
//
// Which money: every PAID payment and every refund of the shop in that
// currency that is in no settlement yet. Amount = Σ payments − Σ refunds of
// those items; there are no fees today (fees = 0). Nothing is paid while that
// is ≤ 0: the items wait for later takings.
//
// ONE transaction creates a settlement (createSettlement):
//   the merchant's ledger row is locked first (two runs for one shop queue
//   there), the items are chosen, the settlement row (pending) is inserted,
//   each item's settlement_id is set by a conditional update (…where
//   settlement_id is null: an item is in one live settlement), the money is
//   held by a pending ledger transfer settlement:<id> merchant:<id>:CUR →
//   bank:CUR — a conditional debit, so the amount must be what the merchant's
//   account can give — and the signed report is stored.
// Then the bank transfer (sendSettlement), mirroring how the loader sends a
// bounce back: from the payment server's bank account to the payout account,
// transfer id = settlement id (a repeat after a crash is the same transfer at
// the bank, which answers the first result), subject "settlement <id>".
//   paid            → the hold is posted (money leaves the books to the bank), state sent
//   refused for good (no transfer was made: creditor unknown, currency
//                     mismatch, …) → the hold is voided, state failed, and
//                     the items are released for a later settlement
//   anything else   → stays pending; every run sends pending settlements again
//
// Refunds after a payout are funded from the shop's later takings: a refund
// debits merchant:<id>:CUR by a conditional debit, and money held or paid out
// by a settlement is no longer available there, so a refund is refused
// (PAY_MERCHANT_BALANCE_INSUFFICIENT) while there are no new takings; once
// paid, it is an item (−) of the shop's next settlement.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { formatAmount } from '../protocol/amount.ts';
import { MAX_SETTLEMENT_ITEMS, SETTLEMENT_REPORT_TYP, SettlementReport, type SettlementItem } from '../protocol/documents/index.ts';
import { signDocument } from '../protocol/jws.ts';
import { withRetry } from '../store/index.ts';
import { sendBankTransfer, type BankCall, type Fetch } from './bank-client.ts';
import type { PaymentDatabase, PaymentSettlementTable } from './db.ts';
import type { BankLink, PaymentDeps } from './deps.ts';
import { createPending, ensureAccount, ledgerAccount, postPending, voidPending } from './ledger.ts';
import type { LoaderLog } from './loader.ts';
import { merchantAccount } from './merchants.ts';

type Db = Kysely<PaymentDatabase>;

export type SettlementDeps = Pick<PaymentDeps, 'db' | 'clock' | 'signer' | 'bankLink'> & {
  /** A fresh settlement id; absent: "st-" + 128 random bits. */
  newSettlementId?: () => string;
};

/** 128 random bits: a settlement id reveals nothing and cannot be guessed. */
export function newSettlementId(): string {
  return `st-${randomBytes(16).toString('hex')}`;
}

/** The pending ledger transfer holding a settlement's money (merchant → bank). */
export function settlementTransferId(settlementId: string): string {
  return `settlement:${settlementId}`;
}

export const SETTLEMENT_SUBJECT_PREFIX = 'settlement';

export function settlementSubject(settlementId: string): string {
  return `${SETTLEMENT_SUBJECT_PREFIX} ${settlementId}`;
}

export type SettlementOutcome = {
  merchantId: string;
  currency?: string;
  /**
   * sent: paid; pending: the bank did not answer (sent again next run);
   * failed: the bank refused, items released; nothing: no items, or they come
   * to ≤ 0; skipped: not paid out (no payout account, suspended, no bank
   * account in the currency) — `message` says which.
   */
  outcome: 'sent' | 'pending' | 'failed' | 'nothing' | 'skipped';
  settlementId?: string;
  amount?: string;
  items?: number;
  message?: string;
};

export type SettlementRunReport = { outcomes: SettlementOutcome[]; errors: string[] };

export type SettleOptions = {
  /** Only this merchant. */
  merchantId?: string;
  signal?: AbortSignal;
  log?: LoaderLog;
  /** Called once per outcome as it happens (the CLI's progress line). */
  onOutcome?: (o: SettlementOutcome) => void;
};

const SILENT: LoaderLog = { info: () => {}, warn: () => {}, error: () => {} };

function describe(r: Exclude<BankCall<unknown>, { kind: 'ok' }>): string {
  return r.kind === 'refused' ? `${r.status} ${r.code}${r.message ? `: ${r.message}` : ''}` : r.message;
}

/**
 * A refusal that proves no transfer was made and that the same request will
 * meet again (the payout account does not exist, is in another currency, …).
 * Credentials, rate limits, our own account not visible, our account short of
 * money, or the id already used for another request (the bank may hold a
 * transfer under it) are kept pending for the operator and retried.
 */
function isPermanent(r: Extract<BankCall<unknown>, { kind: 'refused' }>): boolean {
  return ![401, 403, 408, 429].includes(r.status) && !['BANK_ACCOUNT_NOT_FOUND', 'BANK_TRANSFER_ID_REUSED', 'BANK_INSUFFICIENT_FUNDS'].includes(r.code);
}

// ---------------------------------------------------------------- creating

type Item = { kind: 'payment'; id: string; transactionId: string; amount: bigint; at: string } | { kind: 'refund'; id: string; transactionId: string; amount: bigint; at: string };

/** A refusal inside the creating transaction: it rolls back and becomes the outcome. */
class NoSettlement extends Error {
  readonly outcome: SettlementOutcome;
  constructor(outcome: SettlementOutcome) {
    super(outcome.message ?? outcome.outcome);
    this.outcome = outcome;
  }
}

/**
 * The items of a settlement: every unsettled refund (they only lower the
 * amount, so leaving one out could pay more than the shop's account holds),
 * then unsettled payments, oldest first, up to MAX_SETTLEMENT_ITEMS in all.
 */
async function unsettledItems(trx: Db, merchantId: string, currency: string): Promise<Item[]> {
  const refunds = await trx
    .selectFrom('payment_repayments')
    .select(['permit_id', 'transaction_id', 'amount', 'created_at'])
    .where('shop_id', '=', merchantId)
    .where('currency', '=', currency)
    .where('settlement_id', 'is', null)
    .orderBy('created_at')
    .orderBy('permit_id')
    .limit(MAX_SETTLEMENT_ITEMS)
    .execute();
  const payments = await trx
    .selectFrom('payment_payments')
    .select(['payment_id', 'transaction_id', 'amount', 'paid_at'])
    .where('shop_id', '=', merchantId)
    .where('currency', '=', currency)
    .where('state', '=', 'PAID')
    .where('settlement_id', 'is', null)
    .orderBy('paid_at')
    .orderBy('payment_id')
    .limit(MAX_SETTLEMENT_ITEMS - refunds.length)
    .execute();
  return [
    ...payments.map((p): Item => ({ kind: 'payment', id: p.payment_id, transactionId: p.transaction_id, amount: p.amount, at: p.paid_at ?? '' })),
    ...refunds.map((r): Item => ({ kind: 'refund', id: r.permit_id, transactionId: r.transaction_id, amount: r.amount, at: r.created_at })),
  ];
}

/**
 * Creates one settlement of `merchantId`'s unsettled items in `currency`, in
 * one transaction (see the top of this file). `nothing` when there is nothing
 * to pay; `pending` when an earlier settlement of the same shop and currency
 * still waits for the bank (it is sent first; one at a time keeps the held
 * money small and the order of reports clear).
 */
export async function createSettlement(deps: SettlementDeps, merchantId: string, currency: string): Promise<{ created: PaymentSettlementTable } | { outcome: SettlementOutcome }> {
  const merchant = await deps.db.selectFrom('payment_merchants').selectAll().where('merchant_id', '=', merchantId).executeTakeFirst();
  if (!merchant) throw new Error(`no merchant ${merchantId}`);
  const base = { merchantId, currency };
  if (merchant.payout_account === null) return { outcome: { ...base, outcome: 'skipped', message: 'no payout account on the contract' } };
  const payout = merchant.payout_account;
  const now = deps.clock();
  const at = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const id = (deps.newSettlementId ?? newSettlementId)();
  const account = merchantAccount(merchantId, currency);
  try {
    const created = await withRetry(() =>
      deps.db.transaction().execute(async (trx) => {
        // The lock: PostgreSQL holds the merchant's ledger row until commit, so
        // a second run for this shop waits here and then sees our items taken.
        const locked = await trx.updateTable('payment_ledger_accounts').set((eb) => ({ credits_posted: eb.ref('credits_posted') })).where('id', '=', account).executeTakeFirst();
        if (locked.numUpdatedRows === 0n) throw new NoSettlement({ ...base, outcome: 'nothing', message: 'no takings' });
        const open = await trx.selectFrom('payment_settlements').select('settlement_id').where('merchant_id', '=', merchantId).where('currency', '=', currency).where('state', '=', 'pending').executeTakeFirst();
        if (open) throw new NoSettlement({ ...base, outcome: 'pending', settlementId: open.settlement_id, message: 'an earlier settlement still waits for the bank' });
        const items = await unsettledItems(trx, merchantId, currency);
        const amount = items.reduce((s, i) => s + (i.kind === 'payment' ? i.amount : -i.amount), 0n);
        if (items.length === 0 || amount <= 0n) {
          throw new NoSettlement({ ...base, outcome: 'nothing', items: items.length, message: items.length === 0 ? 'no unsettled payments' : `the unsettled items come to ${formatAmount({ currency, minor: amount })}` });
        }
        const reportItems: SettlementItem[] = items.map((i) => ({
          transactionId: i.transactionId,
          kind: i.kind,
          ...(i.kind === 'refund' ? { permitId: i.id } : {}),
          amount: formatAmount({ currency, minor: i.amount }),
        }));
        const report = SettlementReport.parse({
          typ: SETTLEMENT_REPORT_TYP,
          settlementId: id,
          shop: { id: merchantId, name: merchant.display_name },
          paymentServer: { id: deps.signer.partyId, name: deps.signer.displayName },
          currency,
          amount: formatAmount({ currency, minor: amount }),
          payoutAccount: payout,
          items: reportItems,
          time: at.toISOString(),
        });
        const jws = await signDocument({ payload: report, typ: SETTLEMENT_REPORT_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
        const row: PaymentSettlementTable = {
          settlement_id: id,
          merchant_id: merchantId,
          currency,
          amount,
          payout_account: payout,
          state: 'pending',
          report_jws: JSON.stringify(jws),
          attempts: 0,
          last_error: null,
          created_at: at.toISOString(),
          updated_at: now.toISOString(),
        };
        await trx.insertInto('payment_settlements').values(row).execute();
        const paymentIds = items.filter((i) => i.kind === 'payment').map((i) => i.id);
        const permitIds = items.filter((i) => i.kind === 'refund').map((i) => i.id);
        if (paymentIds.length > 0) {
          const r = await trx.updateTable('payment_payments').set({ settlement_id: id }).where('payment_id', 'in', paymentIds).where('settlement_id', 'is', null).executeTakeFirst();
          if (r.numUpdatedRows !== BigInt(paymentIds.length)) throw new Error(`settlement ${id}: a payment was settled by another run meanwhile`);
        }
        if (permitIds.length > 0) {
          const r = await trx.updateTable('payment_repayments').set({ settlement_id: id }).where('shop_id', '=', merchantId).where('permit_id', 'in', permitIds).where('settlement_id', 'is', null).executeTakeFirst();
          if (r.numUpdatedRows !== BigInt(permitIds.length)) throw new Error(`settlement ${id}: a refund was settled by another run meanwhile`);
        }
        await ensureAccount(trx, ledgerAccount.bank(currency), currency, 'bank', now);
        // The final word: the shop's account must give exactly this.
        const held = await createPending(trx, { id: settlementTransferId(id), debit: account, credit: ledgerAccount.bank(currency), currency, amount, reason: 'settlement' }, now);
        if (!held) {
          throw new NoSettlement({ ...base, outcome: 'skipped', message: `${account} does not cover ${formatAmount({ currency, minor: amount })}: the books disagree with the items (run quittance audit)` });
        }
        return row;
      }),
    );
    return { created };
  } catch (e) {
    if (e instanceof NoSettlement) return { outcome: e.outcome };
    throw e;
  }
}

// ---------------------------------------------------------------- sending

async function markSent(deps: SettlementDeps, s: PaymentSettlementTable): Promise<void> {
  const now = deps.clock();
  await withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      // The state moves first, conditionally: of a success and a refusal
      // racing in two processes, the first to commit decides.
      const moved = await trx
        .updateTable('payment_settlements')
        .set((eb) => ({ state: 'sent', attempts: eb('attempts', '+', 1), last_error: null, updated_at: now.toISOString() }))
        .where('settlement_id', '=', s.settlement_id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (moved.numUpdatedRows === 0n) return;
      const r = await postPending(trx, settlementTransferId(s.settlement_id), `${settlementTransferId(s.settlement_id)}:sent`, now);
      if (r !== 'resolved') throw new Error(`settlement ${s.settlement_id}: its held money is ${r === 'unknown' ? 'missing' : 'already resolved'}`);
    }),
  );
}

async function markFailed(deps: SettlementDeps, s: PaymentSettlementTable, why: string): Promise<boolean> {
  const now = deps.clock();
  return withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('payment_settlements')
        .set((eb) => ({ state: 'failed', attempts: eb('attempts', '+', 1), last_error: why, updated_at: now.toISOString() }))
        .where('settlement_id', '=', s.settlement_id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (moved.numUpdatedRows === 0n) return false;
      const r = await voidPending(trx, settlementTransferId(s.settlement_id), `${settlementTransferId(s.settlement_id)}:void`, now);
      if (r !== 'resolved') throw new Error(`settlement ${s.settlement_id}: its held money is ${r === 'unknown' ? 'missing' : 'already resolved'}`);
      // Free again: the next settlement takes them.
      await trx.updateTable('payment_payments').set({ settlement_id: null }).where('settlement_id', '=', s.settlement_id).execute();
      await trx.updateTable('payment_repayments').set({ settlement_id: null }).where('settlement_id', '=', s.settlement_id).execute();
      return true;
    }),
  );
}

function linkedAccount(link: BankLink, currency: string): string | undefined {
  return link.accounts.find((a) => a.currency === currency)?.accountId;
}

/** Asks the bank for a pending settlement's transfer and books the answer. */
export async function sendSettlement(deps: SettlementDeps, fetchImpl: Fetch, s: PaymentSettlementTable, opts: Pick<SettleOptions, 'signal' | 'log'> = {}): Promise<SettlementOutcome> {
  const log = opts.log ?? SILENT;
  const base = { merchantId: s.merchant_id, currency: s.currency, settlementId: s.settlement_id, amount: formatAmount({ currency: s.currency, minor: s.amount }) };
  const link = deps.bankLink;
  const from = link ? linkedAccount(link, s.currency) : undefined;
  if (!link || from === undefined) return { ...base, outcome: 'pending', message: `no linked bank account in ${s.currency}` };
  const sent = await sendBankTransfer(fetchImpl, link, { transferId: s.settlement_id, from, to: s.payout_account, amount: base.amount, subject: settlementSubject(s.settlement_id) }, opts.signal);
  if (sent.kind === 'ok') {
    await markSent(deps, s);
    log.info({ settlementId: s.settlement_id, merchantId: s.merchant_id, amount: base.amount }, 'settlement paid out');
    return { ...base, outcome: 'sent' };
  }
  const why = describe(sent).slice(0, 500);
  if (sent.kind === 'refused' && isPermanent(sent)) {
    await markFailed(deps, s, why);
    log.error({ settlementId: s.settlement_id, merchantId: s.merchant_id, code: sent.code }, 'the bank refused a settlement; its items are free for the next one');
    return { ...base, outcome: 'failed', message: why };
  }
  await deps.db
    .updateTable('payment_settlements')
    .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: why, updated_at: deps.clock().toISOString() }))
    .where('settlement_id', '=', s.settlement_id)
    .where('state', '=', 'pending')
    .execute();
  log.warn({ settlementId: s.settlement_id, merchantId: s.merchant_id }, 'settlement not confirmed by the bank; it is sent again next run');
  return { ...base, outcome: 'pending', message: why };
}

// ---------------------------------------------------------------- runs

/** The currencies in which a merchant has unsettled items. */
async function unsettledCurrencies(db: Db, merchantId: string): Promise<string[]> {
  const p = await db.selectFrom('payment_payments').select('currency').distinct().where('shop_id', '=', merchantId).where('state', '=', 'PAID').where('settlement_id', 'is', null).execute();
  const r = await db.selectFrom('payment_repayments').select('currency').distinct().where('shop_id', '=', merchantId).where('settlement_id', 'is', null).execute();
  return [...new Set([...p, ...r].map((x) => x.currency))].sort();
}

/**
 * One settlement run: first the settlements still pending (a crash or an
 * unreachable bank left them), then, per merchant (or only `merchantId`) and
 * currency, a new settlement of the unsettled items, sent at once. Problems
 * with one merchant are reported and the run goes on; nothing is thrown for
 * them.
 */
export async function runSettlements(deps: SettlementDeps, fetchImpl: Fetch, opts: SettleOptions = {}): Promise<SettlementRunReport> {
  const report: SettlementRunReport = { outcomes: [], errors: [] };
  const emit = (o: SettlementOutcome) => {
    report.outcomes.push(o);
    opts.onOutcome?.(o);
  };
  if (!deps.bankLink) {
    report.errors.push('no bank link (quittance payment link-bank)');
    return report;
  }
  let pendingQuery = deps.db.selectFrom('payment_settlements').selectAll().where('state', '=', 'pending');
  if (opts.merchantId !== undefined) pendingQuery = pendingQuery.where('merchant_id', '=', opts.merchantId);
  // Merchants whose pending settlement was just sent: a "nothing new" line for them would only be noise.
  const resent = new Set<string>();
  for (const s of await pendingQuery.orderBy('created_at').orderBy('settlement_id').execute()) {
    if (opts.signal?.aborted) return report;
    try {
      resent.add(`${s.merchant_id}/${s.currency}`);
      emit(await sendSettlement(deps, fetchImpl, s, opts));
    } catch (e) {
      report.errors.push(`settlement ${s.settlement_id}: ${(e as Error).message}`);
    }
  }
  let merchants = deps.db.selectFrom('payment_merchants').select(['merchant_id', 'status', 'payout_account']);
  if (opts.merchantId !== undefined) merchants = merchants.where('merchant_id', '=', opts.merchantId);
  for (const m of await merchants.orderBy('merchant_id').execute()) {
    if (opts.signal?.aborted) return report;
    try {
      const currencies = await unsettledCurrencies(deps.db, m.merchant_id);
      if (currencies.length === 0) {
        if (![...resent].some((k) => k.startsWith(`${m.merchant_id}/`))) emit({ merchantId: m.merchant_id, outcome: 'nothing', message: 'no unsettled payments' });
        continue;
      }
      for (const currency of currencies) {
        const skip = (message: string) => emit({ merchantId: m.merchant_id, currency, outcome: 'skipped', message });
        // A suspended contract is not paid out until the operator activates it again.
        if (m.status !== 'active') skip('the contract is suspended');
        else if (m.payout_account === null) skip('no payout account on the contract');
        else if (linkedAccount(deps.bankLink, currency) === undefined) skip(`no linked bank account in ${currency}`);
        else {
          const c = await createSettlement(deps, m.merchant_id, currency);
          if ('outcome' in c) {
            // A settlement still pending was sent above this run: report it once.
            const quiet = c.outcome.outcome === 'pending' || (c.outcome.outcome === 'nothing' && resent.has(`${m.merchant_id}/${currency}`));
            if (!quiet) emit(c.outcome);
          } else emit(await sendSettlement(deps, fetchImpl, c.created, opts));
        }
      }
    } catch (e) {
      report.errors.push(`merchant ${m.merchant_id}: ${(e as Error).message}`);
    }
  }
  return report;
}

export type ScheduleOptions = {
  fetch?: Fetch;
  signal: AbortSignal;
  log?: LoaderLog;
  everyMinutes: number;
};

/**
 * Runs a settlement now and then every `everyMinutes` until `signal` aborts
 * (`payment serve`, config settleEveryMinutes). Resolves once stopped.
 */
export async function startSettlementSchedule(deps: SettlementDeps, opts: ScheduleOptions): Promise<void> {
  const log = opts.log ?? SILENT;
  if (opts.everyMinutes <= 0) return;
  log.info({ everyMinutes: opts.everyMinutes }, 'settlement schedule started');
  while (!opts.signal.aborted) {
    try {
      const r = await runSettlements(deps, opts.fetch ?? fetch, { signal: opts.signal, log });
      const paid = r.outcomes.filter((o) => o.outcome === 'sent').length;
      if (paid > 0 || r.errors.length > 0) log.info({ sent: paid, errors: r.errors.slice(0, 10) }, 'settlement run');
    } catch (e) {
      log.error({ error: (e as Error).message }, 'settlement run failed');
    }
    await sleep(opts.everyMinutes * 60_000, undefined, { signal: opts.signal }).catch(() => {});
  }
  log.info({}, 'settlement schedule stopped');
}

/**
 * The reports of `merchantId`'s settlements the bank paid (state sent), paid
 * at or after `since`, in the order they were paid, at most `limit`. A report
 * is signed before its transfer is sent: one still pending or refused for
 * good is not a payout and is not shown.
 */
export async function settlementReports(db: Db, merchantId: string, since: string | undefined, limit: number): Promise<{ reports: string[]; more: boolean }> {
  let q = db.selectFrom('payment_settlements').select(['report_jws']).where('merchant_id', '=', merchantId).where('state', '=', 'sent');
  // Stored times are toISOString() (milliseconds); compare like with like.
  // updated_at is when it was marked sent: a settlement paid on a later run is still found.
  if (since !== undefined) q = q.where('updated_at', '>=', new Date(since).toISOString());
  const rows = await q.orderBy('updated_at').orderBy('settlement_id').limit(limit + 1).execute();
  return { reports: rows.slice(0, limit).map((r) => r.report_jws), more: rows.length > limit };
}
