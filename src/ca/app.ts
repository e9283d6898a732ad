// The CA server: `createApp(deps)` builds the app and never listens or reads
// the environment; src/cli/commands/ca/setup.ts (`quittance ca serve`) does that.
import type { FastifyInstance } from 'fastify';
import { createBaseApp, type BaseAppOptions } from '../http/app.ts';
import { serveUi } from '../http/ui.ts';
import { createVerificationCache } from '../protocol/x509/index.ts';
import type { CaDeps } from './deps.ts';
import { caOpenApi } from './openapi.ts';
import { adminRoutes } from './routes/admin.ts';
import { publicRoutes } from './routes/public.ts';

export function createApp(deps: CaDeps, opts: BaseAppOptions & { uiDir?: string } = {}): FastifyInstance {
  const { uiDir, ...base } = opts;
  // A registration carries a CSR (≤ 8 KiB) and a few short fields.
  const app = createBaseApp({ bodyLimit: 16 * 1024, ...base });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => caOpenApi());
  publicRoutes(app, deps);
  // Operators present the same certificate chain on every request: parsing and
  // signature checks of those exact bytes are memoized (time, CRL and role
  // checks still run every time; see src/protocol/x509/verification-cache.ts).
  adminRoutes(app, deps, createVerificationCache({ maxEntries: 1000 }));
  // The CA console (web/pages/ca-admin): the admin routes above with the operator token.
  serveUi(app, { page: 'ca-admin', prefix: '/admin/', ...(uiDir !== undefined ? { distDir: uiDir } : {}) });
  return app;
}
