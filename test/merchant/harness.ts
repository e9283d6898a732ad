// A merchant server in-process for tests: a fresh database per test (SQLite,
// and PostgreSQL when DATABASE_URL is set), `merchant` and `payment`
// certificates from the test PKI, an injected clock and CRLs, and helpers
// that sign orders as a certified client or with an anonymous per-order key.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { hashToken } from '../../src/http/admin-auth.ts';
import { createApp } from '../../src/merchant/app.ts';
import { MerchantConfig, sellingConditionsHash } from '../../src/merchant/config.ts';
import type { CrlSource } from '../../src/merchant/crl.ts';
import type { MerchantDatabase } from '../../src/merchant/db.ts';
import type { MerchantDeps } from '../../src/merchant/deps.ts';
import { MERCHANT_MIGRATIONS } from '../../src/merchant/migrations/index.ts';
import { newTransactionId } from '../../src/merchant/open.ts';
import { ORDER_TYP, type Line, type Order } from '../../src/protocol/documents/index.ts';
import { signDocument, type GeneralJws, type PublicJwk } from '../../src/protocol/jws.ts';
import { ok } from '../../src/protocol/result.ts';
import { certificateToPem, createVerificationCache } from '../../src/protocol/x509/index.ts';
import { isUniqueViolation, migrate } from '../../src/store/index.ts';
import { buildPki, generateKeyPair, PKI_NOW, type LeafHandle, type TestPki } from '../fixtures/pki.ts';
import type { TestDatabase, TestHandle } from '../helpers/db.ts';

export const PKI: TestPki = await buildPki();
export const SHOP = await PKI.leaf({ role: 'merchant', partyId: 'shop-1', displayName: 'Tokyo On-line Mail Order Dealer' });
export const PAY = await PKI.leaf({ role: 'payment', partyId: 'pay-1', displayName: 'Quittance Pay' });
export const ALICE = await PKI.leaf({ role: 'client', partyId: 'alice', displayName: 'Alice' });
export const PAYMENT_URL = 'http://127.0.0.1:7003/';
export const ADMIN_TOKEN = 'qt_merchant-test-operator-token';

export const CATALOGUE: MerchantConfig['catalogue'] = {
  articles: [
    { id: 'ARTICLE-A', name: 'ARTICLE A', unitPrice: 'JPY:1000' },
    { id: 'ARTICLE-B', name: 'ARTICLE B', unitPrice: 'JPY:2000' },
    { id: 'ARTICLE-C', name: 'ARTICLE C', unitPrice: 'JPY:1500', stock: 3 },
  ],
  sellingConditions: 'Test conditions: no refunds on Sundays.',
};
export const CONDITIONS_HASH = sellingConditionsHash(CATALOGUE.sellingConditions);

export type TestMerchant = {
  app: FastifyInstance;
  deps: MerchantDeps;
  handle: TestHandle<MerchantDatabase>;
  clock: { now: Date };
  close: () => Promise<void>;
};

export type TestMerchantOptions = {
  config?: Partial<MerchantConfig>;
  crls?: CrlSource;
  /** false: the shop names no payment server. */
  paymentServer?: false;
  /**
   * Other certificates than this file's PKI, e.g. those of a test payment
   * server (test/payment/harness.ts) so that a real receipt can be checked:
   * the shop's leaf, the payment server's chain (leaf first) and their root.
   */
  parties?: { shop: LeafHandle; paymentChain: readonly Uint8Array[]; root: Uint8Array; crls: () => Promise<Uint8Array[]> };
  /** How the shop reaches its payment server (default: refuses every request). */
  fetch?: typeof fetch;
};

/** A fetch for tests with no payment server: every call fails like a network error. */
export const noNetwork: typeof fetch = () => Promise.reject(new TypeError('fetch failed: no network in this test'));

export async function startTestMerchant(t: TestDatabase, opts: TestMerchantOptions = {}): Promise<TestMerchant> {
  const handle = await t.open<MerchantDatabase>();
  await migrate(handle.db, MERCHANT_MIGRATIONS, { table: 'merchant_migration' });
  const clock = { now: PKI_NOW };
  const shop = opts.parties?.shop ?? SHOP;
  const paymentChain = opts.parties?.paymentChain ?? PAY.chain;
  const root = opts.parties?.root ?? PKI.root.der;
  const crls = opts.parties?.crls ?? (() => PKI.crls());
  const deps: MerchantDeps = {
    db: handle.db,
    config: MerchantConfig.parse({
      name: 'Test shop',
      adminTokenHashes: [hashToken(ADMIN_TOKEN)],
      paymentServer: { url: PAYMENT_URL },
      catalogue: CATALOGUE,
      ...opts.config,
    }),
    signer: { partyId: 'shop-1', displayName: 'Tokyo On-line Mail Order Dealer', privateKey: shop.keys.privateKey, alg: 'EdDSA', x5c: shop.chain, notAfter: shop.cert.notAfter },
    ...(opts.paymentServer === false
      ? {}
      : { paymentServer: { url: PAYMENT_URL, partyId: 'pay-1', displayName: 'Quittance Pay', chainPem: paymentChain.map((d) => certificateToPem(d)) } }),
    trustAnchors: [root],
    crls: opts.crls ?? (async () => ok({ crls: await crls(), required: true })),
    fetch: opts.fetch ?? noNetwork,
    clock: () => clock.now,
    newTransactionId,
    isUniqueViolation,
    verificationCache: createVerificationCache({ maxEntries: 1000 }),
  };
  const app = createApp(deps);
  await app.ready();
  return {
    app,
    deps,
    handle,
    clock,
    close: async () => {
      await app.close();
      await handle.cleanup();
    },
  };
}

/** A fresh orderId, as a wallet makes it: 128 random bits, base64url. */
export function newOrderId(): string {
  return randomBytes(16).toString('base64url');
}

export const LINES: Line[] = [
  { article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:1000' },
  { article: 'ARTICLE-C', name: 'ARTICLE C', quantity: 2, unitPrice: 'JPY:1500' },
];

export function orderFor(purchaserId: string, overrides: Partial<Order> = {}): Order {
  return {
    typ: ORDER_TYP,
    orderId: newOrderId(),
    merchantId: 'shop-1',
    purchaserId,
    lines: LINES,
    total: 'JPY:4000',
    paymentMode: 'ecash',
    sellingConditionsHash: CONDITIONS_HASH,
    time: PKI_NOW.toISOString(),
    ...overrides,
  };
}

/** Signs as a certified party (default: alice, a `client`). */
export function signCertified(order: unknown, who: LeafHandle = ALICE): Promise<GeneralJws> {
  return signDocument({ payload: order, typ: ORDER_TYP, privateKey: who.keys.privateKey, alg: 'EdDSA', x5c: who.chain });
}

export type AnonymousKey = { keys: CryptoKeyPair; jwk: PublicJwk; thumbprint: string };

export async function anonymousKey(): Promise<AnonymousKey> {
  const keys = await generateKeyPair('Ed25519');
  const full = await exportJWK(keys.publicKey);
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: full.x! } as const;
  return { keys, jwk, thumbprint: await calculateJwkThumbprint(jwk, 'sha256') };
}

export function signAnonymous(order: unknown, key: AnonymousKey): Promise<GeneralJws> {
  return signDocument({ payload: order, typ: ORDER_TYP, privateKey: key.keys.privateKey, alg: 'EdDSA', jwk: key.jwk });
}

export async function postOrder(app: FastifyInstance, jws: unknown) {
  return app.inject({ method: 'POST', url: '/v1/orders', payload: { order: jws } });
}

export async function countRows(m: TestMerchant): Promise<{ orders: number; lines: number }> {
  const o = await m.handle.db.selectFrom('merchant_orders').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const l = await m.handle.db.selectFrom('merchant_order_lines').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return { orders: Number(o.n), lines: Number(l.n) };
}
