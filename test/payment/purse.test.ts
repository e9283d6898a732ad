// Mode account at the payment server (issue 4): a purse is a reserve bound to
// a certified shopper by a registration both keys signed (POST /v1/purses),
// loaded like a reserve, and debited against the countersigned invoice of that
// shopper (POST /v1/payments/account). Every attack is refused with its code
// and leaves the books and every row as they were; the audit checks the rest.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { auditPayment } from '../../src/payment/audit.ts';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { reserveView } from '../../src/payment/reserves.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { PURSE_REGISTRATION_TYP, RECEIPT_TYP, type PurseRegistration } from '../../src/protocol/documents/index.ts';
import { signEd25519 } from '../../src/protocol/ed25519.ts';
import { signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { accountPaymentSigningBytes, AccountPaymentResponse, purseRegistrationSigningBytes, type AccountPaymentRequest } from '../../src/protocol/messages/payment.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { assertBooks, assertRefused, balanceOf, creditReserve, newRequestId, postWithdraw, prepareCoins, reserveKeys, withdrawCoins, withdrawRequest } from './emoney-client.ts';
import {
  accept,
  anonymousPurchaser,
  assertUnchanged,
  certifiedSigner,
  ecashRequest,
  everything,
  HOUR,
  invoiceFor,
  merchantBalance,
  post150,
  receptionRequest,
  signedInvoice,
  PAY,
  post170,
  setUpPurchase,
  SHOP,
  verifyPaymentDocument,
  type Env,
  type Purchaser,
} from './purchase-env.ts';

type PurseKey = { pub: string; privateKey: CryptoKey };

/** An account-mode invoice of `yen` (one line, so the amount is the lines' sum). */
function accountInvoice(yen: number) {
  return { paymentMode: 'account' as const, amount: `JPY:${yen}`, lines: [{ article: 'A', name: 'ARTICLE A', quantity: yen, unitPrice: 'JPY:1' }] };
}

async function registration(env: Env, partyId: string, purse: PurseKey, over: { signer?: Purchaser['signer']; doc?: Partial<PurseRegistration>; signedBinding?: Partial<PurseRegistration> } = {}): Promise<{ registration: GeneralJws; purseSignature: string }> {
  const doc: PurseRegistration = { typ: PURSE_REGISTRATION_TYP, partyId, purseKey: purse.pub, paymentServerId: PAY.id, time: env.p.clock.now.toISOString(), ...over.doc };
  const leaf = over.signer ? undefined : await env.p.pki.leaf({ role: 'client', partyId });
  const signer = over.signer ?? certifiedSigner(leaf!, PURSE_REGISTRATION_TYP);
  const jws = await signDocument({ payload: doc, ...signer, typ: PURSE_REGISTRATION_TYP });
  const purseSignature = encodeBase64url(await signEd25519(purse.privateKey, purseRegistrationSigningBytes({ ...doc, ...over.signedBinding })));
  return { registration: jws, purseSignature };
}

function postPurse(env: Env, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: '/v1/purses', payload: body as object });
}

function postAccount(env: Env, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: '/v1/payments/account', payload: body as object });
}

async function accountRequest(fields: { invoiceHash: string; transactionId: string; amount: string; merchantId?: string }, purse: PurseKey, signedFor: Record<string, string> = {}): Promise<AccountPaymentRequest> {
  const body = { invoiceHash: fields.invoiceHash, transactionId: fields.transactionId, merchantId: fields.merchantId ?? SHOP.id, amount: fields.amount, purseKey: purse.pub };
  return { ...body, purseSignature: encodeBase64url(await signEd25519(purse.privateKey, accountPaymentSigningBytes({ ...body, ...signedFor }))) };
}

for (const t of testDatabases()) {
  void describe(`purses: mode account at the payment server (${t.name})`, () => {
    /** Alice's purse registered and loaded with JPY:10. */
    async function withPurse(ctx: { after: (fn: () => Promise<void>) => void }): Promise<{ env: Env; purse: PurseKey }> {
      const env = await setUpPurchase(t, ctx);
      const purse = await reserveKeys(env.w, 40);
      const r = await postPurse(env, await registration(env, env.alice.id, purse));
      assert.equal(r.statusCode, 201, r.body);
      await creditReserve(env.p.deps, purse.pub, 'JPY', 10n);
      return { env, purse };
    }

    void test('register (repeat answers the same), load, 150 → 170 from the purse → receipt in mode account; a replay charges once', async (ctx) => {
      const env = await setUpPurchase(t, ctx);
      const db = env.p.deps.db;
      const purse = await reserveKeys(env.w, 40);
      const body = await registration(env, env.alice.id, purse);
      const first = await postPurse(env, body);
      assert.equal(first.statusCode, 201, first.body);
      assert.deepEqual(first.json(), { purseKey: purse.pub, partyId: 'alice', registeredAt: PKI_NOW.toISOString() });
      const again = await postPurse(env, body);
      assert.equal(again.statusCode, 200);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());
      await creditReserve(env.p.deps, purse.pub, 'JPY', 10n);

      const { invoice, hash } = await accept(env, env.alice, { paymentMode: 'account' });
      const request = await accountRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, purse);
      const pay = await postAccount(env, request);
      assert.equal(pay.statusCode, 201, pay.body);
      const receipt = await verifyPaymentDocument(env, AccountPaymentResponse.parse(pay.json()).receipt, RECEIPT_TYP);
      assert.deepEqual(receipt, { typ: RECEIPT_TYP, transactionId: invoice.transactionId, purchaserId: 'alice', amountReceived: 'JPY:5', mode: 'account', shop: SHOP, recipient: PAY, time: PKI_NOW.toISOString(), invoiceHash: hash });
      assert.equal(await merchantBalance(env), 5n);
      assert.equal(await balanceOf(db, ledgerAccount.reserve(purse.pub)), 5n);
      const view = await reserveView(db, purse.pub);
      assert.equal(view?.paid, 'JPY:5');
      assert.equal(view?.balance, 'JPY:5');

      const replay = await postAccount(env, request);
      assert.equal(replay.statusCode, 200, replay.body);
      assert.equal(replay.headers['idempotent-replay'], 'true');
      assert.deepEqual(replay.json(), pay.json());
      assert.equal(await merchantBalance(env), 5n);
      const state = await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/${invoice.transactionId}` });
      assert.equal(state.json<{ state: string }>().state, 'PAID');
      // The rest of the purse can still be withdrawn as coins by its key.
      const pending = await prepareCoins(env.w, ['JPY:4', 'JPY:1']);
      const withdrawn = await postWithdraw(env.p, await withdrawRequest(purse, newRequestId(), pending.map((c) => c.envelope)));
      assert.equal(withdrawn.statusCode, 201, withdrawn.body);
      assert.equal(await balanceOf(db, ledgerAccount.reserve(purse.pub)), 0n);
      await assertBooks(db);
    });

    void test('registration attacks: other party, purse key not signing, key taken, stale, other server, anonymous or merchant signer, malformed', async (ctx) => {
      const env = await setUpPurchase(t, ctx);
      const purse = await reserveKeys(env.w, 41);
      const before = await everything(env);
      const bobLeaf = await env.p.pki.leaf({ role: 'client', partyId: 'bob' });
      // Bob signs a registration in Alice's name.
      assertRefused(await postPurse(env, await registration(env, 'alice', purse, { signer: certifiedSigner(bobLeaf, PURSE_REGISTRATION_TYP) })), 403, 'PAY_PURCHASER_MISMATCH');
      // The purse key signed another binding (Bob took Alice's purse signature for his own registration).
      assertRefused(await postPurse(env, await registration(env, 'bob', purse, { signedBinding: { partyId: 'alice' } })), 403, 'PAY_PURSE_SIGNATURE_INVALID');
      const otherKey = await reserveKeys(env.w, 42);
      const stolen = await registration(env, 'bob', purse);
      stolen.purseSignature = (await registration(env, 'bob', otherKey)).purseSignature;
      assertRefused(await postPurse(env, stolen), 403, 'PAY_PURSE_SIGNATURE_INVALID');
      assertRefused(await postPurse(env, await registration(env, 'alice', purse, { doc: { time: new Date(PKI_NOW.getTime() - HOUR).toISOString() } })), 422, 'PAY_DOCUMENT_INVALID');
      assertRefused(await postPurse(env, await registration(env, 'alice', purse, { doc: { paymentServerId: 'pay-2' } })), 422, 'PAY_DOCUMENT_INVALID');
      const anon = await anonymousPurchaser();
      assertRefused(await postPurse(env, await registration(env, anon.id.slice(0, 32), purse, { signer: anon.signer })), 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      const shopLeaf = await env.p.pki.leaf({ role: 'merchant', partyId: 'mallory-shop' });
      assertRefused(await postPurse(env, await registration(env, 'mallory-shop', purse, { signer: certifiedSigner(shopLeaf, PURSE_REGISTRATION_TYP) })), 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      for (const bad of [{}, { registration: 'x', purseSignature: 'y' }, { ...(await registration(env, 'alice', purse)), extra: 1 }]) {
        assert.equal((await postPurse(env, bad)).statusCode, 400);
      }
      await assertUnchanged(env, before);
      // The key's holder registers it for Alice; Bob cannot have it too, even with the key's consent.
      assert.equal((await postPurse(env, await registration(env, 'alice', purse))).statusCode, 201);
      assertRefused(await postPurse(env, await registration(env, 'bob', purse)), 409, 'PAY_PURSE_TAKEN');
      await assertBooks(env.p.deps.db);
    });

    void test('payment attacks: another purchaser\'s purse, unregistered key, wrong signer, too little, wrong mode, wrong amount, expired, conflict — nothing changes', async (ctx) => {
      const { env, purse } = await withPurse(ctx);
      const db = env.p.deps.db;
      const { invoice, hash } = await accept(env, env.alice, { paymentMode: 'account' });
      const fields = { invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' };
      // Bob's purse cannot pay Alice's invoice (nor Alice's purse Bob's: the owner is checked, not the payer).
      const bobPurse = await reserveKeys(env.w, 43);
      assert.equal((await postPurse(env, await registration(env, 'bob', bobPurse))).statusCode, 201);
      await creditReserve(env.p.deps, bobPurse.pub, 'JPY', 10n);
      assertRefused(await postAccount(env, await accountRequest(fields, bobPurse)), 403, 'PAY_PURCHASER_MISMATCH');
      assertRefused(await postAccount(env, await accountRequest(fields, await reserveKeys(env.w, 44))), 404, 'PAY_PURSE_UNKNOWN');
      // Signed by another key than the purse named, or over other bytes.
      const forged = await accountRequest(fields, purse);
      forged.purseSignature = (await accountRequest(fields, bobPurse)).purseSignature;
      assertRefused(await postAccount(env, forged), 403, 'PAY_PURSE_SIGNATURE_INVALID');
      assertRefused(await postAccount(env, await accountRequest(fields, purse, { amount: 'JPY:1' })), 403, 'PAY_PURSE_SIGNATURE_INVALID');
      assertRefused(await postAccount(env, await accountRequest({ ...fields, amount: 'JPY:4' }, purse)), 422, 'PAY_INVOICE_MISMATCH');
      assertRefused(await postAccount(env, await accountRequest({ ...fields, transactionId: 'tx-unknown' }, purse)), 404, 'PAY_PAYMENT_UNKNOWN');
      // An account invoice cannot be paid with coins, nor an e-money invoice from a purse.
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      assertRefused(await post170(env, await ecashRequest(fields, coins, [])), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      const ecash = await accept(env, env.alice);
      assertRefused(await postAccount(env, await accountRequest({ invoiceHash: ecash.hash, transactionId: ecash.invoice.transactionId, amount: 'JPY:5' }, purse)), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      // An anonymous purchaser owns no purse: its account invoice is refused at 150 already.
      const anon = await anonymousPurchaser();
      const anonJws = await signedInvoice(invoiceFor(anon.id, { paymentMode: 'account' }), env.merchant, anon);
      assertRefused(await post150(env, { invoice: anonJws, request: await receptionRequest(anon, anonJws) }), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      // More than the purse holds.
      const big = await accept(env, env.alice, accountInvoice(11));
      const afterAccepts = await everything(env);
      assertRefused(await postAccount(env, await accountRequest({ invoiceHash: big.hash, transactionId: big.invoice.transactionId, amount: 'JPY:11' }, purse)), 409, 'PAY_PURSE_INSUFFICIENT');
      await assertUnchanged(env, afterAccepts);

      // Malformed bodies: the schema answers 400 and nothing is read.
      const good = await accountRequest(fields, purse);
      for (const bad of [{}, { ...good, purseSignature: 'x' }, { ...good, purseKey: 'not-a-key' }, { ...good, amount: '5 yen' }, { ...good, extra: true }, { ...good, transactionId: '' }]) {
        const res = await postAccount(env, bad);
        assert.equal(res.statusCode, 400, res.body);
      }
      await assertUnchanged(env, afterAccepts);

      // Past due.
      const saved = env.p.clock.now;
      env.p.clock.now = new Date(Date.parse(invoice.paymentDueTime) + 1000);
      assertRefused(await postAccount(env, await accountRequest(fields, purse)), 422, 'PAY_INVOICE_EXPIRED');
      env.p.clock.now = saved;
      await assertUnchanged(env, afterAccepts);

      // Paid once; another request for the same transaction is a conflict, not a second charge.
      assert.equal((await postAccount(env, await accountRequest(fields, purse))).statusCode, 201);
      const paid = await everything(env);
      assertRefused(await postAccount(env, await accountRequest(fields, bobPurse)), 422, 'PAY_REQUEST_CONFLICT');
      await assertUnchanged(env, paid);
      assert.equal(await balanceOf(db, ledgerAccount.reserve(purse.pub)), 5n);
    });

    void test('two invoices racing for one purse: exactly what the purse holds is paid', async (ctx) => {
      const { env, purse } = await withPurse(ctx);
      const a = await accept(env, env.alice, accountInvoice(6));
      const b = await accept(env, env.alice, accountInvoice(6));
      const results = await Promise.all(
        [a, b].map(async (x) => postAccount(env, await accountRequest({ invoiceHash: x.hash, transactionId: x.invoice.transactionId, amount: 'JPY:6' }, purse))),
      );
      const codes = results.map((r) => r.statusCode).sort();
      assert.deepEqual(codes, [201, 409]);
      assert.equal(results.find((r) => r.statusCode === 409)!.json<{ code: string }>().code, 'PAY_PURSE_INSUFFICIENT');
      assert.equal(await merchantBalance(env), 6n);
      assert.equal(await balanceOf(env.p.deps.db, ledgerAccount.reserve(purse.pub)), 4n);
      await assertBooks(env.p.deps.db);
    });

    void test('the audit names a purse debit without the purse key\'s signature, a purse moved to another owner in the database, and a payment from a purse that is not the purchaser\'s', async (ctx) => {
      const { env, purse } = await withPurse(ctx);
      const db = env.p.deps.db;
      const { invoice, hash } = await accept(env, env.alice, { paymentMode: 'account' });
      assert.equal((await postAccount(env, await accountRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, purse))).statusCode, 201);
      await assertBooks(db);
      // A debit without the purse key's order (its stored signature replaced) is named.
      const paid = await db.selectFrom('payment_payments').select(['payment_id', 'purse_signature']).where('state', '=', 'PAID').executeTakeFirstOrThrow();
      assert.ok(paid.purse_signature);
      await db.updateTable('payment_payments').set({ purse_signature: null }).where('payment_id', '=', paid.payment_id).execute();
      const unsigned = await auditPayment(db);
      assert.deepEqual(unsigned.checks.filter((c) => !c.ok).map((c) => c.name), ['payments']);
      assert.match(unsigned.checks.find((c) => c.name === 'payments')!.problems.join('\n'), /without the purse key's valid signature/);
      await db.updateTable('payment_payments').set({ purse_signature: paid.purse_signature }).where('payment_id', '=', paid.payment_id).execute();
      await assertBooks(db);

      await db.updateTable('payment_purses').set({ party_id: 'mallory' }).where('purse_key', '=', purse.pub).execute();
      const report = await auditPayment(db);
      const failed = Object.fromEntries(report.checks.filter((c) => !c.ok).map((c) => [c.name, c.problems.join('\n')]));
      assert.deepEqual(Object.keys(failed).sort(), ['payments', 'purses']);
      assert.match(failed.purses!, /registration names alice/);
      assert.match(failed.payments!, /belongs to mallory, not to the purchaser alice/);
    });
  });
}
