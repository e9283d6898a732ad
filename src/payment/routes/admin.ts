// The operator's read-only view of the payment server (issue 6, the payment
// console): GET /v1/admin/payments | reserves | denominations | merchants |
// settlements | notifications | audit, all behind the operator bearer token
// of payment.json (adminTokenHashes), like POST /v1/admin/settlements/run.
// Each has a CLI twin that reads the database the same way (admin-views.ts):
// the console calls nothing the command line cannot do.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireBearer } from '../../http/admin-auth.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { auditPayment } from '../audit.ts';
import {
  DenominationsQuery,
  listDenominations,
  listNotifications,
  listPayments,
  listReserves,
  listSettlements,
  NotificationsQuery,
  PageQuery,
} from '../admin-views.ts';
import type { PaymentDeps } from '../deps.ts';
import { listMerchants, trustAnchorOf } from '../merchants.ts';

export const AdminMerchant = z.strictObject({
  merchantId: z.string(),
  displayName: z.string(),
  fingerprint: z.string(),
  payoutAccount: z.string().nullable(),
  notifyUrl: z.string().nullable(),
  status: z.enum(['active', 'suspended']),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const AdminMerchantsAnswer = z.strictObject({ merchants: z.array(AdminMerchant) });

export const AuditAnswer = z.strictObject({
  ok: z.boolean(),
  checks: z.array(z.strictObject({ name: z.string(), ok: z.boolean(), problems: z.array(z.string()) })),
});

export const EmptyQuery = z.strictObject({});

export function adminRoutes(app: FastifyInstance, deps: PaymentDeps): void {
  /** Operator token first, then the query: an anonymous caller learns nothing about the parameters. */
  const guarded = <Q extends z.ZodType>(path: string, query: Q, answer: (q: z.infer<Q>) => Promise<unknown>) =>
    app.get(path, async (request: FastifyRequest, reply: FastifyReply) => {
      requireBearer(request, deps.config.adminTokenHashes);
      const q = parseOrThrow(query, request.query ?? {}, 'query');
      void reply.header('cache-control', 'no-store');
      return answer(q);
    });

  guarded('/v1/admin/payments', PageQuery, (q) => listPayments(deps.db, q));
  guarded('/v1/admin/reserves', PageQuery, (q) => listReserves(deps.db, q));
  guarded('/v1/admin/denominations', DenominationsQuery, (q) => listDenominations(deps.db, deps.clock(), { all: q.all === 'true' }));
  guarded('/v1/admin/merchants', EmptyQuery, async () => ({ merchants: await listMerchants(deps.db) }));
  guarded('/v1/admin/settlements', PageQuery, (q) => listSettlements(deps.db, q));
  guarded('/v1/admin/notifications', NotificationsQuery, (q) => listNotifications(deps.db, q));
  // The books checked on this server's own database, refund signatures
  // against its own CA (the root of its chain), as `quittance audit --data`.
  // A violation is a finding, not a failed request: 200 with ok false.
  guarded('/v1/admin/audit', EmptyQuery, () => auditPayment(deps.db, { trustAnchors: [trustAnchorOf(deps.signer.x5c)] }));
}
