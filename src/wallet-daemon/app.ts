// The wallet daemon (`quittance wallet serve`): the shopper's wallet as a JSON
// API on loopback for the wallet page. createWalletDaemon builds it from a
// plain deps object; it never listens and never reads the environment.
//
// Pipeline: Host → Origin → (for /api) bearer token → size limit → JSON →
// schema → the wallet library, whose stored states make every step safe to
// repeat. Purchases wait for the page's OK/Cancel in purchase sessions.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createBaseApp } from '../http/app.ts';
import { buy } from '../wallet/buy.ts';
import { walletStatus } from '../wallet/views.ts';
import type { WalletDaemonDeps } from './deps.ts';
import { paymentRoutes } from './routes/payments.ts';
import { purchaseRoutes } from './routes/purchases.ts';
import { walletRoutes } from './routes/wallet.ts';
import { guardHostAndOrigin, requireToken } from './security.ts';
import { createSessions, type Sessions } from './sessions.ts';
import { staticRoutes } from './static.ts';

export type WalletDaemon = { app: FastifyInstance; sessions: Sessions };

function realTimers(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  // A waiting prompt or a kept session must not keep the process alive.
  t.unref();
  return () => clearTimeout(t);
}

export async function createWalletDaemon(deps: WalletDaemonDeps): Promise<WalletDaemon> {
  const app = createBaseApp({ logger: deps.logger ?? false });
  const schedule = deps.schedule ?? realTimers;
  const sessions = createSessions({
    run: (request, confirm, display) =>
      buy(deps.wallet, { merchantUrl: request.shop, items: request.items, ...(request.offer !== undefined ? { offer: request.offer } : {}), anonymous: request.anonymous, mode: request.mode }, { now: deps.now, fetch: deps.fetch, seed: deps.seed, passphrase: deps.passphrase, confirm, display }),
    now: deps.now,
    newId: () => randomBytes(16).toString('base64url'),
    schedule,
    caFingerprint: async () => (await walletStatus(deps.wallet)).identity?.caFingerprint ?? null,
    promptTtlMs: deps.promptTtlMs ?? 15 * 60_000,
    retainMs: deps.retainMs ?? 60 * 60_000,
    maxRunning: deps.maxRunning ?? 4,
    onError: (e) => app.log.error({ err: e }, 'purchase session failed'),
  });
  // Stopping the daemon cancels open prompts and ends long polls before the server waits for
  // its requests to finish, then lets running payments reach a stored state.
  app.addHook('preClose', async () => sessions.stop());
  app.addHook('onClose', async () => sessions.close());

  guardHostAndOrigin(app, deps.listening);
  const ctx = { ...deps, sessions };
  await app.register(
    async (api) => {
      requireToken(api, deps.token);
      paymentRoutes(api, ctx);
      walletRoutes(api, ctx);
      purchaseRoutes(api, ctx);
    },
    { prefix: '/api' },
  );
  if (deps.staticDir !== undefined) await staticRoutes(app, deps.staticDir);
  return { app, sessions };
}
