// The CA's HTTP API as OpenAPI 3.1 (GET /openapi.json), built from the schemas
// its routes validate with. A new route is one more `route(…)` entry here
// (how: src/http/openapi.ts); test/http/openapi.test.ts fails until it is.
import { z } from 'zod';
import { lazyDocument, media, openApiDocument, routeBuilder } from '../http/openapi.ts';
import { ApproveRequest, CertificateView, RegistrationRequest, RegistrationView, RejectRequest, RevokeRequest } from '../protocol/messages/ca.ts';
import { CA_STATUS, type CaErrorCode } from './errors.ts';
import { CertQuery, IdParam, ListQuery, SerialParam } from './routes/admin.ts';
import { RegistrationId } from './routes/public.ts';

type Security = 'operatorToken' | 'operatorCertificate';
const route = routeBuilder<CaErrorCode, Security>();
const operator = ['operatorToken', 'operatorCertificate'] as const;

// Documentation only: the handler wraps a list typed by the item schema.
const CertificateList = z.strictObject({ certificates: z.array(CertificateView) });
const CertificateWithPem = CertificateView.extend({ pem: z.string() });

export const caRoutes = [
  route('POST', '/v1/registrations', 'Ask for a certificate: real identity, role, display name and a CSR', {
    tags: ['registration'],
    body: { RegistrationRequest },
    ok: { 201: { RegistrationView } },
    rateLimited: true,
    codes: ['CA_ROLE_NOT_SELF_SERVICE', 'CA_CSR_INVALID', 'CA_CSR_KEY_NOT_ALLOWED', 'CA_CSR_KEY_IN_USE'],
  }),
  route('GET', '/v1/registrations/:id', 'A registration as its applicant sees it; the certificate and chain once approved', {
    tags: ['registration'],
    params: RegistrationId,
    ok: { 200: { RegistrationView } },
    codes: ['CA_REGISTRATION_NOT_FOUND'],
  }),
  route('GET', '/v1/ca/chain', "The CA's certificate chain", {
    tags: ['certificates'],
    ok: { 200: media('application/pem-certificate-chain', 'PEM certificates, the CA first') },
  }),
  route('GET', '/v1/ca/crl', 'The current certificate revocation list (RFC 5280), DER', {
    tags: ['certificates'],
    ok: { 200: media('application/pkix-crl', 'The CRL, DER (RFC 2585)') },
  }),
  route('GET', '/v1/ca/crl.pem', 'The current certificate revocation list, PEM', {
    tags: ['certificates'],
    ok: { 200: media('application/x-pem-file', 'The CRL, PEM') },
  }),
  route('GET', '/v1/admin/registrations', 'Registrations with their real identities, newest first', {
    tags: ['operator'],
    security: operator,
    query: ListQuery,
    ok: { 200: media('application/json', '{ registrations: […] }: each with realIdentity, decision and certificate serial') },
    codes: ['HTTP_FORBIDDEN'],
  }),
  route('GET', '/v1/admin/registrations/:id', 'One registration with its real identity', {
    tags: ['operator'],
    security: operator,
    params: IdParam,
    ok: { 200: media('application/json', 'The registration with realIdentity, decision and certificate serial') },
    codes: ['HTTP_FORBIDDEN', 'CA_REGISTRATION_NOT_FOUND'],
  }),
  route('POST', '/v1/admin/registrations/:id/approve', 'Approve a registration: the certificate is issued', {
    tags: ['operator'],
    security: operator,
    params: IdParam,
    body: { ApproveRequest },
    ok: { 200: { RegistrationView } },
    codes: ['HTTP_FORBIDDEN', 'CA_REGISTRATION_NOT_FOUND', 'CA_REGISTRATION_NOT_PENDING', 'CA_PARTY_ID_TAKEN'],
  }),
  route('POST', '/v1/admin/registrations/:id/reject', 'Reject a registration, with a reason the applicant sees', {
    tags: ['operator'],
    security: operator,
    params: IdParam,
    body: { RejectRequest },
    ok: { 200: { RegistrationView } },
    codes: ['HTTP_FORBIDDEN', 'CA_REGISTRATION_NOT_FOUND', 'CA_REGISTRATION_NOT_PENDING'],
  }),
  route('GET', '/v1/admin/certificates', 'Issued certificates', {
    tags: ['operator'],
    security: operator,
    query: CertQuery,
    ok: { 200: { CertificateList } },
    codes: ['HTTP_FORBIDDEN'],
  }),
  route('GET', '/v1/admin/certificates/:serial', 'One certificate, with its PEM', {
    tags: ['operator'],
    security: operator,
    params: SerialParam,
    ok: { 200: { CertificateWithPem } },
    codes: ['HTTP_FORBIDDEN', 'CA_CERTIFICATE_NOT_FOUND'],
  }),
  route('POST', '/v1/admin/certificates/:serial/revoke', 'Revoke a certificate; the next CRL lists it', {
    tags: ['operator'],
    security: operator,
    params: SerialParam,
    body: { RevokeRequest },
    ok: { 200: { CertificateView } },
    codes: ['HTTP_FORBIDDEN', 'CA_CERTIFICATE_NOT_FOUND', 'CA_CERTIFICATE_ALREADY_REVOKED'],
  }),
];

export const caOpenApi = lazyDocument(() =>
  openApiDocument({
    title: 'Quittance CA',
    description: 'Registration and certification authority: turns a real identity into certificates for every party, publishes revocations.',
    statusOf: CA_STATUS,
    securitySchemes: {
      operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token whose SHA-256 is in ca.json (adminTokenHashes)' },
      operatorCertificate: { type: 'mutualTLS', description: 'An `operator` certificate of this CA, presented over mutual TLS' },
    },
    routes: caRoutes,
  }),
);
