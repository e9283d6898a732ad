// An account's history (with long polling for new entries) and statements.
// Long polling looks at the database every pollIntervalMs: the database is the
// only shared state, so a transfer posted by any server process wakes a
// waiter in any other (DESIGN §6: nothing may assume one process).
import { sql } from 'kysely';
import type { HistoryQuery, HistoryResponse, StatementResponse } from '../protocol/messages/bank.ts';
import { formatAmount } from '../protocol/amount.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { visibleAccount } from './accounts.ts';
import type { Actor } from './auth.ts';
import type { BankAccountTable } from './db.ts';
import type { BankDeps } from './deps.ts';
import type { BankErrorCode } from './errors.ts';
import { formatSigned, toBigInt } from './money.ts';
import { entryView } from './views.ts';

/** A statement lists at most this many entries; ask for a shorter period beyond it. */
export const MAX_STATEMENT_ENTRIES = 10_000;

async function page(deps: BankDeps, account: BankAccountTable, q: HistoryQuery): Promise<HistoryResponse> {
  let query = deps.db
    .selectFrom('bank_entries')
    .selectAll()
    .where('account_id', '=', account.id)
    .where('seq', '>', q.after)
    .orderBy('seq')
    .limit(q.limit);
  if (q.direction === 'incoming') query = query.where('amount', '>', 0n);
  if (q.direction === 'outgoing') query = query.where('amount', '<', 0n);
  const rows = await query.execute();
  return { entries: rows.map((r) => entryView(r, account.currency)), next: rows.length ? rows[rows.length - 1]!.seq : q.after };
}

/**
 * Entries after the cursor `q.after`. With `q.wait` > 0 and nothing new, waits
 * up to min(wait, maxWaitSeconds) for an entry to arrive, then answers (empty
 * when none came). `signal` ends the wait early (the client went away).
 */
export async function history(
  deps: BankDeps,
  actor: Actor,
  accountId: string,
  q: HistoryQuery,
  signal?: AbortSignal,
): Promise<Result<HistoryResponse, BankErrorCode>> {
  const account = await visibleAccount(deps.db, actor, accountId);
  if (!account) return err('BANK_ACCOUNT_NOT_FOUND', 'no such account');
  // A monotonic deadline: the injected clock may stand still in tests.
  const deadline = performance.now() + Math.min(q.wait, deps.config.maxWaitSeconds) * 1000;
  for (;;) {
    const result = await page(deps, account, q);
    if (result.entries.length > 0 || performance.now() >= deadline || signal?.aborted) return ok(result);
    await deps.sleep(Math.min(deps.config.pollIntervalMs, Math.max(0, deadline - performance.now())));
    // The client went away or the server is closing while we slept: its database may be closing too.
    if (signal?.aborted) return ok({ entries: [], next: q.after });
  }
}

/**
 * Balance at `from`, every entry in [from, to), balance at `to`. Balances are
 * sums of entries, so closing = opening + credits − debits holds by
 * construction even if two servers' clocks disagree slightly.
 */
export async function statement(
  deps: BankDeps,
  actor: Actor,
  accountId: string,
  range: { from: string; to: string },
): Promise<Result<StatementResponse, BankErrorCode>> {
  const account = await visibleAccount(deps.db, actor, accountId);
  if (!account) return err('BANK_ACCOUNT_NOT_FOUND', 'no such account');
  const from = new Date(range.from);
  const to = new Date(range.to);
  if (!(from.getTime() <= to.getTime())) return err('BANK_STATEMENT_RANGE_INVALID', '`from` must not be after `to`');
  const fromIso = from.toISOString();
  const toIso = to.toISOString();

  const sumBefore = async (iso: string) =>
    toBigInt(
      (
        await deps.db
          .selectFrom('bank_entries')
          .select(sql<unknown>`cast(coalesce(sum(amount), 0) as bigint)`.as('s'))
          .where('account_id', '=', account.id)
          .where('created_at', '<', iso)
          .executeTakeFirstOrThrow()
      ).s,
    );
  const rows = await deps.db
    .selectFrom('bank_entries')
    .selectAll()
    .where('account_id', '=', account.id)
    .where('created_at', '>=', fromIso)
    .where('created_at', '<', toIso)
    .orderBy('seq')
    .limit(MAX_STATEMENT_ENTRIES + 1)
    .execute();
  if (rows.length > MAX_STATEMENT_ENTRIES) {
    return err('BANK_STATEMENT_TOO_LARGE', `more than ${MAX_STATEMENT_ENTRIES} entries in this period; ask for a shorter one`);
  }
  const opening = await sumBefore(fromIso);
  let credits = 0n;
  let debits = 0n;
  for (const r of rows) {
    if (r.amount > 0n) credits += r.amount;
    else debits -= r.amount;
  }
  const cur = account.currency;
  return ok({
    accountId: account.id,
    currency: cur,
    from: fromIso,
    to: toIso,
    openingBalance: formatSigned(cur, opening),
    closingBalance: formatSigned(cur, opening + credits - debits),
    totalCredits: formatAmount({ currency: cur, minor: credits }),
    totalDebits: formatAmount({ currency: cur, minor: debits }),
    entries: rows.map((r) => entryView(r, cur)),
  });
}
