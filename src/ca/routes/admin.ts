// Operator endpoints: every route here requires the operator's bearer token.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { ApproveRequest, RejectRequest, RevokeRequest, SerialHex } from '../../protocol/messages/ca.ts';
import { getCertificate, listCertificates, revokeCertificate } from '../certificates.ts';
import type { VerificationCache } from '../../protocol/x509/index.ts';
import type { CaDeps } from '../deps.ts';
import { authenticateOperator } from '../operator-auth.ts';
import {
  approveRegistration,
  getRegistrationForOperator,
  listRegistrations,
  rejectRegistration,
} from '../registrations.ts';
import { sendResult } from './send.ts';

export const IdParam = z.strictObject({ id: z.string().regex(/^reg_[A-Za-z0-9_-]{22}$/, 'registration id') });
export const SerialParam = z.strictObject({ serial: SerialHex });
export const ListQuery = z.strictObject({
  status: z.enum(['pending', 'approved', 'rejected']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export const CertQuery = z.strictObject({
  partyId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function adminRoutes(app: FastifyInstance, deps: CaDeps, cache?: VerificationCache): void {
  void app.register(async (admin) => {
    // Authentication runs before the body is looked at, so an unauthenticated
    // caller learns nothing from schema errors.
    const operators = new WeakMap<object, string>();
    const operatorOf = (request: object) => operators.get(request) ?? 'unknown';
    admin.addHook('onRequest', async (request) => {
      operators.set(request, await authenticateOperator(deps, request, cache));
    });

    admin.get('/v1/admin/registrations', async (request) => {
      const q = parseOrThrow(ListQuery, request.query, 'query');
      return { registrations: await listRegistrations(deps, q.status, q.limit) };
    });

    admin.get('/v1/admin/registrations/:id', async (request, reply) => {
      const { id } = parseOrThrow(IdParam, request.params, 'path');
      return sendResult(reply, await getRegistrationForOperator(deps, id));
    });

    admin.post('/v1/admin/registrations/:id/approve', async (request, reply) => {
      const { id } = parseOrThrow(IdParam, request.params, 'path');
      const body = parseOrThrow(ApproveRequest, request.body);
      return sendResult(reply, await approveRegistration(deps, id, body, operatorOf(request)));
    });

    admin.post('/v1/admin/registrations/:id/reject', async (request, reply) => {
      const { id } = parseOrThrow(IdParam, request.params, 'path');
      const body = parseOrThrow(RejectRequest, request.body);
      return sendResult(reply, await rejectRegistration(deps, id, body.reason, operatorOf(request)));
    });

    admin.get('/v1/admin/certificates', async (request) => {
      const q = parseOrThrow(CertQuery, request.query, 'query');
      return { certificates: await listCertificates(deps, q) };
    });

    admin.get('/v1/admin/certificates/:serial', async (request, reply) => {
      const { serial } = parseOrThrow(SerialParam, request.params, 'path');
      return sendResult(reply, await getCertificate(deps, serial));
    });

    admin.post('/v1/admin/certificates/:serial/revoke', async (request, reply) => {
      const { serial } = parseOrThrow(SerialParam, request.params, 'path');
      const body = parseOrThrow(RevokeRequest, request.body);
      return sendResult(reply, await revokeCertificate(deps, serial, body.reason));
    });
  });
}
