// The wallet itself: identity, money, loading.
//
//   GET  /api/status                         wallet id, registration, certificate (checked against the CA's CRL now)
//   POST /api/registration {caUrl, displayName, realIdentity, caRootPem?}   submit (or continue) the registration
//   POST /api/registration/refresh           ask the CA once more (pending → approved, checked)
//   GET  /api/balance                        coins per currency, and each purse as its payment server reports it
//   GET  /api/coins[?state=unspent|pending|spent]
//   POST /api/loads {amount, into, paymentUrl?}   bank → payment server → coins (or the purse)
//   POST /api/loads/resume                   finish interrupted loads
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../../http/validate.ts';
import { DisplayName } from '../../protocol/identity.ts';
import { RegistrationRequest } from '../../protocol/messages/ca.ts';
import { parseAmount } from '../../protocol/amount.ts';
import { err, ok } from '../../protocol/result.ts';
import { loadMoney, resumeLoads } from '../../wallet/load.ts';
import { listPurses, loadPurse, registeredPurseBalances, resumePurseLoads } from '../../wallet/purse.ts';
import { resumeRegistration, submitRegistration } from '../../wallet/register.ts';
import { walletBalance, walletCoins } from '../../wallet/views.ts';
import { HttpUrl, sendResult, type RouteContext } from '../deps.ts';
import { daemonStatus } from '../views.ts';

const RegistrationBody = z.strictObject({
  caUrl: HttpUrl,
  displayName: DisplayName,
  realIdentity: RegistrationRequest.shape.realIdentity,
  /** Trust this root (PEM) rather than the one the CA serves (trust on first use). */
  caRootPem: z.string().min(100).max(16 * 1024).optional(),
});

const CoinsQuery = z.strictObject({ state: z.enum(['unspent', 'pending', 'spent']).optional() });

const LoadBody = z.strictObject({
  amount: z.string().min(1).max(40),
  into: z.enum(['coins', 'purse']),
  /** Another payment server than the one the daemon was started with. */
  paymentUrl: HttpUrl.optional(),
});

/** How long `balance` waits for a payment server before reporting that purse as unknown (as the CLI). */
const PURSE_QUERY_TIMEOUT_MS = 10_000;

export function walletRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const w = ctx.wallet;
  const regDeps = { now: ctx.now, fetch: ctx.fetch };

  app.get('/status', async () => daemonStatus(w, ctx));

  app.post('/registration', async (request, reply) => {
    const body = parseOrThrow(RegistrationBody, request.body);
    const r = await submitRegistration(w, { caUrl: body.caUrl, displayName: body.displayName, realIdentity: body.realIdentity, passphrase: ctx.passphrase, ...(body.caRootPem !== undefined ? { caRootPem: body.caRootPem } : {}) }, regDeps);
    return sendResult(reply, r.ok ? ok(await daemonStatus(w, ctx)) : r);
  });

  app.post('/registration/refresh', async (_request, reply) => {
    const r = await resumeRegistration(w, regDeps);
    return sendResult(reply, r.ok ? ok(await daemonStatus(w, ctx)) : r);
  });

  app.get('/balance', async () => {
    const b = await walletBalance(w);
    const purses = await registeredPurseBalances(w, { now: ctx.now, fetch: ctx.fetch, timeoutMs: PURSE_QUERY_TIMEOUT_MS });
    return { ...b, purses };
  });

  app.get('/coins', async (request) => {
    const q = parseOrThrow(CoinsQuery, request.query, 'query');
    return walletCoins(w, q.state === undefined ? {} : { state: q.state });
  });

  app.post('/loads', async (request, reply) => {
    const body = parseOrThrow(LoadBody, request.body);
    const amount = parseAmount(body.amount);
    if (!amount.ok) return reply.code(400).send({ code: amount.code, message: `amount: ${amount.message}` });
    if (amount.value.minor <= 0n) return sendResult(reply, err('WALLETD_AMOUNT_NOT_POSITIVE', 'amount: a load must be positive'));
    const bank = ctx.loading?.bank;
    const paymentUrl = body.paymentUrl ?? ctx.loading?.paymentUrl;
    if (!bank || paymentUrl === undefined) {
      return sendResult(reply, err('WALLETD_LOADING_NOT_CONFIGURED', 'start `quittance wallet serve` with --bank, --account, --payment and the bank token to load money'));
    }
    const deps = { now: ctx.now, fetch: ctx.fetch, seed: ctx.seed, waitTimeoutMs: ctx.loadWaitMs ?? 60_000 };
    const params = { paymentUrl, amount: amount.value, bank };
    if (body.into === 'purse') return sendResult(reply, await loadPurse(w, params, { ...deps, passphrase: ctx.passphrase }), 201);
    return sendResult(reply, await loadMoney(w, params, deps), 201);
  });

  app.post('/loads/resume', async () => {
    const token = ctx.loading?.bank?.token;
    const deps = { now: ctx.now, fetch: ctx.fetch, waitTimeoutMs: ctx.loadWaitMs ?? 60_000 };
    const coins = await resumeLoads(w, token, { ...deps, seed: ctx.seed });
    const purses = (await listPurses(w)).length > 0 ? await resumePurseLoads(w, token, deps) : { resumed: [], failed: [] };
    return { coins, purses };
  });
}
