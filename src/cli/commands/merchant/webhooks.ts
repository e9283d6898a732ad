// `quittance merchant webhook add|list|remove|deliveries|redeliver`: the
// endpoints the shop's own backend is told of order.paid, order.refunded and
// settlement.paid at, and what was sent to them. The database only: no
// passphrase, no network (`merchant serve` sends).
import { WEBHOOK_DELIVERY_STATES, type WebhookDeliveryState } from '../../../merchant/db.ts';
import { addEndpoint, listDeliveries, listEndpoints, redeliver, removeEndpoint, type DeliveryView, type EndpointView } from '../../../merchant/webhook-endpoints.ts';
import { EXIT, UsageError, integerOption, type Command } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

const SUBCOMMANDS = {
  add: { args: 'URL', options: ['description'] },
  list: { args: '', options: ['all'] },
  remove: { args: 'ENDPOINT_ID', options: [] },
  deliveries: { args: '', options: ['state', 'limit', 'event'] },
  redeliver: { args: 'EVENT_ID', options: [] },
} as const;
type Subcommand = keyof typeof SUBCOMMANDS;
/** Options every subcommand takes. */
const COMMON = new Set(['data', 'db', 'json', 'help']);

function endpointLine(e: EndpointView): string {
  return `${e.endpointId}  ${e.url}${e.description !== undefined ? `  "${e.description}"` : ''}  added ${e.createdAt}${e.removedAt !== undefined ? `  removed ${e.removedAt}` : ''}`;
}

function deliveryLine(d: DeliveryView): string {
  const last = d.lastError !== undefined ? `  last: ${d.lastError}` : d.lastStatus !== undefined ? `  last: HTTP ${d.lastStatus}` : '';
  const when = d.state === 'delivered' ? `delivered ${d.deliveredAt ?? ''}` : d.state === 'pending' ? `next ${d.nextAttemptAt ?? ''}` : 'gave up';
  return `${d.eventId}  ${d.type.padEnd(15)}  ${d.endpointId}  ${d.state.padEnd(9)}  ${String(d.attempts).padStart(3)} attempt${d.attempts === 1 ? ' ' : 's'}  ${when}${last}`;
}

/** The subcommand and its one positional argument (if it takes one); options of other subcommands are usage errors. */
function parse(values: Record<string, unknown>, positionals: string[]): { sub: Subcommand; arg?: string } {
  const [name, ...rest] = positionals;
  if (name === undefined || !Object.hasOwn(SUBCOMMANDS, name)) throw new UsageError(`give one of ${Object.keys(SUBCOMMANDS).join(', ')}`);
  const sub = name as Subcommand;
  const spec = SUBCOMMANDS[sub];
  const wanted = spec.args === '' ? 0 : 1;
  if (rest.length !== wanted) throw new UsageError(wanted === 0 ? `${sub} takes no argument` : `${sub} takes exactly one ${spec.args}`);
  const allowed = new Set<string>([...COMMON, ...spec.options]);
  for (const [key, v] of Object.entries(values)) if (v !== undefined && !allowed.has(key)) throw new UsageError(`--${key} does not go with ${sub}`);
  return { sub, ...(wanted === 1 ? { arg: rest[0]! } : {}) };
}

export const webhook: Command = {
  name: 'webhook',
  summary: 'webhook endpoints of the shop backend: add, list, remove, deliveries, redeliver',
  args: '(add URL | list | remove ENDPOINT_ID | deliveries | redeliver EVENT_ID)',
  options: {
    data: S.DATA,
    db: S.DB,
    description: { type: 'string', description: 'add: what the endpoint is for (at most 200 characters)', valueName: 'TEXT' },
    all: { type: 'boolean', description: 'list: removed endpoints too' },
    state: { type: 'string', description: `deliveries: only ${WEBHOOK_DELIVERY_STATES.join(' | ')}`, valueName: 'STATE' },
    event: { type: 'string', description: 'deliveries: only those of this event', valueName: 'EVENT_ID' },
    limit: { type: 'string', description: 'deliveries: at most this many, newest first (default 100, at most 1000)', valueName: 'N' },
    json: S.JSON_OUT,
  },
  details: `Subcommands:
  webhook add URL [--description TEXT]
      Adds an http(s) endpoint and prints its signing secret (whsec_…) ONCE: keep it in the shop
      backend, which checks every request's Quittance-Signature header with it. The endpoint gets
      every event from now on (order.paid, order.refunded, settlement.paid), none from before.
  webhook list [--all]
      The endpoints (never their secrets); --all adds removed ones.
  webhook remove ENDPOINT_ID
      Stops sending to it: no new events, and its pending deliveries are given up (failed).
  webhook deliveries [--state STATE] [--event EVENT_ID] [--limit N]
      Each event sent to each endpoint: state (pending, delivered, failed), attempts, the next
      attempt or when it was delivered, and the last answer or error.
  webhook redeliver EVENT_ID
      Queues a delivered or failed event again for its endpoints that still exist (due now,
      retried for another 3 days).

\`merchant serve\` sends what is due every webhookSweepSeconds (merchant.json, default 5): each event
is POSTed until the endpoint answers 2xx, retried 10 s, 20 s, 40 s … apart (at most 1 h), and failed
after 3 days. Delivery is at least once: an endpoint may get an event twice — deduplicate by its id.
Reads and writes the database only; needs no passphrase. See README "Webhooks".`,
  async run({ values, positionals }, io) {
    const { sub, arg } = parse(values, positionals);
    const json = values.json === true;
    const limit = integerOption(values.limit, 'limit', 1, 1000);
    const state = values.state;
    if (state !== undefined && !(WEBHOOK_DELIVERY_STATES as readonly unknown[]).includes(state)) throw new UsageError(`--state must be one of ${WEBHOOK_DELIVERY_STATES.join(', ')}`);
    return S.withMerchantStore(values, async (m) => {
      const deps = { db: m.db, clock: () => new Date() };
      switch (sub) {
        case 'add': {
          const r = await addEndpoint(deps, { url: arg!, ...(typeof values.description === 'string' ? { description: values.description } : {}) });
          if (!r.ok) return failWith(io, json, r);
          printResult(io, json, r.value, `${endpointLine(r.value)}\n  signing secret (shown once, keep it in the shop backend): ${r.value.secret}\n`);
          return EXIT.OK;
        }
        case 'list': {
          const list = await listEndpoints(m.db, { all: values.all === true });
          printResult(io, json, { endpoints: list }, list.length === 0 ? 'no webhook endpoints\n' : list.map(endpointLine).join('\n') + '\n');
          return EXIT.OK;
        }
        case 'remove': {
          const r = await removeEndpoint(deps, arg!);
          if (!r.ok) return failWith(io, json, r);
          printResult(io, json, r.value, `removed ${r.value.endpointId}${r.value.abandoned > 0 ? ` (${r.value.abandoned} pending deliver${r.value.abandoned === 1 ? 'y' : 'ies'} given up)` : ''}\n`);
          return EXIT.OK;
        }
        case 'deliveries': {
          const list = await listDeliveries(m.db, {
            ...(state !== undefined ? { state: state as WebhookDeliveryState } : {}),
            ...(typeof values.event === 'string' ? { eventId: values.event } : {}),
            ...(limit !== undefined ? { limit } : {}),
          });
          printResult(io, json, { deliveries: list }, list.length === 0 ? 'no webhook deliveries\n' : list.map(deliveryLine).join('\n') + '\n');
          return EXIT.OK;
        }
        case 'redeliver': {
          const r = await redeliver(deps, arg!);
          if (!r.ok) return failWith(io, json, r);
          const pending = r.value.alreadyPending > 0 ? `; ${r.value.alreadyPending} still pending` : '';
          printResult(io, json, r.value, `${r.value.eventId}: ${r.value.requeued} deliver${r.value.requeued === 1 ? 'y' : 'ies'} queued again${pending}\n`);
          return EXIT.OK;
        }
      }
    });
  },
};
