// The purchase from the wallet (issue 4, messages 110–190) against REAL
// parties listening on loopback: a merchant server and a payment server
// certified by one test CA, the wallet's identity from the same CA, coins
// from a real withdrawal. Happy paths (identified and anonymous) end PAID
// with a verified receipt and the balance down by exactly the amount; every
// attack stops with its code before money moves, or — when the money has
// moved — leaves the purchase open so that a resume sends the identical
// request and is charged once.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
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
import { addMerchant, merchantAccount, trustAnchorOf } from '../../src/payment/merchants.ts';
import { encodeBase64url, decodeBase64url } from '../../src/protocol/base64url.ts';
import { INVOICE_TYP, RECEIPT_TYP, type Invoice } from '../../src/protocol/documents/index.ts';
import { signDocument, verifyDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { ok } from '../../src/protocol/result.ts';
import { certificateToPem, createVerificationCache } from '../../src/protocol/x509/index.ts';
import { isUniqueViolation, migrate } from '../../src/store/index.ts';
import { buy, resumePurchases, type BuyDeps, type BuyPrompt } from '../../src/wallet/buy.ts';
import { purchaseDetail, purchaseHistory } from '../../src/wallet/purchases.ts';
import { deriveReserve } from '../../src/wallet/derive.ts';
import { fetchKeyList } from '../../src/wallet/key-list.ts';
import { deriveOrderKey } from '../../src/wallet/order-key.ts';
import { initWallet, openWallet, type OpenedWallet } from '../../src/wallet/open.ts';
import { allocateIndices, withdrawReserve } from '../../src/wallet/withdraw.ts';
import { tempDir } from '../cli/helpers.ts';
import { buildPki, CRL_MAX_AGE_SECONDS, PKI_NOW, type LeafHandle } from '../fixtures/pki.ts';
import { testDatabases, type TestDatabase } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, balanceOf, creditReserve, installKeys } from '../payment/emoney-client.ts';
import { SALT, WRAP_KEY, type TestPayment } from '../payment/harness.ts';

const PASS = 'correct horse battery staple';
const CA_URL = 'http://ca.test/';
const now = () => PKI_NOW;

// One CA, leaves issued by the root directly (as `quittance ca` does), so one CRL covers every path.
const pki = await buildPki();
const leaf = (role: 'merchant' | 'payment' | 'client', partyId: string, displayName: string) => pki.leaf({ issuer: pki.root, role, partyId, displayName });
const SHOP = await leaf('merchant', 'shop-1', 'Tokyo On-line Mail Order Dealer');
const FAKE_SHOP = await leaf('merchant', 'shop-evil', 'Evil Shop');
const SHOP_AS_CLIENT = await leaf('client', 'shop-1', 'Tokyo On-line Mail Order Dealer');
const PAY = await leaf('payment', 'pay-1', 'Quittance Pay');
const PAY_OTHER = await leaf('payment', 'pay-2', 'Other Pay');
const ALICE = await leaf('client', 'alice', 'Alice');
const pems = (l: LeafHandle) => l.chain.map((d) => certificateToPem(d));

// Prices small enough for the test denominations (JPY 1, 2, 4, 8): 1 × A + 2 × C = JPY:5.
const CATALOGUE: MerchantConfig['catalogue'] = {
  articles: [
    { id: 'ARTICLE-A', name: 'ARTICLE A', unitPrice: 'JPY:1' },
    { id: 'ARTICLE-B', name: 'ARTICLE B', unitPrice: 'JPY:3' },
    { id: 'ARTICLE-C', name: 'ARTICLE C', unitPrice: 'JPY:2' },
  ],
  sellingConditions: 'Test conditions.',
};
const ITEMS = [
  { article: 'ARTICLE A', quantity: 1 },
  { article: 'ARTICLE C', quantity: 2 },
];

type Hook = (url: URL, init: RequestInit | undefined, forward: () => Promise<Response>) => Promise<Response>;

type Env = {
  merchantUrl: string;
  payUrl: string;
  merchant: { deps: MerchantDeps; db: MerchantDeps['db'] };
  pay: { deps: PaymentDeps; db: PaymentDeps['db'] };
  wallet: OpenedWallet;
  seed: Uint8Array;
  crl: { der: Uint8Array };
  /** Intercepts one request (by method and path) on its way. */
  hooks: Map<string, Hook>;
  prompts: BuyPrompt[];
  deps: BuyDeps;
};

async function listen(app: FastifyInstance): Promise<string> {
  return new URL(await app.listen({ port: 0, host: '127.0.0.1' })).href;
}

async function startEnv(t: TestDatabase, ctx: { after: (fn: () => Promise<unknown>) => void }, opts: { merchantSigner?: LeafHandle } = {}): Promise<Env> {
  // The payment server.
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

  // The merchant, naming that payment server.
  const mHandle = await t.open<MerchantDatabase>();
  await migrate(mHandle.db, MERCHANT_MIGRATIONS, { table: 'merchant_migration' });
  const signer = opts.merchantSigner ?? SHOP;
  const crl = { der: await pki.crl(pki.root) };
  const mDeps: MerchantDeps = {
    db: mHandle.db,
    config: MerchantConfig.parse({ name: 'Test shop', adminTokenHashes: [hashToken('qt_test')], paymentServer: { url: payUrl }, catalogue: CATALOGUE }),
    signer: { partyId: 'shop-1', displayName: 'Tokyo On-line Mail Order Dealer', privateKey: signer.keys.privateKey, alg: 'EdDSA', x5c: signer.chain, notAfter: signer.cert.notAfter },
    paymentServer: { url: payUrl, partyId: 'pay-1', displayName: 'Quittance Pay', chainPem: pems(PAY) },
    trustAnchors: [pki.root.der],
    crls: async () => ok({ crls: [await pki.crl(pki.root)], required: true }),
    clock: () => PKI_NOW,
    newTransactionId,
    isUniqueViolation,
    verificationCache: createVerificationCache({ maxEntries: 100 }),
    // The shop asks its payment server about a transaction it was not told of (settle.ts).
    fetch,
  };
  const mApp = createMerchantApp(mDeps);
  const merchantUrl = await listen(mApp);

  // The wallet: a certified identity of the same CA, set up directly in its store.
  const tmp = tempDir('quittance-buy-');
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
      ca_root_pem: certificateToPem(pki.root.der),
      not_before: ALICE.cert.notBefore.toISOString(),
      not_after: ALICE.cert.notAfter.toISOString(),
      reject_reason: null,
      created_at: PKI_NOW.toISOString(),
      updated_at: PKI_NOW.toISOString(),
    })
    .execute();
  const seed = value(await wallet.unlockSeed(PASS));

  const hooks = new Map<string, Hook>();
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    // The CA: only its CRL is needed.
    if (url.href.startsWith(CA_URL)) {
      assert.equal(url.pathname, '/v1/ca/crl');
      return new Response(env.crl.der.slice(), { status: 200, headers: { 'content-type': 'application/pkix-crl' } });
    }
    const path = url.pathname.replace(/^\/v1\/orders\/[^/]+\/receipt$/, '/v1/orders/:tx/receipt');
    const hook = hooks.get(`${init?.method ?? 'GET'} ${path}`);
    const forward = () => fetch(input, init);
    return hook ? hook(url, init, forward) : forward();
  };
  const prompts: BuyPrompt[] = [];
  const env: Env = {
    merchantUrl,
    payUrl,
    merchant: { deps: mDeps, db: mHandle.db },
    pay: { deps: payDeps, db: payHandle.db },
    wallet,
    seed,
    crl,
    hooks,
    prompts,
    deps: {
      now,
      fetch: fetchFn,
      seed,
      passphrase: PASS,
      confirm: async (p) => {
        prompts.push(p);
        return true;
      },
    },
  };
  ctx.after(async () => {
    await wallet.close();
    await mApp.close();
    await payApp.close();
    await mHandle.cleanup();
    await payHandle.cleanup();
    tmp.remove();
  });
  return env;
}

/** Loads `minor` JPY as coins the way the wallet does: a credited reserve, then withdrawReserve. */
async function fund(env: Env, minor: bigint): Promise<void> {
  const keys = value(await fetchKeyList(env.wallet, env.payUrl, { now, fetch: env.deps.fetch }));
  const idx = (await env.wallet.db.transaction().execute((tx) => allocateIndices(tx, 'reserve', 1, PKI_NOW)))[0]!;
  const pub = encodeBase64url((await deriveReserve(env.seed, idx)).publicKeyBytes);
  const row = {
    reserve_pub: pub,
    derivation_index: idx,
    currency: 'JPY',
    amount: minor,
    payment_url: env.payUrl,
    bank_transfer_id: null,
    bank_url: null,
    bank_account: null,
    state: 'credited' as const,
    created_at: PKI_NOW.toISOString(),
    updated_at: PKI_NOW.toISOString(),
  };
  await env.wallet.db.insertInto('wallet_reserves').values(row).execute();
  await creditReserve(env.pay.deps, pub, 'JPY', minor);
  value(await withdrawReserve(env.wallet, row, keys.keys, { now, fetch: env.deps.fetch, seed: env.seed }));
}

async function unspent(env: Env): Promise<bigint> {
  const rows = await env.wallet.db.selectFrom('wallet_coins').select('value').where('state', '=', 'unspent').execute();
  return rows.reduce((s, r) => s + BigInt(r.value), 0n);
}

async function counts(env: Env): Promise<{ orders: number; payments: number; purchases: number; spent: number }> {
  const n = async (q: { executeTakeFirstOrThrow: () => Promise<{ n: unknown }> }) => Number((await q.executeTakeFirstOrThrow()).n);
  return {
    orders: await n(env.merchant.db.selectFrom('merchant_orders').select((eb) => eb.fn.countAll().as('n'))),
    payments: await n(env.pay.db.selectFrom('payment_payments').select((eb) => eb.fn.countAll().as('n'))),
    purchases: await n(env.wallet.db.selectFrom('wallet_purchases').select((eb) => eb.fn.countAll().as('n'))),
    spent: await n(env.wallet.db.selectFrom('wallet_coins').select((eb) => eb.fn.countAll().as('n')).where('state', '=', 'spent')),
  };
}

async function verifyReceipt(jws: unknown) {
  return verifyDocument(jws, { now: PKI_NOW, trustAnchors: [pki.root.der], crls: [await pki.crl(pki.root)], crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS, expectedTyp: RECEIPT_TYP, signers: [{ roles: ['payment'] }] });
}

/** The payment went through once: the shop holds the amount, and the books balance. */
async function assertChargedOnce(env: Env, minor: bigint): Promise<void> {
  assert.equal(await balanceOf(env.pay.db, merchantAccount('shop-1', 'JPY')), minor);
  await assertBooks(env.pay.db);
}

for (const t of testDatabases()) {
  void describe(`wallet buy against real parties (servers on ${t.name})`, () => {
    test('identified purchase: the merchant identity and the invoice are shown, the purchase ends PAID with a verified receipt, change kept', async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 16n);
      const r = value(await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, env.deps));
      // 210 → 190: the shop accepted the receipt copy and its signed completion is kept.
      assert.deepEqual([r.state, r.completion], ['COMPLETED', 'stored']);
      assert.equal((await env.merchant.db.selectFrom('merchant_orders').select('payment_state').executeTakeFirstOrThrow()).payment_state, 'PAID');
      assert.equal(r.receipt.amountReceived, 'JPY:5');
      assert.equal(r.receipt.purchaserId, 'alice');
      assert.equal(r.receipt.recipient.id, 'pay-1');
      assert.equal(r.change, 'JPY:3');
      // The trusted display showed certified fields only, then fig. 15.
      assert.equal(env.prompts.length, 2);
      const [m, i] = env.prompts;
      assert.equal(m!.kind, 'merchant');
      assert.deepEqual(m!.kind === 'merchant' && { name: m!.merchant.displayName, id: m!.merchant.partyId, role: m!.merchant.role }, { name: 'Tokyo On-line Mail Order Dealer', id: 'shop-1', role: 'merchant' });
      assert.equal(i!.kind === 'invoice' && i!.invoice.amount, 'JPY:5');
      assert.equal(await unspent(env), 11n);
      await assertChargedOnce(env, 5n);
      const row = await env.wallet.db.selectFrom('wallet_purchases').selectAll().executeTakeFirstOrThrow();
      assert.ok((await verifyReceipt(JSON.parse(row.receipt_jws!))).ok);
      for (const k of ['completion_jws', 'hello_jws', 'order_jws', 'invoice_jws', 'countersigned_invoice_jws', 'reception_request_jws', 'reception_response_jws', 'payment_request'] as const) assert.notEqual(row[k], null, k);
      // `wallet history` and `wallet show TX` read it back with every document.
      assert.deepEqual((await purchaseHistory(env.wallet)).purchases.map((p) => [p.transactionId, p.state, p.amount]), [[r.transactionId, 'COMPLETED', 'JPY:5']]);
      const shown = value(await purchaseDetail(env.wallet, r.transactionId));
      assert.deepEqual(Object.keys(shown.documents).sort(), ['completion', 'countersignedInvoice', 'hello', 'invoice', 'order', 'receipt', 'receptionRequest', 'receptionResponse']);
      assert.equal(shown.change, 'JPY:3');
      // Every spent coin belongs to this purchase.
      const spent = await env.wallet.db.selectFrom('wallet_coins').select('spent_in').where('state', '=', 'spent').execute();
      assert.ok(spent.length > 0 && spent.every((c) => c.spent_in === row.purchase_id));
    });

    test('anonymous purchase: signed with a per-order key derived from the seed, purchaser id = its thumbprint', async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 16n);
      const r = value(await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: true, mode: 'ecash' }, env.deps));
      const row = await env.wallet.db.selectFrom('wallet_purchases').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.purchaser_kind, 'anonymous');
      const key = await deriveOrderKey(env.seed, row.order_key_index!);
      assert.equal(r.receipt.purchaserId, key.thumbprint);
      const order = await env.merchant.db.selectFrom('merchant_orders').select(['purchaser_kind', 'purchaser_id']).executeTakeFirstOrThrow();
      assert.deepEqual(order, { purchaser_kind: 'anonymous', purchaser_id: key.thumbprint });
      assert.equal(await unspent(env), 11n);
      await assertChargedOnce(env, 5n);
    });

    test('a merchant without the receipt endpoint (404) leaves the purchase PAID; a resume later stores the completion', async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 16n);
      env.hooks.set('POST /v1/orders/:tx/receipt', async () => new Response('{"message":"Route not found"}', { status: 404, headers: { 'content-type': 'application/json' } }));
      const r = value(await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, env.deps));
      assert.deepEqual([r.state, r.completion], ['PAID', 'not-offered']);
      env.hooks.clear();
      const resumed = value(await resumePurchases(env.wallet, env.deps));
      assert.deepEqual(resumed.resumed.map((x) => [x.state, x.completion]), [['COMPLETED', 'stored']]);
      await assertChargedOnce(env, 5n);
    });

    test('too little money: WALLET_INSUFFICIENT_FUNDS before the order is sent; nothing anywhere', async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 4n);
      const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, env.deps);
      assert.equal(!r.ok && r.code, 'WALLET_INSUFFICIENT_FUNDS');
      assert.deepEqual(await counts(env), { orders: 0, payments: 0, purchases: 0, spent: 0 });
      assert.equal(await unspent(env), 4n);
    });

    test('an unknown payment mode is refused with its code before anything is sent', async (ctx) => {
      const env = await startEnv(t, ctx);
      const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'card' }, env.deps);
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_MODE_UNAVAILABLE');
      assert.equal(env.prompts.length, 0);
    });

    test('a merchant certificate without the merchant role is refused at the hello, before any order', async (ctx) => {
      const env = await startEnv(t, ctx, { merchantSigner: SHOP_AS_CLIENT });
      await fund(env, 16n);
      const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, env.deps);
      assert.equal(!r.ok && r.code, 'PROTO_CERT_ROLE_MISMATCH');
      assert.equal(env.prompts.length, 0, 'nothing unverified is shown');
      assert.deepEqual(await counts(env), { orders: 0, payments: 0, purchases: 0, spent: 0 });
    });

    test("a revoked merchant certificate (on the CA's CRL) is refused at the hello, before any order", async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 16n);
      env.crl.der = await pki.crl(pki.root, { revoked: [SHOP.der] });
      const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, env.deps);
      assert.equal(!r.ok && r.code, 'PROTO_CERT_REVOKED');
      assert.equal(env.prompts.length, 0);
      assert.deepEqual(await counts(env), { orders: 0, payments: 0, purchases: 0, spent: 0 });
    });

    for (const attack of ['re-signed by another certified merchant', 'altered without a new signature'] as const) {
      test(`an invoice ${attack} on the way (140) is refused before paying; no coin spent`, async (ctx) => {
        const env = await startEnv(t, ctx);
        await fund(env, 16n);
        env.hooks.set('POST /v1/orders', async (_url, _init, forward) => {
          const res = await forward();
          const body = (await res.json()) as { transactionId: string; invoice: GeneralJws; paymentServerChain: string[] };
          const invoice = JSON.parse(new TextDecoder().decode(decodeBase64url(body.invoice.payload))) as Invoice;
          const cheaper: Invoice = { ...invoice, lines: [{ ...invoice.lines[0]!, quantity: 1 }], amount: 'JPY:1', paymentAddress: env.payUrl };
          body.invoice =
            attack === 're-signed by another certified merchant'
              ? await signDocument({ payload: cheaper, typ: INVOICE_TYP, privateKey: FAKE_SHOP.keys.privateKey, alg: 'EdDSA', x5c: FAKE_SHOP.chain })
              : { ...body.invoice, payload: encodeBase64url(new TextEncoder().encode(JSON.stringify(cheaper))) };
          return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
        });
        const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, env.deps);
        assert.equal(!r.ok && r.code, attack === 're-signed by another certified merchant' ? 'WALLET_MERCHANT_MISMATCH' : 'PROTO_JWS_SIGNATURE_INVALID');
        assert.equal(env.prompts.length, 1, 'only the (verified) merchant was shown, never the forged invoice');
        const c = await counts(env);
        assert.deepEqual({ payments: c.payments, purchases: c.purchases, spent: c.spent }, { payments: 0, purchases: 0, spent: 0 });
        assert.equal(await unspent(env), 16n);
      });
    }

    test('a receipt signed by another payment server is refused; the purchase stays open and a resume completes it, charged once', async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 16n);
      env.hooks.set('POST /v1/payments/ecash', async (_url, _init, forward) => {
        const res = await forward();
        const body = (await res.json()) as { receipt: GeneralJws; changeSignatures: string[] };
        const payload: unknown = JSON.parse(new TextDecoder().decode(decodeBase64url(body.receipt.payload)));
        body.receipt = await signDocument({ payload, typ: RECEIPT_TYP, privateKey: PAY_OTHER.keys.privateKey, alg: 'EdDSA', x5c: PAY_OTHER.chain });
        return new Response(JSON.stringify(body), { status: res.status, headers: { 'content-type': 'application/json' } });
      });
      const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, env.deps);
      assert.equal(!r.ok && r.code, 'WALLET_RECEIPT_INVALID');
      const open = await env.wallet.db.selectFrom('wallet_purchases').select(['state', 'last_error', 'receipt_jws']).executeTakeFirstOrThrow();
      assert.deepEqual(open, { state: 'PAYING', last_error: 'WALLET_RECEIPT_INVALID', receipt_jws: null });
      assert.equal(await unspent(env), 8n, 'the coins given to the payment stay spent, the change stays pending');

      env.hooks.clear();
      const resumed = value(await resumePurchases(env.wallet, env.deps));
      assert.deepEqual(resumed.failed, []);
      assert.equal(resumed.resumed.length, 1);
      assert.equal(resumed.resumed[0]!.receipt.recipient.id, 'pay-1');
      assert.equal(await unspent(env), 11n);
      await assertChargedOnce(env, 5n);
    });

    test('crash after 170 (the answer is lost): the resume sends the identical request and gets the same receipt, charged once', async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 16n);
      const sent: string[] = [];
      let lose = true;
      env.hooks.set('POST /v1/payments/ecash', async (_url, init, forward) => {
        sent.push(String(init?.body));
        const res = await forward();
        if (lose) {
          lose = false;
          await res.arrayBuffer();
          throw new TypeError('fetch failed', { cause: new Error('connection reset') });
        }
        return res;
      });
      const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: true, mode: 'ecash' }, env.deps);
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
      assert.equal((await env.wallet.db.selectFrom('wallet_purchases').select('state').executeTakeFirstOrThrow()).state, 'PAYING');
      await assertChargedOnce(env, 5n);

      const resumed = value(await resumePurchases(env.wallet, env.deps));
      assert.deepEqual(resumed.failed, []);
      assert.equal(sent.length, 2);
      assert.equal(sent[1], sent[0], 'the repeat is byte-identical');
      const stored = await env.pay.db.selectFrom('payment_payments').select('receipt_jws').executeTakeFirstOrThrow();
      const kept = await env.wallet.db.selectFrom('wallet_purchases').select('receipt_jws').executeTakeFirstOrThrow();
      assert.deepEqual(JSON.parse(kept.receipt_jws!), JSON.parse(stored.receipt_jws!));
      assert.equal(await unspent(env), 11n);
      await assertChargedOnce(env, 5n);
    });

    test('an accepted invoice that falls due before the wallet pays locks no coins: resume stops with WALLET_INVOICE_EXPIRED', async (ctx) => {
      const env = await startEnv(t, ctx);
      await fund(env, 16n);
      // The 160 answer is lost: the purchase stays INVOICED with its 150 stored.
      let lose = true;
      env.hooks.set('POST /v1/money-reception', async (_url, _init, forward) => {
        const res = await forward();
        if (lose) {
          lose = false;
          await res.arrayBuffer();
          throw new TypeError('fetch failed', { cause: new Error('connection reset') });
        }
        return res;
      });
      const r = await buy(env.wallet, { merchantUrl: env.merchantUrl, items: ITEMS, anonymous: true, mode: 'ecash' }, env.deps);
      assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
      // Two days later (past the invoice's due time) the wallet resumes.
      const later = { ...env.deps, now: () => new Date(PKI_NOW.getTime() + 2 * 86_400_000) };
      const resumed = value(await resumePurchases(env.wallet, later));
      assert.deepEqual(resumed.failed.map((f) => f.code), ['WALLET_INVOICE_EXPIRED']);
      assert.equal(await unspent(env), 16n, 'every coin is still spendable');
      const coins = await env.wallet.db.selectFrom('wallet_coins').select('state').where('state', '<>', 'unspent').execute();
      assert.deepEqual(coins, []);
    });
  });
}
