// Who is operating the CA: a bearer token whose hash is in ca.json, or — over
// mutual TLS — a certificate of role `operator` issued by this CA, checked with
// our own path validation against this CA's current CRL (a revoked operator is
// locked out as soon as the revocation is recorded).
import type { FastifyRequest } from 'fastify';
import { requireBearer } from '../http/admin-auth.ts';
import { clientCertificateChain } from '../http/client-certificate.ts';
import { httpError } from '../http/errors.ts';
import { pemToDer, validatePath, type VerificationCache } from '../protocol/x509/index.ts';
import { currentCrl } from './crl.ts';
import type { CaDeps } from './deps.ts';

/** Returns a label for the audit trail (`decided_by`), or throws a 401/403 HttpError. */
export async function authenticateOperator(deps: CaDeps, request: FastifyRequest, cache?: VerificationCache): Promise<string> {
  if (request.headers.authorization !== undefined) {
    requireBearer(request, deps.config.adminTokenHashes);
    return 'operator-token';
  }
  const chain = clientCertificateChain(request);
  if (!chain) throw httpError('HTTP_AUTH_REQUIRED', 'operator authentication required (Authorization: Bearer …, or an operator certificate over mutual TLS)');

  const rootPem = deps.authority.chainPem[deps.authority.chainPem.length - 1]!;
  const root = pemToDer(rootPem, 'CERTIFICATE');
  if (!root) throw new Error('CA chain does not parse');
  const crl = await currentCrl(deps);
  const result = await validatePath(chain, {
    trustAnchors: [root],
    now: deps.clock(),
    crls: [crl.der],
    crlMaxAgeSeconds: deps.config.crlValidityHours * 3600,
    expectedRoles: ['operator'],
    ...(cache ? { cache } : {}),
  });
  if (!result.ok) {
    // A valid certificate of another party is authenticated but not allowed.
    if (result.code === 'PROTO_CERT_ROLE_MISMATCH') throw httpError('HTTP_FORBIDDEN', 'client certificate is not an operator certificate');
    throw httpError('HTTP_AUTH_INVALID', `client certificate not accepted: ${result.code}`, { code: result.code });
  }
  return `operator:${result.value.identity.partyId}`;
}
