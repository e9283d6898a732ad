// Delivering the notifications enqueued by notifications.ts (the outbox):
// what is due is claimed with a lease, sent with the state as it is now,
// and its outcome recorded. See notifications.ts for the contract.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Fetch } from './bank-client.ts';
import type { PaymentDatabase, PaymentNotificationTable } from './db.ts';
import type { PaymentDeps } from './deps.ts';
import { paymentState } from './ecash-payment.ts';
import type { LoaderLog } from './loader.ts';
import { repaymentState } from './repayments.ts';

type Db = Kysely<PaymentDatabase>;

/** How long one process owns a notification it is sending. */
const LEASE_MS = 60_000;
const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 15 * 60_000;
export const NOTIFY_GIVE_UP_HOURS = 24;
const REQUEST_TIMEOUT_MS = 10_000;
const BATCH = 50;

const SILENT: LoaderLog = { info: () => {}, warn: () => {}, error: () => {} };

/** The delay before attempt n + 1 after n failed attempts: 5 s, 10 s, 20 s, … at most 15 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

type Row = PaymentNotificationTable;
type Outcome = 'delivered' | 'failed' | 'retry';
export type DeliveryPass = { delivered: number; failed: number; retried: number };

async function update(db: Db, row: Row, set: Partial<Row>): Promise<boolean> {
  const r = await db
    .updateTable('payment_notifications')
    .set(set)
    .where('merchant_id', '=', row.merchant_id)
    .where('kind', '=', row.kind)
    .where('ref', '=', row.ref)
    .where('event', '=', row.event)
    .where('state', '=', 'pending')
    .where('next_attempt_at', '=', row.next_attempt_at)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}

/** The body to post, the state as it is now; undefined when there is nothing to say (cannot happen for a committed event). */
async function bodyOf(deps: Pick<PaymentDeps, 'db' | 'signer' | 'clock'>, row: Row): Promise<{ path: string; body: unknown } | undefined> {
  if (row.kind === 'payment') {
    const state = await paymentState(deps.db, row.merchant_id, row.ref);
    return state.ok ? { path: 'v1/notifications/payment-state', body: state.value } : undefined;
  }
  const state = await repaymentState(deps, row.merchant_id, row.ref);
  return state.ok ? { path: 'v1/notifications/repayment-state', body: state.value } : undefined;
}

async function send(fetchFn: Fetch, url: URL, body: unknown): Promise<{ outcome: Outcome; error?: string }> {
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      // The contract names where; a redirect elsewhere is not followed (nor retried).
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    return { outcome: 'retry', error: `unreachable: ${(e as Error).message}` };
  }
  const text = await res.text().catch(() => '');
  if (res.ok) return { outcome: 'delivered' };
  let code = '';
  try {
    code = String((JSON.parse(text) as { code?: unknown }).code ?? '');
  } catch {
    // not JSON: the status says enough
  }
  const error = `HTTP ${res.status}${code ? ` ${code}` : ''}`;
  const permanent = (res.status >= 300 && res.status < 500 && res.status !== 408 && res.status !== 429) || res.type === 'opaqueredirect';
  return { outcome: permanent ? 'failed' : 'retry', error };
}

/** One pass over the notifications due now: claims each with a lease, sends it, records the outcome. */
export async function deliverDueNotifications(
  deps: Pick<PaymentDeps, 'db' | 'signer' | 'clock'>,
  fetchFn: Fetch = fetch,
  opts: { log?: LoaderLog; signal?: AbortSignal } = {},
): Promise<DeliveryPass> {
  const log = opts.log ?? SILENT;
  const pass: DeliveryPass = { delivered: 0, failed: 0, retried: 0 };
  const due = await deps.db
    .selectFrom('payment_notifications')
    .selectAll()
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', deps.clock().toISOString())
    .orderBy('next_attempt_at')
    .limit(BATCH)
    .execute();
  for (const row of due) {
    if (opts.signal?.aborted) break;
    const now = deps.clock();
    const lease = new Date(now.getTime() + LEASE_MS).toISOString();
    // Another process took it first: it is theirs until the lease runs out.
    if (!(await update(deps.db, row, { next_attempt_at: lease, updated_at: now.toISOString() }))) continue;
    const claimed: Row = { ...row, next_attempt_at: lease };

    const merchant = await deps.db.selectFrom('payment_merchants').select('notify_url').where('merchant_id', '=', row.merchant_id).executeTakeFirst();
    const content = await bodyOf(deps, row);
    let result: { outcome: Outcome; error?: string };
    if (!merchant?.notify_url) result = { outcome: 'failed', error: 'the contract no longer names a notification URL' };
    else if (!content) result = { outcome: 'failed', error: `no ${row.kind} ${row.ref} to report` };
    else result = await send(fetchFn, new URL(content.path, merchant.notify_url.endsWith('/') ? merchant.notify_url : `${merchant.notify_url}/`), content.body);

    const after = deps.clock();
    const attempts = row.attempts + 1;
    const gaveUp = result.outcome === 'retry' && after.getTime() - Date.parse(row.created_at) >= NOTIFY_GIVE_UP_HOURS * 3_600_000;
    const outcome: Outcome = gaveUp ? 'failed' : result.outcome;
    await update(deps.db, claimed, {
      state: outcome === 'retry' ? 'pending' : outcome,
      attempts,
      next_attempt_at: outcome === 'retry' ? new Date(after.getTime() + retryDelayMs(attempts)).toISOString() : claimed.next_attempt_at,
      last_error: result.error ?? null,
      updated_at: after.toISOString(),
    });
    const ids = { merchantId: row.merchant_id, kind: row.kind, ref: row.ref, event: row.event, attempts };
    if (outcome === 'delivered') {
      pass.delivered++;
    } else if (outcome === 'failed') {
      pass.failed++;
      log.warn({ ...ids, error: result.error }, 'notification not delivered, given up (the merchant still learns the state when it asks)');
    } else {
      pass.retried++;
      log.info({ ...ids, error: result.error }, 'notification not delivered, will retry');
    }
  }
  return pass;
}

/** `payment serve`: a pass every `everySeconds` until `signal` aborts. */
export async function startNotifier(deps: Pick<PaymentDeps, 'db' | 'signer' | 'clock'>, opts: { signal: AbortSignal; everySeconds: number; log?: LoaderLog; fetch?: Fetch }): Promise<void> {
  const log = opts.log ?? SILENT;
  if (opts.everySeconds <= 0) return;
  while (!opts.signal.aborted) {
    try {
      const pass = await deliverDueNotifications(deps, opts.fetch ?? fetch, { log, signal: opts.signal });
      // A full batch: more are due, go on at once.
      if (pass.delivered + pass.failed + pass.retried >= BATCH) continue;
    } catch (e) {
      log.error({ error: (e as Error).message }, 'notification pass failed');
    }
    await sleep(opts.everySeconds * 1000, undefined, { signal: opts.signal }).catch(() => {});
  }
}

/** What the operator sees (`payment notifications`). */
export async function listNotifications(db: Db, state?: Row['state'], limit = 100): Promise<Row[]> {
  let q = db.selectFrom('payment_notifications').selectAll();
  if (state) q = q.where('state', '=', state);
  return q.orderBy('created_at', 'desc').limit(limit).execute();
}
