// Opening and reading accounts, history (long polling) and statements.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { httpError } from '../../http/errors.ts';
import { parseOrThrow } from '../../http/validate.ts';
import { AccountId, Holder, HistoryQuery, OpenAccountRequest, StatementQuery } from '../../protocol/messages/bank.ts';
import { getAccount, listAccounts, openAccount } from '../accounts.ts';
import { authenticate } from '../auth.ts';
import type { BankDeps } from '../deps.ts';
import { history, statement } from '../history.ts';
import { sendResult } from './send.ts';

export const IdParam = z.strictObject({ id: AccountId });
export const ListQuery = z.strictObject({ holder: Holder.optional() });

export function accountRoutes(app: FastifyInstance, deps: BankDeps): void {
  // A long poll must not hold up shutdown for its whole wait: closing the
  // server answers every waiting poll with what it has (nothing).
  const closing = new AbortController();
  app.addHook('preClose', async () => {
    closing.abort();
  });

  void app.register(async (scoped) => {
    // Self-service opening is the one thing an anonymous client can make the
    // bank store; limit it per client address.
    if (deps.config.selfService) {
      await scoped.register(rateLimit, {
        max: deps.config.selfServiceRateLimit.max,
        timeWindow: deps.config.selfServiceRateLimit.windowSeconds * 1000,
        allowList: (request: FastifyRequest) => request.headers.authorization !== undefined,
      });
    }
    scoped.post('/v1/accounts', async (request, reply) => {
      // Authentication runs before the body is looked at.
      const actor = await authenticate(deps, request, deps.config.selfService);
      const body = parseOrThrow(OpenAccountRequest, request.body);
      const holder = body.holder ?? (actor?.kind === 'holder' ? actor.holder : undefined);
      if (holder === undefined) throw httpError('HTTP_SCHEMA_INVALID', 'request body does not match the schema', [{ path: 'holder', message: 'required' }]);
      return sendResult(reply, await openAccount(deps, actor, { ...body, holder }), 201);
    });
  });

  app.get('/v1/accounts', async (request) => {
    const actor = await authenticate(deps, request);
    const q = parseOrThrow(ListQuery, request.query, 'query');
    return { accounts: await listAccounts(deps, actor!, q.holder) };
  });

  app.get('/v1/accounts/:id', async (request, reply) => {
    const actor = await authenticate(deps, request);
    const { id } = parseOrThrow(IdParam, request.params, 'path');
    return sendResult(reply, await getAccount(deps, actor!, id));
  });

  app.get('/v1/accounts/:id/history', async (request, reply) => {
    const actor = await authenticate(deps, request);
    const { id } = parseOrThrow(IdParam, request.params, 'path');
    const q = parseOrThrow(HistoryQuery, request.query, 'query');
    // Stop polling for a client that has gone away.
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    try {
      const result = await history(deps, actor!, id, q, AbortSignal.any([gone.signal, closing.signal]));
      // Answered because the server is closing: a kept-alive socket would hold up close().
      if (closing.signal.aborted) void reply.header('connection', 'close');
      return sendResult(reply, result);
    } finally {
      reply.raw.off('close', onClose);
    }
  });

  app.get('/v1/accounts/:id/statement', async (request, reply) => {
    const actor = await authenticate(deps, request);
    const { id } = parseOrThrow(IdParam, request.params, 'path');
    const q = parseOrThrow(StatementQuery, request.query, 'query');
    return sendResult(reply, await statement(deps, actor!, id, q));
  });
}
