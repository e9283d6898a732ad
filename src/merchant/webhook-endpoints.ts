// The operator's side of webhooks (`quittance merchant webhook …`): endpoints
// are added (the secret is shown once), listed without their secret, and
// removed; deliveries are listed and an event sent again. Reads and writes
// the database only: no key, no network.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { HttpUrl, Text } from '../protocol/documents/fields.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import type { MerchantDatabase, WebhookDeliveryState, WebhookEventType } from './db.ts';
import type { MerchantErrorCode } from './errors.ts';

type Db = Kysely<MerchantDatabase>;
type Deps = { db: Db; clock: () => Date };

export const MAX_DESCRIPTION_CHARS = 200;

export type EndpointView = { endpointId: string; url: string; description?: string; createdAt: string; removedAt?: string };
export type AddedEndpoint = EndpointView & { secret: string };

/** `we_` + 96 random bits. */
function newEndpointId(): string {
  return `we_${randomBytes(12).toString('hex')}`;
}

/** 256 random bits; the whole string (prefix included) is the HMAC key, so `openssl dgst -hmac` takes it as printed. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** An http(s) URL without user info or fragment, in canonical form; anything else is refused, not repaired. */
export function parseEndpointUrl(raw: string): Result<string, MerchantErrorCode> {
  let href: string;
  try {
    href = new URL(raw).href;
  } catch {
    return err('MERCHANT_WEBHOOK_URL_INVALID', `${JSON.stringify(raw.slice(0, 100))} is not a URL`);
  }
  const checked = HttpUrl.safeParse(href);
  if (!checked.success) return err('MERCHANT_WEBHOOK_URL_INVALID', `${JSON.stringify(raw.slice(0, 100))}: ${checked.error.issues[0]?.message ?? 'not an http(s) URL'}`);
  return ok(href);
}

function view(row: { endpoint_id: string; url: string; description: string | null; created_at: string; disabled_at: string | null }): EndpointView {
  return {
    endpointId: row.endpoint_id,
    url: row.url,
    ...(row.description !== null ? { description: row.description } : {}),
    createdAt: row.created_at,
    ...(row.disabled_at !== null ? { removedAt: row.disabled_at } : {}),
  };
}

/** A new endpoint: it gets every event from now on (none from before). */
export async function addEndpoint(deps: Deps, input: { url: string; description?: string }): Promise<Result<AddedEndpoint, MerchantErrorCode>> {
  const url = parseEndpointUrl(input.url);
  if (!url.ok) return url;
  if (input.description !== undefined && !Text(MAX_DESCRIPTION_CHARS).safeParse(input.description).success) {
    return err('MERCHANT_WEBHOOK_DESCRIPTION_INVALID', `the description must be 1 to ${MAX_DESCRIPTION_CHARS} characters, without control characters`);
  }
  const row = { endpoint_id: newEndpointId(), url: url.value, secret: newSecret(), description: input.description ?? null, created_at: deps.clock().toISOString(), disabled_at: null };
  await deps.db.insertInto('merchant_webhook_endpoints').values(row).execute();
  return ok({ ...view(row), secret: row.secret });
}

/** Endpoints, oldest first, never with their secret; removed ones only with `all`. */
export async function listEndpoints(db: Db, opts: { all?: boolean } = {}): Promise<EndpointView[]> {
  let q = db.selectFrom('merchant_webhook_endpoints').select(['endpoint_id', 'url', 'description', 'created_at', 'disabled_at']);
  if (opts.all !== true) q = q.where('disabled_at', 'is', null);
  return (await q.orderBy('created_at').orderBy('endpoint_id').execute()).map(view);
}

/**
 * Removes an endpoint: it gets no new events, and what was still pending for
 * it is given up (failed, "endpoint removed") in the same transaction, so no
 * sender picks it up afterwards. Its deliveries stay listed.
 */
export async function removeEndpoint(deps: Deps, endpointId: string): Promise<Result<{ endpointId: string; abandoned: number }, MerchantErrorCode>> {
  const at = deps.clock().toISOString();
  const abandoned = await withRetry(() =>
    deps.db.transaction().execute(async (trx) => {
      const removed = await trx.updateTable('merchant_webhook_endpoints').set({ disabled_at: at }).where('endpoint_id', '=', endpointId).where('disabled_at', 'is', null).executeTakeFirst();
      if (removed.numUpdatedRows === 0n) return undefined;
      const given = await trx
        .updateTable('merchant_webhook_deliveries')
        .set({ state: 'failed', last_error: 'endpoint removed' })
        .where('endpoint_id', '=', endpointId)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      return Number(given.numUpdatedRows);
    }),
  );
  if (abandoned === undefined) return err('MERCHANT_WEBHOOK_ENDPOINT_NOT_FOUND', `no active webhook endpoint ${endpointId}`);
  return ok({ endpointId, abandoned });
}

export type DeliveryView = {
  eventId: string;
  type: WebhookEventType;
  endpointId: string;
  url: string;
  state: WebhookDeliveryState;
  attempts: number;
  nextAttemptAt?: string;
  lastStatus?: number;
  lastError?: string;
  deliveredAt?: string;
  createdAt: string;
};

/** Deliveries, newest first. */
export async function listDeliveries(db: Db, opts: { state?: WebhookDeliveryState; eventId?: string; limit?: number } = {}): Promise<DeliveryView[]> {
  let q = db
    .selectFrom('merchant_webhook_deliveries as d')
    .innerJoin('merchant_webhook_events as v', 'v.event_id', 'd.event_id')
    .innerJoin('merchant_webhook_endpoints as e', 'e.endpoint_id', 'd.endpoint_id')
    .select(['d.event_id', 'v.type', 'd.endpoint_id', 'e.url', 'd.state', 'd.attempts', 'd.next_attempt_at', 'd.last_status', 'd.last_error', 'd.delivered_at', 'd.created_at']);
  if (opts.state !== undefined) q = q.where('d.state', '=', opts.state);
  if (opts.eventId !== undefined) q = q.where('d.event_id', '=', opts.eventId);
  const rows = await q.orderBy('d.created_at', 'desc').orderBy('d.event_id').orderBy('d.endpoint_id').limit(opts.limit ?? 100).execute();
  return rows.map((r) => ({
    eventId: r.event_id,
    type: r.type,
    endpointId: r.endpoint_id,
    url: r.url,
    state: r.state,
    attempts: Number(r.attempts),
    ...(r.state === 'pending' ? { nextAttemptAt: r.next_attempt_at } : {}),
    ...(r.last_status !== null ? { lastStatus: Number(r.last_status) } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    ...(r.delivered_at !== null ? { deliveredAt: r.delivered_at } : {}),
    createdAt: r.created_at,
  }));
}

/**
 * Sends an event again to the endpoints it was queued for that still exist:
 * delivered and failed deliveries become pending, due now, with a fresh
 * retry window. Pending ones are left as they are (one may be in flight).
 * Endpoints added after the event do not get it.
 */
export async function redeliver(deps: Deps, eventId: string): Promise<Result<{ eventId: string; requeued: number; alreadyPending: number }, MerchantErrorCode>> {
  const event = await deps.db.selectFrom('merchant_webhook_events').select('event_id').where('event_id', '=', eventId).executeTakeFirst();
  if (!event) return err('MERCHANT_WEBHOOK_EVENT_NOT_FOUND', `no webhook event ${eventId}`);
  const at = deps.clock().toISOString();
  const active = deps.db.selectFrom('merchant_webhook_endpoints').select('endpoint_id').where('disabled_at', 'is', null);
  const requeued = await deps.db
    .updateTable('merchant_webhook_deliveries')
    .set({ state: 'pending', attempts: 0, next_attempt_at: at, created_at: at, delivered_at: null, last_status: null, last_error: null })
    .where('event_id', '=', eventId)
    .where('state', 'in', ['delivered', 'failed'])
    .where('endpoint_id', 'in', active)
    .executeTakeFirst();
  const pending = await deps.db
    .selectFrom('merchant_webhook_deliveries')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('event_id', '=', eventId)
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow();
  const n = Number(requeued.numUpdatedRows);
  return ok({ eventId, requeued: n, alreadyPending: Number(pending.n) - n });
}
