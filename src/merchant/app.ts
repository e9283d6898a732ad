// The merchant server: `createApp(deps)` builds the app and never listens or
// reads the environment; src/cli/commands/merchant/setup.ts (`quittance merchant serve`) does that.
import type { FastifyInstance } from 'fastify';
import { createBaseApp, type BaseAppOptions } from '../http/app.ts';
import type { MerchantDeps } from './deps.ts';
import { merchantOpenApi } from './openapi.ts';
import { adminRoutes } from './routes/admin.ts';
import { catalogueRoutes } from './routes/catalogue.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { offerRoutes } from './routes/offers.ts';
import { orderRoutes } from './routes/orders.ts';
import { receiptRoutes } from './routes/receipts.ts';
import { repaymentRoutes } from './routes/repayments.ts';
import { shopRoutes } from './routes/shop.ts';

export function createApp(deps: MerchantDeps, opts: BaseAppOptions = {}): FastifyInstance {
  // An order carries at most 100 lines and a chain of 5 certificates: 256 KiB is ample.
  const app = createBaseApp({ bodyLimit: 256 * 1024, ...opts });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => merchantOpenApi());
  catalogueRoutes(app, deps);
  orderRoutes(app, deps);
  receiptRoutes(app, deps);
  repaymentRoutes(app, deps);
  notificationRoutes(app, deps);
  offerRoutes(app, deps);
  shopRoutes(app, deps);
  adminRoutes(app, deps);
  return app;
}
