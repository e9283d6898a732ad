// The payment server: `createApp(deps)` builds the app and never listens or
// reads the environment; src/cli/commands/payment/setup.ts (`quittance payment serve`) does that.
import type { FastifyInstance } from 'fastify';
import { createBaseApp, type BaseAppOptions } from '../http/app.ts';
import type { PaymentDeps } from './deps.ts';
import { coinRoutes } from './routes/coins.ts';
import { keyRoutes } from './routes/keys.ts';
import { reserveRoutes } from './routes/reserves.ts';
import { withdrawRoutes } from './routes/withdraw.ts';

export function createApp(deps: PaymentDeps, opts: BaseAppOptions = {}): FastifyInstance {
  const app = createBaseApp({ bodyLimit: 64 * 1024, ...opts });
  app.get('/healthz', async () => ({ status: 'ok' }));
  keyRoutes(app, deps);
  reserveRoutes(app, deps);
  withdrawRoutes(app, deps);
  coinRoutes(app, deps);
  return app;
}
