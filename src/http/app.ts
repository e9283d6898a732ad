// Shared Fastify setup: every Quittance server answers errors in one shape and
// accepts only what it can parse. Nothing here listens or reads the environment.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { HTTP_STATUS, HttpError, type ErrorBody } from './errors.ts';

export type BaseAppOptions = {
  /** Largest accepted request body in bytes (413 above it). */
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  /** Serve HTTPS with these TLS options (certificate, key, client-certificate request). */
  https?: HttpsOptions;
};

// Fastify's own pipeline errors, mapped onto our stable codes.
const FASTIFY_CODES: Record<string, { code: keyof typeof HTTP_STATUS; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'HTTP_BODY_TOO_LARGE', message: 'request body too large' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'HTTP_BODY_TOO_LARGE', message: 'content length does not match the body' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'HTTP_UNSUPPORTED_MEDIA_TYPE', message: 'content type must be application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'HTTP_JSON_MALFORMED', message: 'empty JSON body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'HTTP_JSON_MALFORMED', message: 'malformed JSON body' },
};

export function createBaseApp(opts: BaseAppOptions = {}): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    logger: opts.logger ?? false,
    // Fastify's request log lines carry method, url and id, never bodies.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    ...(opts.https ? { https: opts.https } : {}),
  });

  // Only JSON is accepted: drop Fastify's text/plain parser so anything else is a 415.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((error: unknown, request, reply) => {
    const body = toErrorBody(error);
    if (body.status >= 500) request.log.error({ err: error }, 'unhandled error');
    void reply.code(body.status).type('application/json').send(body.body);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'HTTP_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  return app;
}

function toErrorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: error.toBody() };
  const e = error as { code?: string; statusCode?: number; message?: string };
  if (e.code && FASTIFY_CODES[e.code]) {
    const m = FASTIFY_CODES[e.code]!;
    return { status: HTTP_STATUS[m.code], body: { code: m.code, message: m.message } };
  }
  if (e.statusCode === 429) return { status: 429, body: { code: 'HTTP_RATE_LIMITED', message: e.message ?? 'too many requests' } };
  if (e.code === 'FST_ERR_BAD_STATUS_CODE' || !e.statusCode || e.statusCode >= 500) {
    return { status: 500, body: { code: 'HTTP_INTERNAL', message: 'internal error' } };
  }
  // Other 4xx from Fastify (e.g. prototype poisoning in JSON) are malformed input.
  return { status: 400, body: { code: 'HTTP_JSON_MALFORMED', message: e.message ?? 'bad request' } };
}
