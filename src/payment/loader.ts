// The loader (DESIGN §4 "loading"): watches the payment server's own bank
// account(s) and turns every incoming transfer into exactly one effect.
//
//   subject = a reserve key      → bank:CUR → reserve:PUB   ("load:<account>:<seq>")
//   anything else                → bank:CUR → suspense:CUR  ("received:<account>:<seq>")
//                                  and a bounce: the money goes back to the sender
//
// Exactly once, however many processes watch the same account: the bank
// numbers an account's entries 1, 2, 3 … (the cursor), and each entry is
// handled in ONE transaction that inserts its (account, seq) row into
// payment_bank_incoming. A second process handling the same entry collides on
// that primary key and its whole transaction (ledger included) rolls back.
//
// Bounces are sent back through the bank with the bounce id as the transfer
// id, so a repeat after a crash or by another process is the same transfer at
// the bank (idempotent by (from, transferId)). The money is held in suspense
// (a pending transfer) while the bank is asked, posted when it paid, voided
// when it refused for good; then it stays in suspense for the operator.
//
// Two kinds of entry are kept for the operator instead (state `failed` at
// once, never sent): a transfer whose subject is one of our own returns
// ("returned: …"), so two servers bouncing to each other cannot pass the money
// back and forth forever; and an entry whose amount is not a positive amount
// in the account's currency (a bank answer we cannot book), so one bad entry
// does not stop the cursor for good.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { formatAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import type { EntryView } from '../protocol/messages/bank.ts';
import { withRetry } from '../store/index.ts';
import { incomingHistory, sendBankTransfer, type BankCall, type Fetch } from './bank-client.ts';
import type { PaymentBounceTable, PaymentDatabase } from './db.ts';
import type { BankLink, PaymentDeps } from './deps.ts';
import { createPending, ensureAccount, ledgerAccount, postPending, postTransfer, voidPending } from './ledger.ts';
import { reserveKeyProblem } from './reserves.ts';

type Db = Kysely<PaymentDatabase>;
type LinkedAccount = BankLink['accounts'][number];

export type LoaderDeps = Pick<PaymentDeps, 'db' | 'clock' | 'isUniqueViolation' | 'bankLink'>;

/** Fastify's (pino's) logger fits; so does a test's collector. Log ids and codes, never tokens. */
export type LoaderLog = {
  info: (obj: Record<string, unknown>, msg: string) => void;
  warn: (obj: Record<string, unknown>, msg: string) => void;
  error: (obj: Record<string, unknown>, msg: string) => void;
};

const SILENT: LoaderLog = { info: () => {}, warn: () => {}, error: () => {} };

export type PollOptions = {
  /** How long the bank may hold each history request when there is nothing new (default 0: answer at once). */
  waitSeconds?: number;
  signal?: AbortSignal;
  log?: LoaderLog;
};

export type PollReport = {
  credited: number;
  bounced: number;
  /** Entries kept for the operator, not sent back: returns of returns, amounts we cannot book. */
  quarantined: number;
  /** Entries another poll (or process) had already handled. */
  skipped: number;
  bouncesSent: number;
  bouncesFailed: number;
  /** Infrastructure problems (bank unreachable, 5xx): the loop backs off. */
  errors: string[];
};

export const loadTransferId = (bankAccount: string, seq: number) => `load:${bankAccount}:${seq}`;
export const receivedTransferId = (bankAccount: string, seq: number) => `received:${bankAccount}:${seq}`;
/** The bounce row's id, its pending ledger transfer's id and the bank transfer id of the money sent back. */
export const bounceId = (bankAccount: string, seq: number) => `bounce:${bankAccount}:${seq}`;

function emptyReport(): PollReport {
  return { credited: 0, bounced: 0, quarantined: 0, skipped: 0, bouncesSent: 0, bouncesFailed: 0, errors: [] };
}

function merge(into: PollReport, r: PollReport): void {
  into.credited += r.credited;
  into.bounced += r.bounced;
  into.quarantined += r.quarantined;
  into.skipped += r.skipped;
  into.bouncesSent += r.bouncesSent;
  into.bouncesFailed += r.bouncesFailed;
  into.errors.push(...r.errors);
}

// ---------------------------------------------------------------- incoming entries

async function readCursor(db: Db, bankAccount: string): Promise<number> {
  const row = await db.selectFrom('payment_bank_cursors').select('last_seq').where('bank_account', '=', bankAccount).executeTakeFirst();
  return row?.last_seq ?? 0;
}

/** Never backwards: two processes finishing out of order keep the larger cursor. */
async function advanceCursor(db: Db, account: LinkedAccount, seq: number, now: Date): Promise<void> {
  const at = now.toISOString();
  await db
    .insertInto('payment_bank_cursors')
    .values({ bank_account: account.accountId, currency: account.currency, last_seq: 0, updated_at: at })
    .onConflict((oc) => oc.column('bank_account').doNothing())
    .execute();
  await db.updateTable('payment_bank_cursors').set({ last_seq: seq, updated_at: at }).where('bank_account', '=', account.accountId).where('last_seq', '<', seq).execute();
}

/** The subject of every bounce we send (sendBounces): a transfer carrying it is a return, never returned again. */
export const RETURN_SUBJECT_PREFIX = 'returned:';

const RETURN_OF_RETURN =
  'not sent back: the transfer is itself a return (subject "returned: …"); returning it could pass the money between two servers forever. It stays in suspense for the operator.';

type EntryOutcome = { outcome: 'credited' | 'bounced' | 'quarantined' | 'skipped'; reason?: string };

/** The entry's row: the once-only guard, so a second handler of this entry fails here and rolls back everything. */
async function insertIncoming(trx: Db, account: LinkedAccount, e: EntryView, money: { currency: string; minor: bigint }, reservePub: string | null, at: string): Promise<void> {
  await trx
    .insertInto('payment_bank_incoming')
    .values({
      bank_account: account.accountId,
      seq: e.seq,
      bank_transfer_id: e.transferId,
      counterparty: e.counterparty,
      currency: money.currency,
      amount: money.minor,
      subject: e.subject,
      outcome: reservePub === null ? 'bounced' : 'credited',
      reserve_pub: reservePub,
      created_at: at,
    })
    .execute();
}

async function insertBounce(
  trx: Db,
  account: LinkedAccount,
  e: EntryView,
  money: { currency: string; minor: bigint },
  reason: string,
  failed: string | undefined,
  at: string,
): Promise<void> {
  await trx
    .insertInto('payment_bounces')
    .values({
      id: bounceId(account.accountId, e.seq),
      bank_account: account.accountId,
      seq: e.seq,
      to_account: e.counterparty,
      currency: money.currency,
      amount: money.minor,
      reason,
      state: failed === undefined ? 'pending' : 'failed',
      attempts: 0,
      last_error: failed ?? null,
      created_at: at,
      updated_at: at,
    })
    .execute();
}

/** Runs an entry's transaction; losing the race for its row to another poll is a skip. */
async function handleOnce(deps: LoaderDeps, account: LinkedAccount, e: EntryView, run: () => Promise<EntryOutcome>): Promise<EntryOutcome> {
  try {
    return await withRetry(run);
  } catch (err) {
    if (!deps.isUniqueViolation(err)) throw err;
    // Another poll handled this entry between our look and our insert.
    const done = await deps.db.selectFrom('payment_bank_incoming').select('seq').where('bank_account', '=', account.accountId).where('seq', '=', e.seq).executeTakeFirst();
    if (!done) throw err;
    return { outcome: 'skipped' };
  }
}

async function seenBefore(trx: Db, account: LinkedAccount, e: EntryView): Promise<boolean> {
  const seen = await trx.selectFrom('payment_bank_incoming').select('outcome').where('bank_account', '=', account.accountId).where('seq', '=', e.seq).executeTakeFirst();
  return seen !== undefined;
}

/**
 * An entry whose amount is not a positive amount in the account's currency:
 * nothing of it can be booked in this account's ledger, but stopping here
 * would stop every later load. A positive amount (in another currency) is
 * recorded as a failed bounce, with no ledger money, for the operator; an
 * amount of zero cannot be recorded (the tables hold positive amounts only)
 * and is skipped with the loudest log the loader has.
 */
async function quarantineEntry(deps: LoaderDeps, account: LinkedAccount, e: EntryView, amount: Amount | undefined): Promise<EntryOutcome> {
  const why =
    amount === undefined
      ? 'the amount cannot be read'
      : amount.currency !== account.currency
        ? `the amount ${e.amount} is not in ${account.currency}, the account's currency`
        : `the amount ${e.amount} is not positive`;
  const recordable = amount !== undefined && amount.minor > 0n;
  const now = deps.clock();
  const at = now.toISOString();
  return handleOnce(deps, account, e, () =>
    deps.db.transaction().execute(async (trx): Promise<EntryOutcome> => {
      if (await seenBefore(trx, account, e)) {
        await advanceCursor(trx, account, e.seq, now);
        return { outcome: 'skipped' };
      }
      if (recordable) {
        await insertIncoming(trx, account, e, amount, null, at);
        await insertBounce(trx, account, e, amount, why, `quarantined: ${why}; nothing was booked and nothing is sent back`, at);
      }
      await advanceCursor(trx, account, e.seq, now);
      return { outcome: 'quarantined', reason: recordable ? why : `${why}; skipped without a record (nothing to book)` };
    }),
  );
}

async function handleEntry(deps: LoaderDeps, account: LinkedAccount, e: EntryView): Promise<EntryOutcome> {
  const amount = parseAmount(e.amount);
  if (!amount.ok || amount.value.currency !== account.currency || amount.value.minor <= 0n) {
    return quarantineEntry(deps, account, e, amount.ok ? amount.value : undefined);
  }
  const money = amount.value;
  const cur = account.currency;
  const keyProblem = await reserveKeyProblem(e.subject);
  const returnOfReturn = keyProblem !== undefined && e.subject.startsWith(RETURN_SUBJECT_PREFIX);
  const now = deps.clock();
  const at = now.toISOString();

  const run = () =>
    deps.db.transaction().execute(async (trx): Promise<EntryOutcome> => {
      if (await seenBefore(trx, account, e)) {
        await advanceCursor(trx, account, e.seq, now);
        return { outcome: 'skipped' };
      }
      let reason = keyProblem;
      if (reason === undefined) {
        // The first load fixes the reserve's currency; a concurrent first load
        // of the same reserve in another transaction meets this conflict.
        await trx
          .insertInto('payment_reserves')
          .values({ reserve_pub: e.subject, currency: cur, created_at: at })
          .onConflict((oc) => oc.column('reserve_pub').doNothing())
          .execute();
        const reserve = await trx.selectFrom('payment_reserves').select('currency').where('reserve_pub', '=', e.subject).executeTakeFirstOrThrow();
        if (reserve.currency !== cur) reason = `the reserve is in ${reserve.currency}, not ${cur}`;
      }
      await insertIncoming(trx, account, e, money, reason === undefined ? e.subject : null, at);
      const bank = ledgerAccount.bank(cur);
      await ensureAccount(trx, bank, cur, 'bank', now);
      if (reason === undefined) {
        const reserve = ledgerAccount.reserve(e.subject);
        await ensureAccount(trx, reserve, cur, 'reserve', now);
        if (!(await postTransfer(trx, { id: loadTransferId(account.accountId, e.seq), debit: bank, credit: reserve, currency: cur, amount: money.minor, reason: 'load' }, now))) {
          throw new Error('ledger refused a load from the bank mirror');
        }
      } else {
        const suspense = ledgerAccount.suspense(cur);
        await ensureAccount(trx, suspense, cur, 'suspense', now);
        if (!(await postTransfer(trx, { id: receivedTransferId(account.accountId, e.seq), debit: bank, credit: suspense, currency: cur, amount: money.minor, reason: 'bounce' }, now))) {
          throw new Error('ledger refused a bounce from the bank mirror');
        }
        await insertBounce(trx, account, e, money, reason, returnOfReturn ? RETURN_OF_RETURN : undefined, at);
      }
      await advanceCursor(trx, account, e.seq, now);
      if (reason === undefined) return { outcome: 'credited' };
      return returnOfReturn ? { outcome: 'quarantined', reason: RETURN_OF_RETURN } : { outcome: 'bounced', reason };
    });

  return handleOnce(deps, account, e, run);
}

async function pollAccount(deps: LoaderDeps, link: BankLink, account: LinkedAccount, fetchImpl: Fetch, opts: PollOptions, log: LoaderLog): Promise<PollReport> {
  const report = emptyReport();
  const after = await readCursor(deps.db, account.accountId);
  const page = await incomingHistory(fetchImpl, link, { accountId: account.accountId, after, waitSeconds: opts.waitSeconds ?? 0 }, opts.signal);
  if (page.kind !== 'ok') {
    if (!opts.signal?.aborted) report.errors.push(`history of ${account.accountId}: ${describe(page)}`);
    return report;
  }
  for (const e of page.value.entries) {
    // The cursor only moves past entries handled; a failure stops the page here.
    if (e.direction !== 'incoming' || e.seq <= after) continue;
    try {
      const r = await handleEntry(deps, account, e);
      if (r.outcome === 'credited') {
        report.credited++;
        log.info({ bankAccount: account.accountId, seq: e.seq, amount: e.amount }, 'load credited');
      } else if (r.outcome === 'bounced') {
        report.bounced++;
        log.warn({ bankAccount: account.accountId, seq: e.seq, amount: e.amount, reason: r.reason }, 'incoming transfer names no usable reserve; returning it');
      } else if (r.outcome === 'quarantined') {
        report.quarantined++;
        log.error({ bankAccount: account.accountId, seq: e.seq, amount: e.amount, reason: r.reason }, 'incoming bank entry quarantined: kept for the operator, not sent back');
      } else {
        report.skipped++;
      }
    } catch (err) {
      report.errors.push(`entry ${account.accountId}#${e.seq}: ${(err as Error).message}`);
      break;
    }
  }
  return report;
}

// ---------------------------------------------------------------- bounces

function describe(r: Exclude<BankCall<unknown>, { kind: 'ok' }>): string {
  return r.kind === 'refused' ? `${r.status} ${r.code}${r.message ? `: ${r.message}` : ''}` : r.message;
}

/**
 * A refusal the same request will meet again. Credentials (401/403), rate
 * limits and our own account not being visible are configuration or load
 * problems: keep the money held and try later.
 */
function isPermanent(r: Extract<BankCall<unknown>, { kind: 'refused' }>): boolean {
  return ![401, 403, 408, 429].includes(r.status) && r.code !== 'BANK_ACCOUNT_NOT_FOUND';
}

/** Holds the bounced money (suspense → bank, pending) once, before the bank is asked. */
async function holdBounce(deps: LoaderDeps, b: PaymentBounceTable): Promise<void> {
  const exists = await deps.db.selectFrom('payment_ledger_transfers').select('id').where('id', '=', b.id).executeTakeFirst();
  if (exists) return;
  const now = deps.clock();
  await withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      // Lock the bounce row first (PostgreSQL; SQLite writers are serial
      // anyway): two processes holding the same bounce at once would otherwise
      // both debit suspense, and the loser could find it short before its
      // duplicate id is refused.
      await trx.updateTable('payment_bounces').set((eb) => ({ updated_at: eb.ref('updated_at') })).where('id', '=', b.id).execute();
      if (await trx.selectFrom('payment_ledger_transfers').select('id').where('id', '=', b.id).executeTakeFirst()) return;
      const held = await createPending(trx, { id: b.id, debit: ledgerAccount.suspense(b.currency), credit: ledgerAccount.bank(b.currency), currency: b.currency, amount: b.amount, reason: 'bounce' }, now);
      if (!held) throw new Error(`suspense:${b.currency} does not cover bounce ${b.id}`);
    }),
  );
}

/**
 * Runs a bounce's settling transaction again when it meets a unique violation:
 * another process resolved the same hold (or booked its late payment) between
 * our look and our insert. Run again, the transaction sees that row and does
 * what is left; nothing is assumed about what the other process did.
 */
async function settleAgainOnConflict(deps: LoaderDeps, settle: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await withRetry(settle);
      return;
    } catch (err) {
      if (!deps.isUniqueViolation(err) || attempt >= 3) throw err;
    }
  }
}

async function settleSent(deps: LoaderDeps, b: PaymentBounceTable): Promise<void> {
  const now = deps.clock();
  const late = `${b.id}:sent-late`;
  await settleAgainOnConflict(deps, () =>
    deps.db.transaction().execute(async (trx) => {
      const r = await postPending(trx, b.id, `${b.id}:sent`, now);
      if (r === 'unknown') throw new Error(`bounce ${b.id} has no held money`);
      if (r === 'already_resolved') {
        const resolution = await trx.selectFrom('payment_ledger_transfers').select('flow').where('pending_id', '=', b.id).executeTakeFirstOrThrow();
        // Another process was refused and gave the money up while the bank
        // accepted our copy of the same transfer: the money did leave.
        const booked = await trx.selectFrom('payment_ledger_transfers').select('id').where('id', '=', late).executeTakeFirst();
        if (resolution.flow === 'void_pending' && !booked) {
          const moved = await postTransfer(trx, { id: late, debit: ledgerAccount.suspense(b.currency), credit: ledgerAccount.bank(b.currency), currency: b.currency, amount: b.amount, reason: 'bounce' }, now);
          if (!moved) throw new Error(`suspense:${b.currency} no longer covers bounce ${b.id}, which the bank paid`);
        }
      }
      await trx
        .updateTable('payment_bounces')
        .set((eb) => ({ state: 'sent', attempts: eb('attempts', '+', 1), last_error: null, updated_at: now.toISOString() }))
        .where('id', '=', b.id)
        .where('state', '<>', 'sent')
        .execute();
    }),
  );
}

async function settleFailed(deps: LoaderDeps, b: PaymentBounceTable, why: string): Promise<void> {
  const now = deps.clock();
  await settleAgainOnConflict(deps, () =>
    deps.db.transaction().execute(async (trx) => {
      const r = await voidPending(trx, b.id, `${b.id}:void`, now);
      if (r === 'unknown') throw new Error(`bounce ${b.id} has no held money`);
      // Only a bounce nobody settled yet becomes failed (a concurrent success wins).
      await trx
        .updateTable('payment_bounces')
        .set((eb) => ({ state: 'failed', attempts: eb('attempts', '+', 1), last_error: why, updated_at: now.toISOString() }))
        .where('id', '=', b.id)
        .where('state', '=', 'pending')
        .execute();
    }),
  );
}

async function sendBounces(deps: LoaderDeps, link: BankLink, account: LinkedAccount, fetchImpl: Fetch, opts: PollOptions, log: LoaderLog): Promise<PollReport> {
  const report = emptyReport();
  const pending = await deps.db
    .selectFrom('payment_bounces')
    .selectAll()
    .where('state', '=', 'pending')
    .where('bank_account', '=', account.accountId)
    .orderBy('seq')
    .limit(100)
    .execute();
  for (const b of pending) {
    if (opts.signal?.aborted) break;
    try {
      await holdBounce(deps, b);
      const sent = await sendBankTransfer(
        fetchImpl,
        link,
        { transferId: b.id, from: b.bank_account, to: b.to_account, amount: formatAmount({ currency: b.currency, minor: b.amount }), subject: `${RETURN_SUBJECT_PREFIX} ${b.reason}` },
        opts.signal,
      );
      if (sent.kind === 'ok') {
        await settleSent(deps, b);
        report.bouncesSent++;
        log.info({ bounceId: b.id, to: b.to_account }, 'bounce sent back');
      } else if (sent.kind === 'refused' && isPermanent(sent)) {
        await settleFailed(deps, b, `${sent.code}: ${sent.message}`.slice(0, 500));
        report.bouncesFailed++;
        log.error({ bounceId: b.id, code: sent.code }, 'the bank refused to send a bounce back; the money stays in suspense for the operator');
      } else {
        if (opts.signal?.aborted) break;
        const why = describe(sent);
        await deps.db
          .updateTable('payment_bounces')
          .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: why.slice(0, 500), updated_at: deps.clock().toISOString() }))
          .where('id', '=', b.id)
          .where('state', '=', 'pending')
          .execute();
        report.errors.push(`bounce ${b.id}: ${why}`);
      }
    } catch (err) {
      report.errors.push(`bounce ${b.id}: ${(err as Error).message}`);
    }
  }
  return report;
}

// ---------------------------------------------------------------- rounds and the loop

/**
 * One round over every linked account (in parallel): read new incoming
 * entries (holding the request up to `waitSeconds` when there are none),
 * handle each, then send the account's pending bounces. Problems with the
 * bank or one entry are reported in `errors`, never thrown.
 */
export async function pollOnce(deps: LoaderDeps, fetchImpl: Fetch, opts: PollOptions = {}): Promise<PollReport> {
  const report = emptyReport();
  const link = deps.bankLink;
  if (!link) {
    report.errors.push('no bank link (quittance payment link-bank)');
    return report;
  }
  const log = opts.log ?? SILENT;
  const rounds = await Promise.all(
    link.accounts.map(async (account) => {
      const r = emptyReport();
      try {
        merge(r, await pollAccount(deps, link, account, fetchImpl, opts, log));
        merge(r, await sendBounces(deps, link, account, fetchImpl, opts, log));
      } catch (err) {
        r.errors.push(`${account.accountId}: ${(err as Error).message}`);
      }
      return r;
    }),
  );
  for (const r of rounds) merge(report, r);
  return report;
}

export type LoaderOptions = {
  fetch?: Fetch;
  signal: AbortSignal;
  log?: LoaderLog;
  /** Long-poll wait per round (default 25 s; the bank caps it at its own maximum). */
  waitSeconds?: number;
  /** Pause after a failed round, doubled each time up to maxBackoffMs (defaults 1 s and 60 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
};

/**
 * Runs rounds until `signal` aborts; resolves once stopped. A round with
 * errors is followed by a growing pause, so an unreachable bank is not
 * hammered; the first good round resets it.
 */
export async function startLoader(deps: LoaderDeps, opts: LoaderOptions): Promise<void> {
  const log = opts.log ?? SILENT;
  const min = opts.minBackoffMs ?? 1000;
  const max = opts.maxBackoffMs ?? 60_000;
  const wait = opts.waitSeconds ?? 25;
  let backoff = 0;
  log.info({ accounts: deps.bankLink?.accounts.map((a) => a.accountId) ?? [] }, 'loader started');
  while (!opts.signal.aborted) {
    const started = performance.now();
    let r: PollReport;
    try {
      r = await pollOnce(deps, opts.fetch ?? fetch, { waitSeconds: wait, signal: opts.signal, log });
    } catch (err) {
      r = { ...emptyReport(), errors: [(err as Error).message] };
    }
    if (opts.signal.aborted) break;
    let pause = 0;
    if (r.errors.length > 0) {
      backoff = backoff === 0 ? min : Math.min(backoff * 2, max);
      pause = backoff;
      log.error({ errors: r.errors.slice(0, 10), retryInMs: backoff }, 'loader round failed');
    } else {
      backoff = 0;
      // A bank that ignores `wait` must not turn this loop into a busy one.
      const idle = r.credited + r.bounced + r.quarantined + r.skipped + r.bouncesSent + r.bouncesFailed === 0;
      if (idle && performance.now() - started < 1000) pause = 1000;
    }
    if (pause > 0) await sleep(pause, undefined, { signal: opts.signal }).catch(() => {});
  }
  log.info({}, 'loader stopped');
}
