// The payment server: `createApp(deps)` builds the app and never listens or
// reads the environment; src/cli/commands/payment/setup.ts (`quittance payment serve`) does that.
import type { FastifyInstance } from 'fastify';
import { createBaseApp, type BaseAppOptions } from '../http/app.ts';
import { serveUi } from '../http/ui.ts';
import { MAX_COINS, MAX_ENVELOPES } from '../protocol/messages/payment.ts';
import type { PaymentDeps } from './deps.ts';
import type { PurchaseOptions } from './money-reception.ts';
import { paymentOpenApi } from './openapi.ts';
import { adminRoutes } from './routes/admin.ts';
import { coinRoutes } from './routes/coins.ts';
import { keyRoutes } from './routes/keys.ts';
import { purchaseRoutes } from './routes/purchase.ts';
import { repaymentRoutes } from './routes/repayments.ts';
import { reserveRoutes } from './routes/reserves.ts';
import { settlementRoutes } from './routes/settlements.ts';
import { withdrawRoutes } from './routes/withdraw.ts';

/**
 * The largest body a valid request can have: a swap (POST /v1/swap) of
 * MAX_COINS coins into MAX_ENVELOPES envelopes with `keyBits`-bit
 * denomination keys; a withdrawal carries the same envelopes and no coins.
 *
 *   RSA value (blinded message, blind or coin signature), base64url of
 *   keyBits/8 bytes:            ceil(keyBits / 6) chars (2048 → 342, 8192 → 1366)
 *   Ed25519 key, SHA-256 id:    43 chars;  Ed25519 signature: 86 chars
 *   coin:     coinPub 43 + denominationId 43 + denominationSignature rsa + coinSignature 86
 *   envelope: denominationId 43 + blindedMessage rsa
 *   + 128 per item for field names, quotes, commas and some whitespace,
 *   + 1 KiB for swapId and the object around.
 *
 * At 2048 bits: 64 × (172 + 342 + 128) + 64 × (43 + 342 + 128) + 1024 = 74,944
 * bytes (a compact maximal swap is about 65,500); at 8192 bits about 200 KiB.
 * Coins of keys made under an earlier, larger setting are bigger: lowering
 * denominationKeyBits lowers the limit for them too, until their keys expire.
 */
export function paymentBodyLimit(keyBits: number): number {
  const rsa = Math.ceil(keyBits / 6);
  const perItem = 128;
  const coin = 43 + 43 + rsa + 86 + perItem;
  const envelope = 43 + rsa + perItem;
  return MAX_COINS * coin + MAX_ENVELOPES * envelope + 1024;
}

/**
 * With a CA URL, 150, 1150 and 1190 check every certificate path against the
 * CA's CRL; a CRL that cannot be fetched refuses the request (fail closed: no
 * CRL, no path).
 */
function revocation(deps: PaymentDeps): PurchaseOptions {
  const caCrl = deps.caCrl;
  if (!caCrl) return {};
  return {
    crls: async () => {
      const der = await caCrl();
      return der ? [der] : [];
    },
  };
}

export function createApp(deps: PaymentDeps, opts: BaseAppOptions & { uiDir?: string } = {}): FastifyInstance {
  const { uiDir, ...base } = opts;
  const app = createBaseApp({ bodyLimit: paymentBodyLimit(deps.config.denominationKeyBits), ...base });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/openapi.json', async () => paymentOpenApi());
  keyRoutes(app, deps);
  reserveRoutes(app, deps);
  withdrawRoutes(app, deps);
  coinRoutes(app, deps);
  const documents = revocation(deps);
  purchaseRoutes(app, deps, documents);
  repaymentRoutes(app, deps, documents);
  settlementRoutes(app, deps, documents);
  adminRoutes(app, deps);
  // The payment console (web/pages/payment-admin): reads the admin routes above with the operator token.
  serveUi(app, { page: 'payment-admin', prefix: '/admin/', ...(uiDir !== undefined ? { distDir: uiDir } : {}) });
  return app;
}
