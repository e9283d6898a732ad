// The merchant server: `createApp(deps)` builds the app and never listens or
// reads the environment; src/cli/commands/merchant/setup.ts (`quittance merchant serve`) does that.
import type { FastifyInstance } from 'fastify';
import { createBaseApp, type BaseAppOptions } from '../http/app.ts';
import { serveUi } from '../http/ui.ts';
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

export function createApp(deps: MerchantDeps, opts: BaseAppOptions & { uiDir?: string } = {}): FastifyInstance {
  // An order carries at most 100 lines and a chain of 5 certificates: 256 KiB is ample.
  const { uiDir: _uiDir, ...base } = opts;
  const app = createBaseApp({ bodyLimit: 256 * 1024, ...base });
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
  // The web pages: the storefront for shoppers, the dashboard for the shop's operators (web/pages/…).
  serveUi(app, { page: 'storefront', prefix: '/shop/', config: () => ({ walletUrl: deps.config.walletUrl, shopUrl: deps.config.url ?? null }), ...(opts.uiDir !== undefined ? { distDir: opts.uiDir } : {}) });
  serveUi(app, { page: 'merchant-admin', prefix: '/admin/', ...(opts.uiDir !== undefined ? { distDir: opts.uiDir } : {}) });
  return app;
}
