// Sending webhook events (README "Webhooks"): what the outbox (webhooks.ts)
// holds is POSTed to each endpoint until it answers 2xx.
//
// Claiming. Any number of processes may run this on one database. A pass
// reads due pending deliveries, then claims each with ONE conditional UPDATE
// that moves its next_attempt_at from the value read to the end of a lease
// (now + LEASE_MS): of two passes that read the same row, one update matches
// and the other finds nothing, so one process sends it. The outcome is
// written only while that lease is still ours (next_attempt_at = the lease):
// a sender that stalled past its lease lost the row to another and its late
// answer changes nothing. A process that dies mid-attempt leaves the row to
// be taken again when the lease ends — one reason a receiver may see an
// event twice (the other: a 2xx that never reached us). Receivers
// deduplicate by event id.
//
// Retrying. Anything but 2xx (a redirect too) is a failed attempt: after the
// n-th, the next comes 10 s · 2^(n−1) later (at most 1 h) ±25 % jitter, so
// endpoints coming back do not get every retry at the same instant. The
// first attempt that fails 3 days or more after the delivery was queued marks
// it failed; `merchant webhook redeliver` queues it again.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely, Updateable } from 'kysely';
import type { MerchantDatabase, MerchantWebhookDeliveryTable, WebhookEventType } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import type { SweepLog } from './settle.ts';
import { EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, signWebhook } from './webhook-signature.ts';

export const REQUEST_TIMEOUT_MS = 10_000;
/** Longer than a request may take, so a live sender never loses its row. */
export const LEASE_MS = 60_000;
export const FIRST_RETRY_MS = 10_000;
export const MAX_RETRY_MS = 60 * 60_000;
export const GIVE_UP_AFTER_MS = 3 * 24 * 60 * 60_000;
/** Deliveries claimed and sent at once by one pass. */
const BATCH = 20;
/** Batches per pass at most: a pass ends even if the queue never empties. */
const MAX_BATCHES = 50;
const MAX_ERROR_CHARS = 200;

export type WebhookDeliveryDeps = {
  db: Kysely<MerchantDatabase>;
  clock: () => Date;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Uniform in [0, 1), for the jitter; default Math.random. */
  random?: () => number;
};

export type PassOutcome = { attempted: number; delivered: number; retrying: number; failed: number };

type Claimed = { eventId: string; endpointId: string; type: WebhookEventType; url: string; secret: string; payload: string; queuedAt: string; attempts: number; lease: string };

type Attempt = { ok: true; status: number } | { ok: false; status?: number; error: string };

/** The wait after the `failures`-th failed attempt: 10 s · 2^(failures−1), at most 1 h, ±25 %. */
export function retryDelayMs(failures: number, random: () => number): number {
  if (!Number.isInteger(failures) || failures < 1) throw new TypeError('failures: expected an integer >= 1');
  const base = Math.min(FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 20), MAX_RETRY_MS);
  return Math.round(base * (0.75 + 0.5 * random()));
}

/**
 * Claims up to `limit` deliveries due at `now` for endpoints not removed.
 * Each returned row is this caller's until `lease` (see the file comment).
 */
export async function claimDue(db: Kysely<MerchantDatabase>, now: Date, limit: number = BATCH): Promise<Claimed[]> {
  const at = now.toISOString();
  const lease = new Date(now.getTime() + LEASE_MS).toISOString();
  const due = await db
    .selectFrom('merchant_webhook_deliveries as d')
    .innerJoin('merchant_webhook_endpoints as e', 'e.endpoint_id', 'd.endpoint_id')
    .innerJoin('merchant_webhook_events as v', 'v.event_id', 'd.event_id')
    .select(['d.event_id', 'd.endpoint_id', 'd.next_attempt_at', 'd.attempts', 'd.created_at', 'e.url', 'e.secret', 'v.type', 'v.payload'])
    .where('d.state', '=', 'pending')
    .where('d.next_attempt_at', '<=', at)
    .where('e.disabled_at', 'is', null)
    .orderBy('d.next_attempt_at')
    .orderBy('d.event_id')
    .limit(limit)
    .execute();
  const claimed: Claimed[] = [];
  for (const row of due) {
    const taken = await db
      .updateTable('merchant_webhook_deliveries')
      .set({ next_attempt_at: lease })
      .where('event_id', '=', row.event_id)
      .where('endpoint_id', '=', row.endpoint_id)
      .where('state', '=', 'pending')
      .where('next_attempt_at', '=', row.next_attempt_at)
      .executeTakeFirst();
    if (taken.numUpdatedRows === 0n) continue; // another sender has it
    claimed.push({
      eventId: row.event_id,
      endpointId: row.endpoint_id,
      type: row.type,
      url: row.url,
      secret: row.secret,
      payload: row.payload,
      queuedAt: row.created_at,
      attempts: Number(row.attempts),
      lease,
    });
  }
  return claimed;
}

/** Why a request failed, in words that carry no body, header or secret. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return 'error';
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = (e as { cause?: { code?: unknown } }).cause;
  const code = cause && typeof cause.code === 'string' ? cause.code : undefined;
  return `${e.name}${code ? ` ${code}` : ''}`.slice(0, MAX_ERROR_CHARS);
}

/** One POST of the stored bytes, signed now. The answer's body is not read. */
async function send(deps: WebhookDeliveryDeps, d: Claimed, signal?: AbortSignal): Promise<Attempt> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  try {
    const res = await (deps.fetch ?? fetch)(d.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Quittance-Webhooks/1',
        [SIGNATURE_HEADER]: signWebhook(d.secret, d.payload, deps.clock()),
        [EVENT_ID_HEADER]: d.eventId,
        [EVENT_TYPE_HEADER]: d.type,
      },
      body: d.payload,
      // A redirect is not an acknowledgement, and following one would send the signed event elsewhere.
      redirect: 'manual',
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
    });
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, status: res.status, error: `HTTP ${res.status}` };
  } catch (e) {
    return { ok: false, error: describe(e) };
  }
}

/** Writes the outcome while the lease is still ours; returns what became of the delivery. */
async function record(deps: WebhookDeliveryDeps, d: Claimed, attempt: Attempt): Promise<'delivered' | 'retrying' | 'failed' | 'lost'> {
  const now = deps.clock();
  const attempts = d.attempts + 1;
  let outcome: 'delivered' | 'retrying' | 'failed';
  let values: Updateable<MerchantWebhookDeliveryTable>;
  if (attempt.ok) {
    outcome = 'delivered';
    values = { state: 'delivered', attempts, delivered_at: now.toISOString(), last_status: attempt.status, last_error: null };
  } else {
    const giveUp = now.getTime() - Date.parse(d.queuedAt) >= GIVE_UP_AFTER_MS;
    outcome = giveUp ? 'failed' : 'retrying';
    const next = giveUp ? now : new Date(now.getTime() + retryDelayMs(attempts, deps.random ?? Math.random));
    values = { state: giveUp ? 'failed' : 'pending', attempts, next_attempt_at: next.toISOString(), last_status: attempt.status ?? null, last_error: attempt.error.slice(0, MAX_ERROR_CHARS) };
  }
  const r = await deps.db
    .updateTable('merchant_webhook_deliveries')
    .set(values)
    .where('event_id', '=', d.eventId)
    .where('endpoint_id', '=', d.endpointId)
    .where('state', '=', 'pending')
    .where('next_attempt_at', '=', d.lease)
    .executeTakeFirst();
  return r.numUpdatedRows === 0n ? 'lost' : outcome;
}

/**
 * One pass: claims what is due, sends it (a batch at a time, in parallel)
 * and records each outcome, until nothing is due or `signal` aborts.
 */
export async function deliverDueOnce(deps: WebhookDeliveryDeps, log?: SweepLog, signal?: AbortSignal): Promise<PassOutcome> {
  const total: PassOutcome = { attempted: 0, delivered: 0, retrying: 0, failed: 0 };
  for (let batch = 0; batch < MAX_BATCHES && !signal?.aborted; batch++) {
    const claimed = await claimDue(deps.db, deps.clock(), BATCH);
    await Promise.all(
      claimed.map(async (d) => {
        const attempt = await send(deps, d, signal);
        // Cut short by shutdown: not the endpoint's failure. The lease runs out and the next sender tries again.
        if (!attempt.ok && signal?.aborted) return;
        const outcome = await record(deps, d, attempt);
        total.attempted++;
        const ids = { eventId: d.eventId, endpointId: d.endpointId, type: d.type, attempt: d.attempts + 1, ...(attempt.status !== undefined ? { status: attempt.status } : {}) };
        if (outcome === 'delivered') total.delivered++;
        else if (outcome === 'retrying') total.retrying++;
        else if (outcome === 'failed') total.failed++;
        if (outcome === 'delivered') log?.info(ids, 'webhook delivered');
        else if (outcome === 'lost') log?.warn(ids, 'webhook attempt outlived its lease; its outcome was not recorded');
        else log?.warn({ ...ids, error: attempt.ok ? undefined : attempt.error, outcome }, outcome === 'failed' ? 'webhook failed for good after 3 days' : 'webhook attempt failed; will retry');
      }),
    );
    if (claimed.length < BATCH) break;
  }
  return total;
}

/**
 * `merchant serve`: a pass at start and then every webhookSweepSeconds
 * (merchant.json, default 5; 0 = off) until `signal` aborts. A failed pass
 * (database down) is logged and the next one runs as usual.
 */
export async function runWebhookDelivery(deps: WebhookDeliveryDeps & Pick<MerchantDeps, 'config'>, opts: { signal: AbortSignal; log: SweepLog }): Promise<void> {
  const everyMs = deps.config.webhookSweepSeconds * 1000;
  if (everyMs === 0) return;
  while (!opts.signal.aborted) {
    try {
      await deliverDueOnce(deps, opts.log, opts.signal);
    } catch (e) {
      opts.log.warn({ error: e instanceof Error ? `${e.name}: ${e.message}` : 'error' }, 'webhook delivery pass failed');
    }
    try {
      await sleep(everyMs, undefined, { signal: opts.signal });
    } catch {
      return; // aborted
    }
  }
}
