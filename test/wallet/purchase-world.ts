// A real purchase world, shared by the tests that need a finished purchase
// (evidence export and verification): a merchant server and a payment server
// listening on loopback, certified by one test CA, a wallet whose identity is
// from the same CA, coins from a real withdrawal. Copied from the setup of
// test/wallet/buy.test.ts (which keeps its own), trimmed to what these tests use.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { encryptPrivateKey, exportSpkiDer, writeKeyFile } from '../../src/crypto/index.ts';
import { hashToken } from '../../src/http/admin-auth.ts';
import { createApp as createMerchantApp } from '../../src/merchant/app.ts';
import { MerchantConfig } from '../../src/merchant/config.ts';
import type { MerchantDatabase } from '../../src/merchant/db.ts';
import type { MerchantDeps } from '../../src/merchant/deps.ts';
import { MERCHANT_MIGRATIONS } from '../../src/merchant/migrations/index.ts';
import { newTransactionId } from '../../src/merchant/open.ts';
import { createApp as createPaymentApp } from '../../src/payment/app.ts';
import { PaymentConfig } from '../../src/payment/config.ts';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { newCaches, type PaymentDeps } from '../../src/payment/deps.ts';
import { PAYMENT_MIGRATIONS } from '../../src/payment/migrations/index.ts';
import { addMerchant, trustAnchorOf } from '../../src/payment/merchants.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { ok } from '../../src/protocol/result.ts';
import { certificateToPem, createVerificationCache } from '../../src/protocol/x509/index.ts';
import { isUniqueViolation, migrate } from '../../src/store/index.ts';
import { buy, type BuyDeps, type PurchaseOutcome } from '../../src/wallet/buy.ts';
import { deriveReserve } from '../../src/wallet/derive.ts';
import { fetchKeyList } from '../../src/wallet/key-list.ts';
import { initWallet, openWallet, type OpenedWallet } from '../../src/wallet/open.ts';
import { allocateIndices, withdrawReserve } from '../../src/wallet/withdraw.ts';
import { tempDir } from '../cli/helpers.ts';
import { buildPki, PKI_NOW, type LeafHandle } from '../fixtures/pki.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { creditReserve, installKeys } from '../payment/emoney-client.ts';
import { SALT, WRAP_KEY, type TestPayment } from '../payment/harness.ts';

export const PASS = 'correct horse battery staple';
const CA_URL = 'http://ca.test/';
const now = () => PKI_NOW;

// One CA, leaves issued by the root directly (as `quittance ca` does), so one CRL covers every path.
export const pki = await buildPki();
const leaf = (role: 'merchant' | 'payment' | 'client', partyId: string, displayName: string) => pki.leaf({ issuer: pki.root, role, partyId, displayName });
export const SHOP = await leaf('merchant', 'shop-1', 'Tokyo On-line Mail Order Dealer');
export const PAY = await leaf('payment', 'pay-1', 'Quittance Pay');
/** Another certified payment server, for receipts signed by the wrong one. */
export const PAY_OTHER = await leaf('payment', 'pay-2', 'Other Pay');
export const ALICE = await leaf('client', 'alice', 'Alice');
/** Another certified shopper, for documents signed by someone other than the purchaser. */
export const MALLORY = await leaf('client', 'mallory', 'Mallory');
export const pems = (l: LeafHandle) => l.chain.map((d) => certificateToPem(d));
export const ROOT_PEM = certificateToPem(pki.root.der);

// Prices small enough for the test denominations (JPY 1, 2, 4, 8): 1 × A + 2 × C = JPY:5.
const CATALOGUE: MerchantConfig['catalogue'] = {
  articles: [
    { id: 'ARTICLE-A', name: 'ARTICLE A', unitPrice: 'JPY:1' },
    { id: 'ARTICLE-C', name: 'ARTICLE C', unitPrice: 'JPY:2' },
  ],
  sellingConditions: 'Test conditions.',
};
export const ITEMS = [
  { article: 'ARTICLE A', quantity: 1 },
  { article: 'ARTICLE C', quantity: 2 },
];

type Hook = (url: URL, init: RequestInit | undefined, forward: () => Promise<Response>) => Promise<Response>;

export type World = {
  merchantUrl: string;
  payUrl: string;
  wallet: OpenedWallet;
  /** The wallet directory, for the command line (`--data`). */
  walletDir: string;
  /** A scratch directory removed after the test. */
  tmp: string;
  seed: Uint8Array;
  /** Intercepts one request (by method and path) on its way. */
  hooks: Map<string, Hook>;
  deps: BuyDeps;
  payDeps: PaymentDeps;
};

async function listen(app: FastifyInstance): Promise<string> {
  return new URL(await app.listen({ port: 0, host: '127.0.0.1' })).href;
}

export async function startWorld(t: TestDatabase, ctx: { after: (fn: () => Promise<unknown>) => void }): Promise<World> {
  const payHandle = await t.open<PaymentDatabase>();
  await migrate(payHandle.db, PAYMENT_MIGRATIONS, { table: 'payment_migration' });
  const payClock = { now: PKI_NOW };
  const payDeps: PaymentDeps = {
    db: payHandle.db,
    config: PaymentConfig.parse({ name: 'Quittance Pay', adminTokenHashes: [], currencies: [{ maxValue: 'JPY:8' }], keyWrapSalt: SALT, withdrawDays: 30, depositDays: 60, rotationOverlapDays: 7 }),
    signer: { partyId: 'pay-1', displayName: 'Quittance Pay', privateKey: PAY.keys.privateKey, alg: 'EdDSA', x5c: PAY.chain, notAfter: PAY.cert.notAfter },
    wrapKey: WRAP_KEY,
    clock: () => payClock.now,
    isUniqueViolation,
    caches: newCaches(),
  };
  await installKeys({ deps: payDeps, clock: payClock } as unknown as TestPayment);
  value(await addMerchant(payHandle.db, { chainPem: pems(SHOP).join(''), payoutAccount: null, trustAnchor: trustAnchorOf(PAY.chain), now: PKI_NOW }));
  const payApp = createPaymentApp(payDeps);
  const payUrl = await listen(payApp);

  const mHandle = await t.open<MerchantDatabase>();
  await migrate(mHandle.db, MERCHANT_MIGRATIONS, { table: 'merchant_migration' });
  const mDeps: MerchantDeps = {
    db: mHandle.db,
    config: MerchantConfig.parse({ name: 'Test shop', adminTokenHashes: [hashToken('qt_test')], paymentServer: { url: payUrl }, catalogue: CATALOGUE }),
    signer: { partyId: 'shop-1', displayName: 'Tokyo On-line Mail Order Dealer', privateKey: SHOP.keys.privateKey, alg: 'EdDSA', x5c: SHOP.chain, notAfter: SHOP.cert.notAfter },
    paymentServer: { url: payUrl, partyId: 'pay-1', displayName: 'Quittance Pay', chainPem: pems(PAY) },
    trustAnchors: [pki.root.der],
    crls: async () => ok({ crls: [await pki.crl(pki.root)], required: true }),
    clock: () => PKI_NOW,
    newTransactionId,
    isUniqueViolation,
    verificationCache: createVerificationCache({ maxEntries: 100 }),
    fetch,
  };
  const mApp = createMerchantApp(mDeps);
  const merchantUrl = await listen(mApp);

  // The wallet: a certified identity of the same CA, set up directly in its store.
  const tmp = tempDir('quittance-evidence-');
  const dir = join(tmp.dir, 'w');
  value(await initWallet(dir, { passphrase: PASS, now }));
  const wallet = value(await openWallet(dir, { now }));
  await writeKeyFile(wallet.paths.identityKey, await encryptPrivateKey(ALICE.keys.privateKey, PASS));
  await wallet.db
    .insertInto('wallet_identity')
    .values({
      id: 1,
      ca_url: CA_URL,
      display_name: 'Alice',
      public_key_spki: encodeBase64url(await exportSpkiDer(ALICE.keys.publicKey)),
      registration_id: 'reg-1',
      status: 'approved',
      party_id: 'alice',
      certificate_chain_pem: pems(ALICE).join(''),
      ca_root_pem: ROOT_PEM,
      not_before: ALICE.cert.notBefore.toISOString(),
      not_after: ALICE.cert.notAfter.toISOString(),
      reject_reason: null,
      created_at: PKI_NOW.toISOString(),
      updated_at: PKI_NOW.toISOString(),
    })
    .execute();
  const seed = value(await wallet.unlockSeed(PASS));
  const crl = await pki.crl(pki.root);

  const hooks = new Map<string, Hook>();
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    // The CA: only its CRL is needed.
    if (url.href.startsWith(CA_URL)) {
      assert.equal(url.pathname, '/v1/ca/crl');
      return new Response(crl.slice(), { status: 200, headers: { 'content-type': 'application/pkix-crl' } });
    }
    const path = url.pathname.replace(/^\/v1\/orders\/[^/]+\/receipt$/, '/v1/orders/:tx/receipt').replace(/^\/v1\/coins\/[^/]+$/, '/v1/coins/:pub').replace(/^\/v1\/repayments\/[^/]+\/receipt$/, '/v1/repayments/:permit/receipt');
    const hook = hooks.get(`${init?.method ?? 'GET'} ${path}`);
    const forward = () => fetch(input, init);
    return hook ? hook(url, init, forward) : forward();
  };
  ctx.after(async () => {
    await wallet.close();
    await mApp.close();
    await payApp.close();
    await mHandle.cleanup();
    await payHandle.cleanup();
    tmp.remove();
  });
  return {
    merchantUrl,
    payUrl,
    wallet,
    walletDir: dir,
    tmp: tmp.dir,
    seed,
    hooks,
    payDeps,
    deps: { now, fetch: fetchFn, seed, passphrase: PASS, confirm: async () => true },
  };
}

/** Loads `minor` JPY as coins the way the wallet does: a credited reserve, then withdrawReserve. */
export async function fund(world: World, minor: bigint): Promise<void> {
  const keys = value(await fetchKeyList(world.wallet, world.payUrl, { now, fetch: world.deps.fetch }));
  const idx = (await world.wallet.db.transaction().execute((tx) => allocateIndices(tx, 'reserve', 1, PKI_NOW)))[0]!;
  const pub = encodeBase64url((await deriveReserve(world.seed, idx)).publicKeyBytes);
  const row = {
    reserve_pub: pub,
    derivation_index: idx,
    currency: 'JPY',
    amount: minor,
    payment_url: world.payUrl,
    bank_transfer_id: null,
    bank_url: null,
    bank_account: null,
    state: 'credited' as const,
    created_at: PKI_NOW.toISOString(),
    updated_at: PKI_NOW.toISOString(),
  };
  await world.wallet.db.insertInto('wallet_reserves').values(row).execute();
  await creditReserve(world.payDeps, pub, 'JPY', minor);
  value(await withdrawReserve(world.wallet, row, keys.keys, { now, fetch: world.deps.fetch, seed: world.seed }));
}

/** A real purchase of ITEMS (JPY:5), identified or anonymous; fails the test unless it succeeds. */
export async function purchase(world: World, opts: { anonymous?: boolean } = {}): Promise<PurchaseOutcome> {
  return value(await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: opts.anonymous ?? false, mode: 'ecash' }, world.deps));
}
