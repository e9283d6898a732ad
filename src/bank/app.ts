// The bank server: `createApp(deps)` builds the app and never listens or reads
// the environment; src/cli/commands/bank/setup.ts (`quittance bank serve`) does that.
import type { FastifyInstance } from 'fastify';
import { createBaseApp, type BaseAppOptions } from '../http/app.ts';
import { serveUi } from '../http/ui.ts';
import type { BankDeps } from './deps.ts';
import { bankOpenApi } from './openapi.ts';
import { accountRoutes } from './routes/accounts.ts';
import { transferRoutes } from './routes/transfers.ts';

export function createApp(deps: BankDeps, opts: BaseAppOptions & { uiDir?: string } = {}): FastifyInstance {
  const { uiDir, ...base } = opts;
  // The largest request is a transfer: two ids, an amount and a 512-character subject.
  const app = createBaseApp({ bodyLimit: 4 * 1024, ...base });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => bankOpenApi());
  accountRoutes(app, deps);
  transferRoutes(app, deps);
  // The bank console (web/pages/bank-admin): accounts, statements and funding with the operator token.
  serveUi(app, { page: 'bank-admin', prefix: '/admin/', ...(uiDir !== undefined ? { distDir: uiDir } : {}) });
  return app;
}
