// Refunds at the payment server (issue 5, messages 1150 → 1220, DESIGN §3): a
// merchant's repayment permit, countersigned by the purchaser, pays once —
// fresh coins (mode ecash) or a purse credit (mode account) out of the
// merchant's collected balance — and several partial refunds never exceed
// the payment. Every attack is refused with its code and leaves the books and
// every row as they were; the audit passes after each and names tampering.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { auditPayment } from '../../src/payment/audit.ts';
import { createPending, ledgerAccount, voidPending } from '../../src/payment/ledger.ts';
import { addMerchant, merchantAccount, setMerchantNotifyUrl, setMerchantStatus } from '../../src/payment/merchants.ts';
import { reserveView } from '../../src/payment/reserves.ts';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import { INVOICE_TYP, REMITTANCE_REQUEST_TYP, REPAYMENT_STATE_TYP, type RemittanceRequest } from '../../src/protocol/documents/index.ts';
import { signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { PaymentStateAnswer } from '../../src/protocol/messages/merchant.ts';
import { RemittanceAnswer, RepaymentStateAnswer } from '../../src/protocol/messages/payment.ts';
import { canonicalizeToBytes } from '../../src/protocol/rfc8785.ts';
import { certificateToPem } from '../../src/protocol/x509/index.ts';
import { buildPki, PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, assertRefused, balanceOf, newRequestId, postSwap, prepareCoins, reserveKeys, swapRequest } from './emoney-client.ts';
import { accept, anonymousPurchaser, assertUnchanged, certifiedSigner, clientPurchaser, everything, merchantBalance, setUpPurchase, SHOP, verifyPaymentDocument, type Env, type Purchaser } from './purchase-env.ts';
import {
  claimOf,
  coinsOf,
  getRepayment,
  paidFromPurse,
  paidWithCoins,
  permitFor,
  postReceipt,
  postRepayment,
  registeredPurse,
  remittanceRequest,
  repaymentReceipt,
  signedPermit,
  unblindCoins,
} from './repayment-env.ts';

type Ctx = { after: (fn: () => Promise<void>) => void };

async function paymentView(env: Env, transactionId: string): Promise<PaymentStateAnswer> {
  const res = await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/${transactionId}` });
  assert.equal(res.statusCode, 200, res.body);
  // The merchant and the wallet read it with the strict protocol schema.
  return PaymentStateAnswer.parse(res.json());
}

/** The same request signed again over another payload: the signature no longer covers it. */
function withPayload(jws: GeneralJws, payload: unknown) {
  return { payload: encodeBase64url(value(canonicalizeToBytes(payload))), signatures: jws.signatures.map((x) => ({ ...x })) };
}

function payloadOf<T>(jws: { payload: string }): T {
  return JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as T;
}

async function otherMerchant(env: Env, partyId: string, contract: boolean) {
  const leaf = await env.p.pki.leaf({ role: 'merchant', partyId, displayName: `Shop ${partyId}` });
  if (contract) value(await addMerchant(env.p.deps.db, { chainPem: leaf.chain.map((c) => certificateToPem(c)).join(''), payoutAccount: null, trustAnchor: env.p.pki.root.der, now: env.p.clock.now }));
  return leaf;
}

for (const t of testDatabases()) {
  void describe(`refunds at the payment server (${t.name})`, () => {
    const setUp = (ctx: Ctx, opts: { withCrls?: boolean } = {}) => setUpPurchase(t, ctx, opts);

    void test('ecash: refunded in full (fresh coins that verify and spend), replayed (same answer, paid once), receipt (completed), state for the merchant', async (ctx) => {
      const env = await setUp(ctx);
      const db = env.p.deps.db;
      const { invoice } = await paidWithCoins(env, env.alice, 5);
      assert.equal(await merchantBalance(env), 5n);
      const floatBefore = await balanceOf(db, ledgerAccount.float('JPY'));
      const claim = await claimOf(env, permitFor(env, invoice), env.alice);
      const permitId = claim.permit.permitId;

      const res = await postRepayment(env, claim.body);
      assert.equal(res.statusCode, 201, res.body);
      const answer = RemittanceAnswer.parse(res.json());
      const remitted = await verifyPaymentDocument(env, answer.state, REPAYMENT_STATE_TYP);
      assert.deepEqual(remitted, { typ: REPAYMENT_STATE_TYP, transactionId: invoice.transactionId, permitId, shopId: SHOP.id, amount: 'JPY:5', state: 'remitted', time: PKI_NOW.toISOString() });
      const fresh = await unblindCoins(claim.pending, answer.blindSignatures);
      // The merchant's takings went back into the float as fresh coins.
      assert.equal(await merchantBalance(env), 0n);
      assert.equal(await balanceOf(db, ledgerAccount.float('JPY')), floatBefore + 5n);
      const view = await paymentView(env, invoice.transactionId);
      assert.equal(view.state, 'REPAYMENT_COMPLETION');
      assert.equal(view.refunded, 'JPY:5');
      assert.ok(view.receipt);
      assert.equal((await db.selectFrom('payment_payments').select('state').executeTakeFirstOrThrow()).state, 'PAID');
      await assertBooks(db);

      // Replayed (a lost answer), even after the permit's due time: the same answer, nothing paid again.
      const paid = await everything(env);
      const again = await postRepayment(env, claim.body);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), res.json());
      env.p.clock.now = new Date(Date.parse(claim.permit.dueTime) + 1000);
      const late = await postRepayment(env, claim.body);
      assert.equal(late.statusCode, 200, late.body);
      assert.deepEqual(late.json(), res.json());
      env.p.clock.now = PKI_NOW;
      // The same permit with another claim (other envelopes), or another permit under the same id: used.
      const other = await claimOf(env, claim.permit, env.alice);
      assertRefused(await postRepayment(env, other.body), 409, 'PAY_PERMIT_USED');
      const reissued = await claimOf(env, { ...claim.permit, amount: 'JPY:1' }, env.alice);
      assertRefused(await postRepayment(env, reissued.body), 409, 'PAY_PERMIT_USED');
      await assertUnchanged(env, paid);

      // The fresh coins are e-money like any other: they spend.
      const next = await prepareCoins(env.w, coinsOf(5));
      const swapped = await postSwap(env.p, await swapRequest(newRequestId(), fresh, next.map((c) => c.envelope)));
      assert.equal(swapped.statusCode, 201, swapped.body);

      // 1190 → 1200: the shopper's receipt, carried in the signed state `completed`.
      const receipt = await repaymentReceipt(env, env.alice, claim.body.permit);
      const done = await postReceipt(env, permitId, { receipt });
      assert.equal(done.statusCode, 201, done.body);
      const completed = (await verifyPaymentDocument(env, RepaymentStateAnswer.parse(done.json()).state, REPAYMENT_STATE_TYP)) as Record<string, unknown>;
      assert.equal(completed.state, 'completed');
      assert.deepEqual(completed.repaymentReceipt, receipt);
      const repeated = await postReceipt(env, permitId, { receipt });
      assert.equal(repeated.statusCode, 200);
      assert.equal(repeated.headers['idempotent-replay'], 'true');
      assert.deepEqual(repeated.json(), done.json());
      // A second receipt (signed later) changes nothing: the first is the evidence.
      const settled = await everything(env);
      env.p.clock.now = new Date(PKI_NOW.getTime() + 60_000);
      const second = await postReceipt(env, permitId, { receipt: await repaymentReceipt(env, env.alice, claim.body.permit) });
      assert.equal(second.statusCode, 200);
      assert.deepEqual(second.json(), done.json());
      await assertUnchanged(env, settled);

      // 1210 → 1220: signed now, with the receipt.
      const asked = await getRepayment(env, SHOP.id, permitId);
      assert.equal(asked.statusCode, 200, asked.body);
      assert.equal(asked.headers['cache-control'], 'no-store');
      const state = (await verifyPaymentDocument(env, RepaymentStateAnswer.parse(asked.json()).state, REPAYMENT_STATE_TYP)) as Record<string, unknown>;
      assert.deepEqual(state, { ...completed, time: env.p.clock.now.toISOString() });
      await assertBooks(db);
    });

    void test('account: refunded into the purchaser\'s purse, the rest into a purse never loaded; purse views and books agree', async (ctx) => {
      const env = await setUp(ctx);
      const db = env.p.deps.db;
      // The shop wants to be told: each money movement below leaves one notification in the outbox.
      value(await setMerchantNotifyUrl(db, SHOP.id, 'http://shop.example/', env.p.clock.now));
      const purse = await registeredPurse(env, env.alice, 40, 10);
      const { invoice } = await paidFromPurse(env, env.alice, purse, 6);
      assert.equal(await balanceOf(db, ledgerAccount.reserve(purse.pub)), 4n);

      const first = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:2' }), env.alice, purse);
      const res = await postRepayment(env, first.body);
      assert.equal(res.statusCode, 201, res.body);
      const answer = RemittanceAnswer.parse(res.json());
      assert.deepEqual(answer.blindSignatures, []);
      assert.equal(((await verifyPaymentDocument(env, answer.state, REPAYMENT_STATE_TYP)) as { amount: string }).amount, 'JPY:2');
      assert.equal(await balanceOf(db, ledgerAccount.reserve(purse.pub)), 6n);
      const v1 = await reserveView(db, purse.pub);
      assert.deepEqual([v1?.credited, v1?.paid, v1?.refunded, v1?.balance], ['JPY:10', 'JPY:6', 'JPY:2', 'JPY:6']);
      assert.equal((await paymentView(env, invoice.transactionId)).state, 'PAID');

      // The rest into another purse of Alice's that nothing was loaded into: it becomes a reserve.
      const fresh = await registeredPurse(env, env.alice, 41);
      const rest = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:4' }), env.alice, fresh);
      assert.equal((await postRepayment(env, rest.body)).statusCode, 201);
      const v2 = await reserveView(db, fresh.pub);
      assert.deepEqual([v2?.credited, v2?.paid, v2?.refunded, v2?.balance], ['JPY:0', 'JPY:0', 'JPY:4', 'JPY:4']);
      const view = await paymentView(env, invoice.transactionId);
      assert.deepEqual([view.state, view.refunded], ['REPAYMENT_COMPLETION', 'JPY:6']);
      assert.equal(await merchantBalance(env), 0n);
      await assertBooks(db);
      const outbox = await db.selectFrom('payment_notifications').select(['kind', 'ref', 'event', 'state']).orderBy('created_at').orderBy('kind').execute();
      assert.deepEqual(
        outbox.map((n) => [n.kind, n.ref, n.event, n.state]).sort(),
        [
          ['payment', invoice.transactionId, 'paid', 'pending'],
          ['repayment', first.permit.permitId, 'remitted', 'pending'],
          ['repayment', rest.permit.permitId, 'remitted', 'pending'],
        ].sort(),
      );

      // Into Bob's purse, an unregistered key, with envelopes, or for an anonymous recipient: refused.
      const again = await paidFromPurse(env, env.alice, purse, 2);
      const bob = await clientPurchaser(env.p, 'bob');
      const bobPurse = await registeredPurse(env, bob, 42);
      const before = await everything(env);
      assertRefused(await postRepayment(env, (await claimOf(env, permitFor(env, again.invoice), env.alice, bobPurse)).body), 403, 'PAY_PURCHASER_MISMATCH');
      assertRefused(await postRepayment(env, (await claimOf(env, permitFor(env, again.invoice), env.alice, await reserveKeys(env.w, 43))).body), 404, 'PAY_PURSE_UNKNOWN');
      const withEnvelopes = await claimOf(env, permitFor(env, again.invoice), env.alice, purse);
      withEnvelopes.body.envelopes = (await prepareCoins(env.w, ['JPY:2'])).map((c) => c.envelope);
      assertRefused(await postRepayment(env, withEnvelopes.body), 422, 'PAY_PERMIT_MISMATCH');
      await assertUnchanged(env, before);
      const anon = await anonymousPurchaser();
      const anonPaid = await paidWithCoins(env, anon, 2);
      const afterAnon = await everything(env);
      const anonPermit = await signedPermit(permitFor(env, anonPaid.invoice, { mode: 'account' }), env.merchant, anon);
      assertRefused(await postRepayment(env, { permit: anonPermit, request: await remittanceRequest(env, anon, anonPermit, { purseKey: purse.pub }), envelopes: [] }), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      await assertUnchanged(env, afterAnon);
    });

    void test('anonymous purchaser, partial refunds then the rest; a refund beyond the payment or with envelopes signed before is refused', async (ctx) => {
      const env = await setUp(ctx);
      const anon = await anonymousPurchaser();
      const { invoice } = await paidWithCoins(env, anon, 5);
      const c1 = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:2' }), anon);
      assert.equal((await postRepayment(env, c1.body)).statusCode, 201);
      const partly = await paymentView(env, invoice.transactionId);
      assert.deepEqual([partly.state, partly.refunded], ['PAID', 'JPY:2']);
      assert.equal(await merchantBalance(env), 3n);

      const partial = await everything(env);
      // Within what is left, but blinded into envelopes already signed.
      const reusing = await signedPermit(permitFor(env, invoice, { amount: 'JPY:2' }), env.merchant, anon);
      assertRefused(await postRepayment(env, { permit: reusing, request: await remittanceRequest(env, anon, reusing, { envelopes: c1.body.envelopes }), envelopes: c1.body.envelopes }), 409, 'PAY_ENVELOPE_REUSED');
      // More than is left.
      assertRefused(await postRepayment(env, (await claimOf(env, permitFor(env, invoice, { amount: 'JPY:4' }), anon)).body), 409, 'PAY_REFUND_EXCEEDS_PAYMENT');
      await assertUnchanged(env, partial);

      const c2 = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:3' }), anon);
      const r2 = await postRepayment(env, c2.body);
      assert.equal(r2.statusCode, 201, r2.body);
      await unblindCoins(c2.pending, RemittanceAnswer.parse(r2.json()).blindSignatures);
      const view = await paymentView(env, invoice.transactionId);
      assert.deepEqual([view.state, view.refunded], ['REPAYMENT_COMPLETION', 'JPY:5']);
      const full = await everything(env);
      assertRefused(await postRepayment(env, (await claimOf(env, permitFor(env, invoice, { amount: 'JPY:1' }), anon)).body), 409, 'PAY_REFUND_EXCEEDS_PAYMENT');
      await assertUnchanged(env, full);

      // The anonymous key acknowledges; another anonymous key may not.
      assertRefused(await postReceipt(env, c2.permit.permitId, { receipt: await repaymentReceipt(env, await anonymousPurchaser(), c2.body.permit) }), 403, 'PAY_PURCHASER_MISMATCH');
      assert.equal((await postReceipt(env, c2.permit.permitId, { receipt: await repaymentReceipt(env, anon, c2.body.permit) })).statusCode, 201);
      await assertBooks(env.p.deps.db);
    });

    void test('1150 attacks: intercepted permits, swapped envelopes, forged or foreign permits, wrong server, unpaid, past due, malformed — each refused, nothing changes', async (ctx) => {
      const env = await setUp(ctx);
      const { invoice } = await paidWithCoins(env, env.alice, 5);
      const unpaid = await accept(env, env.alice);
      const bob = await clientPurchaser(env.p, 'bob');
      const anon = await anonymousPurchaser();
      const shop2 = await otherMerchant(env, 'shop-2', true);
      const shop3 = await otherMerchant(env, 'shop-3', false);
      const bobLeaf = await env.p.pki.leaf({ role: 'client', partyId: 'bob-shop' });
      const before = await everything(env);
      const permit = permitFor(env, invoice);
      const envelopesOf = async (yen: number) => (await prepareCoins(env.w, coinsOf(yen))).map((c) => c.envelope);

      // Another registered shopper, and an anonymous attacker, present Alice's permit as their own.
      for (const thief of [bob, anon]) {
        const stolen = await signedPermit(permit, env.merchant, thief);
        const envelopes = await envelopesOf(5);
        assertRefused(await postRepayment(env, { permit: stolen, request: await remittanceRequest(env, thief, stolen, { envelopes }), envelopes }), 403, 'PAY_PURCHASER_MISMATCH');
      }
      // A thief who intercepted Alice's countersigned permit and request cannot redirect the coins:
      // swapped envelopes no longer match the request; a request of their own is not Alice's key;
      // Alice's request edited to name their envelopes no longer verifies.
      const alices = await claimOf(env, permit, env.alice);
      const theirs = await envelopesOf(5);
      assertRefused(await postRepayment(env, { ...alices.body, envelopes: theirs }), 422, 'PAY_PERMIT_MISMATCH');
      assertRefused(await postRepayment(env, { ...alices.body, request: await remittanceRequest(env, bob, alices.body.permit, { envelopes: theirs }), envelopes: theirs }), 403, 'PAY_PURCHASER_MISMATCH');
      const edited = withPayload(alices.body.request, { ...payloadOf<RemittanceRequest>(alices.body.request), envelopesHash: payloadOf<RemittanceRequest>(await remittanceRequest(env, env.alice, alices.body.permit, { envelopes: theirs })).envelopesHash });
      const r1 = await postRepayment(env, { ...alices.body, request: edited, envelopes: theirs });
      assertRefused(r1, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      assert.equal(r1.json<{ details: { document: string } }>().details.document, 'request');
      // Not countersigned at all.
      assertRefused(await postRepayment(env, { ...alices.body, permit: await signedPermit(permit, env.merchant, undefined) }), 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');

      // A merchant forging a permit for another merchant's transaction: in that merchant's name, or in its own.
      const claimSignedBy = async (p: typeof permit, leaf: typeof shop2, recipient: Purchaser = env.alice) => {
        const jws = await signedPermit(p, leaf, recipient);
        const envelopes = await envelopesOf(Number(p.amount.slice(4)));
        return { permit: jws, request: await remittanceRequest(env, recipient, jws, { envelopes }), envelopes };
      };
      assertRefused(await postRepayment(env, await claimSignedBy(permit, shop2)), 422, 'PAY_PERMIT_MISMATCH');
      assertRefused(await postRepayment(env, await claimSignedBy({ ...permit, shop: { id: 'shop-2', name: 'Shop shop-2' } }, shop2)), 404, 'PAY_PAYMENT_UNKNOWN');
      assertRefused(await postRepayment(env, await claimSignedBy({ ...permit, shop: { id: 'shop-3', name: 'Shop shop-3' } }, shop3)), 404, 'PAY_PAYMENT_UNKNOWN');
      // Signed by a shopper's certificate instead of a merchant's.
      const byClient = await signedPermit(permit, bobLeaf, env.alice);
      assertRefused(await postRepayment(env, { ...alices.body, permit: byClient, request: await remittanceRequest(env, env.alice, byClient, { envelopes: alices.body.envelopes }) }), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      // The shop permits a refund of Alice's purchase to an accomplice.
      assertRefused(await postRepayment(env, await claimSignedBy({ ...permit, recipientId: 'bob' }, env.merchant, bob)), 403, 'PAY_PURCHASER_MISMATCH');

      // Another payment server's permit, a request addressed elsewhere or for another amount, envelopes worth less.
      assertRefused(await postRepayment(env, await claimSignedBy({ ...permit, repayer: { ...permit.repayer, id: 'pay-2' } }, env.merchant)), 422, 'PAY_PERMIT_MISMATCH');
      const elsewhere = await remittanceRequest(env, env.alice, alices.body.permit, { envelopes: alices.body.envelopes }, { paymentServerId: 'pay-2' });
      assertRefused(await postRepayment(env, { ...alices.body, request: elsewhere }), 422, 'PAY_PERMIT_MISMATCH');
      const lessAsked = await remittanceRequest(env, env.alice, alices.body.permit, { envelopes: alices.body.envelopes }, { amount: 'JPY:4' });
      assertRefused(await postRepayment(env, { ...alices.body, request: lessAsked }), 422, 'PAY_PERMIT_MISMATCH');
      const four = await envelopesOf(4);
      assertRefused(await postRepayment(env, { ...alices.body, request: await remittanceRequest(env, env.alice, alices.body.permit, { envelopes: four }), envelopes: four }), 422, 'PAY_PERMIT_MISMATCH');
      // Another currency than the payment's.
      const euro = await signedPermit({ ...permit, amount: 'EUR:0.01' }, env.merchant, env.alice);
      const cent = (await prepareCoins(env.w, ['EUR:0.01'])).map((c) => c.envelope);
      assertRefused(await postRepayment(env, { permit: euro, request: await remittanceRequest(env, env.alice, euro, { envelopes: cent }), envelopes: cent }), 422, 'PAY_CURRENCY_MISMATCH');

      // Nothing paid, or no such transaction.
      assertRefused(await postRepayment(env, (await claimOf(env, permitFor(env, unpaid.invoice), env.alice)).body), 409, 'PAY_PAYMENT_NOT_PAID');
      assertRefused(await postRepayment(env, (await claimOf(env, permitFor(env, { ...invoice, transactionId: 'tx-none' }), env.alice)).body), 404, 'PAY_PAYMENT_UNKNOWN');

      // Past the permit's due time (inclusive: at the due time it still pays, see below); a suspended merchant.
      env.p.clock.now = new Date(Date.parse(permit.dueTime) + 1000);
      assertRefused(await postRepayment(env, alices.body), 422, 'PAY_PERMIT_EXPIRED');
      env.p.clock.now = PKI_NOW;
      value(await setMerchantStatus(env.p.deps.db, SHOP.id, 'suspended', env.p.clock.now));
      assertRefused(await postRepayment(env, alices.body), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      value(await setMerchantStatus(env.p.deps.db, SHOP.id, 'active', env.p.clock.now));

      // Malformed bodies: the schema answers 400 and nothing is read.
      const e0 = alices.body.envelopes[0]!;
      for (const bad of [
        {},
        { permit: alices.body.permit, request: alices.body.request },
        { ...alices.body, extra: 1 },
        { ...alices.body, envelopes: 'x' },
        { ...alices.body, envelopes: [e0, e0] },
        { ...alices.body, envelopes: [{ ...e0, blindedMessage: 'not base64url!' }] },
        { ...alices.body, permit: 'x' },
        { ...alices.body, request: { payload: alices.body.request.payload, signatures: [] } },
      ]) {
        const res = await postRepayment(env, bad);
        assert.equal(res.statusCode, 400, res.body);
      }
      const notJson = await env.app.inject({ method: 'POST', url: '/v1/repayments', headers: { 'content-type': 'application/json' }, payload: '{"permit":' });
      assert.equal(notJson.statusCode, 400, notJson.body);
      await assertUnchanged(env, before);

      // Alice's own claim, at the very due time, still pays.
      env.p.clock.now = new Date(Date.parse(permit.dueTime));
      assert.equal((await postRepayment(env, alices.body)).statusCode, 201);
      env.p.clock.now = PKI_NOW;
      await assertBooks(env.p.deps.db);
    });

    void test('with CRLs: a revoked merchant\'s permit, or a revoked recipient\'s countersignature, is refused', async (ctx) => {
      const env = await setUp(ctx, { withCrls: true });
      const leaf = await env.p.pki.leaf({ role: 'client', partyId: 'carol' });
      const carol: Purchaser = { id: 'carol', signer: certifiedSigner(leaf, INVOICE_TYP) };
      const { invoice } = await paidWithCoins(env, carol, 3);
      const claim = await claimOf(env, permitFor(env, invoice), carol);
      const before = await everything(env);
      for (const revoked of [env.merchant.der, leaf.der]) {
        env.crls.current = [await env.p.pki.crl(env.p.pki.root), await env.p.pki.crl(env.p.pki.intermediate, { revoked: [revoked] })];
        const res = await postRepayment(env, claim.body);
        assertRefused(res, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
        assert.equal(res.json<{ details: { code: string } }>().details.code, 'PROTO_CERT_REVOKED');
      }
      await assertUnchanged(env, before);
    });

    void test('refunds after a payout: refused while the merchant\'s collected balance does not cover them, paid from later takings', async (ctx) => {
      const env = await setUp(ctx);
      const db = env.p.deps.db;
      const { invoice } = await paidWithCoins(env, env.alice, 5);
      const claim = await claimOf(env, permitFor(env, invoice), env.alice);
      const before = await everything(env);
      // A payout in progress holds the merchant's takings (payouts are not built yet: a held transfer stands for one).
      const merchant = merchantAccount(SHOP.id, 'JPY');
      const hold = 'test-payout-hold';
      assert.equal(await createPending(db, { id: hold, debit: merchant, credit: ledgerAccount.bank('JPY'), currency: 'JPY', amount: 4n, reason: 'test' }, env.p.clock.now), true);
      const held = await everything(env);
      assertRefused(await postRepayment(env, claim.body), 409, 'PAY_MERCHANT_BALANCE_INSUFFICIENT');
      assert.deepEqual(await everything(env), held);
      // The hold released (and its rows removed, so the audit sees the books as they were).
      assert.equal(await voidPending(db, hold, `${hold}:void`, env.p.clock.now), 'resolved');
      await db.deleteFrom('payment_ledger_transfers').where('id', '=', `${hold}:void`).execute();
      await db.deleteFrom('payment_ledger_transfers').where('id', '=', hold).execute();
      await assertUnchanged(env, before);
      // Later: the same claim is paid.
      assert.equal((await postRepayment(env, claim.body)).statusCode, 201);
      await assertBooks(db);
    });

    void test('concurrent refunds of one payment: exactly the payment is refunded; twin requests pay once', async (ctx) => {
      const env = await setUp(ctx);
      const db = env.p.deps.db;
      const { invoice } = await paidWithCoins(env, env.alice, 8);
      const claims = await Promise.all([1, 2, 3].map(() => claimOf(env, permitFor(env, invoice, { amount: 'JPY:4' }), env.alice)));
      const results = await Promise.all(claims.map((c) => postRepayment(env, c.body)));
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, 201, 409]);
      assert.equal(results.find((r) => r.statusCode === 409)!.json<{ code: string }>().code, 'PAY_REFUND_EXCEEDS_PAYMENT');
      assert.equal((await paymentView(env, invoice.transactionId)).refunded, 'JPY:8');
      assert.equal(await merchantBalance(env), 0n);
      assert.equal((await db.selectFrom('payment_repayments').selectAll().execute()).length, 2);
      await assertBooks(db);

      // The same claim twice at once: one pays, the other is its replay.
      const second = await paidWithCoins(env, env.alice, 3);
      const twin = await claimOf(env, permitFor(env, second.invoice), env.alice);
      const twins = await Promise.all([postRepayment(env, twin.body), postRepayment(env, twin.body)]);
      assert.deepEqual(twins.map((r) => r.statusCode).sort(), [200, 201]);
      assert.deepEqual(twins[0]!.json(), twins[1]!.json());
      assert.equal(await merchantBalance(env), 0n);
      await assertBooks(db);

      // Behind the code, the database itself refuses a refund above the payment.
      await assert.rejects(sql`update payment_payments set refunded = amount + 1`.execute(db));
      await assertBooks(db);
    });

    void test('1190 attacks: another key, another permit, another amount, unknown permit, malformed; 1210 of an unknown permit — nothing changes', async (ctx) => {
      const env = await setUp(ctx);
      const { invoice } = await paidWithCoins(env, env.alice, 5);
      const p1 = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:2' }), env.alice);
      const p2 = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:3' }), env.alice);
      for (const c of [p1, p2]) assert.equal((await postRepayment(env, c.body)).statusCode, 201);
      const bob = await clientPurchaser(env.p, 'bob');
      const before = await everything(env);
      const id1 = p1.permit.permitId;

      assertRefused(await postReceipt(env, id1, { receipt: await repaymentReceipt(env, bob, p1.body.permit) }), 403, 'PAY_PURCHASER_MISMATCH');
      assertRefused(await postReceipt(env, id1, { receipt: await repaymentReceipt(env, await anonymousPurchaser(), p1.body.permit) }), 403, 'PAY_PURCHASER_MISMATCH');
      // The receipt of permit 2 posted for permit 1, or naming permit 1 with permit 2's document.
      assertRefused(await postReceipt(env, id1, { receipt: await repaymentReceipt(env, env.alice, p2.body.permit) }), 422, 'PAY_PERMIT_MISMATCH');
      assertRefused(await postReceipt(env, id1, { receipt: await repaymentReceipt(env, env.alice, p2.body.permit, { permitId: id1 }) }), 422, 'PAY_PERMIT_MISMATCH');
      assertRefused(await postReceipt(env, id1, { receipt: await repaymentReceipt(env, env.alice, p1.body.permit, { amount: 'JPY:3' }) }), 422, 'PAY_PERMIT_MISMATCH');
      assertRefused(await postReceipt(env, id1, { receipt: await repaymentReceipt(env, env.alice, p1.body.permit, { transactionId: 'tx-other' }) }), 422, 'PAY_PERMIT_MISMATCH');
      // A permit never presented here.
      const never = await signedPermit(permitFor(env, invoice, { permitId: 'pm-never' }), env.merchant, env.alice);
      assertRefused(await postReceipt(env, 'pm-never', { receipt: await repaymentReceipt(env, env.alice, never) }), 404, 'PAY_REPAYMENT_UNKNOWN');
      // Another document kind passed off as a receipt.
      assertRefused(await postReceipt(env, id1, { receipt: p1.body.request }), 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      // Malformed.
      const good = { receipt: await repaymentReceipt(env, env.alice, p1.body.permit) };
      for (const [path, body] of [
        [id1, {}],
        [id1, { receipt: 'x' }],
        [id1, { ...good, extra: 1 }],
        ['pm bad', good],
      ] as const) {
        const res = await env.app.inject({ method: 'POST', url: `/v1/repayments/${encodeURIComponent(path)}/receipt`, payload: body });
        assert.equal(res.statusCode, 400, res.body);
      }
      assertRefused(await getRepayment(env, SHOP.id, 'pm-never'), 404, 'PAY_REPAYMENT_UNKNOWN');
      assertRefused(await getRepayment(env, 'shop-2', id1), 404, 'PAY_REPAYMENT_UNKNOWN');
      assertRefused(await env.app.inject({ method: 'GET', url: `/v1/repayments/Not%20A%20Shop/${id1}` }), 400, 'HTTP_SCHEMA_INVALID');
      await assertUnchanged(env, before);

      // Still remitted for the merchant, until the receipt comes.
      const state = (await verifyPaymentDocument(env, RepaymentStateAnswer.parse((await getRepayment(env, SHOP.id, id1)).json()).state, REPAYMENT_STATE_TYP)) as { state: string };
      assert.equal(state.state, 'remitted');
      assert.equal((await postReceipt(env, id1, good)).statusCode, 201);
      await assertBooks(env.p.deps.db);
    });

    void test('the audit names a refund whose ledger transfer was removed, whose amount was changed, or a payment whose refunded total was', async (ctx) => {
      const env = await setUp(ctx);
      const db = env.p.deps.db;
      const { invoice } = await paidWithCoins(env, env.alice, 5);
      const claim = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:3' }), env.alice);
      assert.equal((await postRepayment(env, claim.body)).statusCode, 201);
      await assertBooks(db);
      const refunds = async () => (await auditPayment(db)).checks.find((c) => c.name === 'refunds')!;
      const id = `refund:${SHOP.id}/${claim.permit.permitId}`;

      const transfer = await db.selectFrom('payment_ledger_transfers').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      await db.deleteFrom('payment_ledger_transfers').where('id', '=', id).execute();
      let c = await refunds();
      assert.equal(c.ok, false);
      assert.ok(c.problems.some((p) => p.includes(`has no ledger transfer ${id}`)), c.problems.join('\n'));
      await db.insertInto('payment_ledger_transfers').values(transfer).execute();
      assert.equal((await refunds()).ok, true);

      await db.updateTable('payment_repayments').set({ amount: 2n }).execute();
      c = await refunds();
      assert.ok(c.problems.some((p) => p.includes('does not match its ledger transfer')), c.problems.join('\n'));
      assert.ok(c.problems.some((p) => p.includes('records JPY 3 refunded but its refunds sum to JPY 2')), c.problems.join('\n'));
      await db.updateTable('payment_repayments').set({ amount: 3n }).execute();

      await db.updateTable('payment_payments').set({ refunded: 4n }).execute();
      c = await refunds();
      assert.deepEqual(c.problems.filter((p) => p.includes('refunded but')), [`payment ${(await db.selectFrom('payment_payments').select('payment_id').executeTakeFirstOrThrow()).payment_id} (shop ${SHOP.id}, transaction ${invoice.transactionId}, JPY 5) records JPY 4 refunded but its refunds sum to JPY 3`]);
      await db.updateTable('payment_payments').set({ refunded: 3n }).execute();

      // A transfer merchant → float under a refund's name that no refund explains.
      await db.updateTable('payment_ledger_transfers').set({ id: 'refund:shop-1/pm-ghost' }).where('id', '=', id).execute();
      c = await refunds();
      assert.ok(c.problems.some((p) => p.includes('ledger transfer refund:shop-1/pm-ghost refunds money for no refund')), c.problems.join('\n'));
      await db.updateTable('payment_ledger_transfers').set({ id }).where('id', '=', 'refund:shop-1/pm-ghost').execute();
      await assertBooks(db);
    });

    void test('the audit verifies the signatures behind each refund: a permit or request with the same figures but the wrong signer is named', async (ctx) => {
      const env = await setUp(ctx);
      const db = env.p.deps.db;
      const { invoice } = await paidWithCoins(env, env.alice, 5);
      const claim = await claimOf(env, permitFor(env, invoice, { amount: 'JPY:3' }), env.alice);
      assert.equal((await postRepayment(env, claim.body)).statusCode, 201);
      const row = await db.selectFrom('payment_repayments').selectAll().executeTakeFirstOrThrow();
      assert.equal(row.state, 'remitted');
      const refunds = async (trustAnchors?: Uint8Array[]) => (await auditPayment(db, trustAnchors ? { trustAnchors } : {})).checks.find((c) => c.name === 'refunds')!;
      assert.deepEqual((await refunds()).problems, [], 'anchored by the contract chains');
      assert.deepEqual((await refunds([env.p.pki.root.der])).problems, [], 'anchored by the given CA');
      const restore = () => db.updateTable('payment_repayments').set({ permit_jws: row.permit_jws, request_jws: row.request_jws }).execute();

      // The same permit payload (same hash: every figure matches), "signed by the merchant" with a client certificate.
      const permit = JSON.parse(new TextDecoder().decode(decodeBase64url(claim.body.permit.payload))) as Parameters<typeof signedPermit>[0];
      const byClient = await signedPermit(permit, await env.p.pki.leaf({ role: 'client', partyId: SHOP.id }), env.alice);
      await db.updateTable('payment_repayments').set({ permit_jws: JSON.stringify(byClient) }).execute();
      let c = await refunds();
      assert.ok(c.problems.some((p) => p.includes("the stored permit's signatures do not verify")), c.problems.join('\n'));
      // … by a merchant certificate of another CA claiming the shop's party id.
      const otherPki = await buildPki();
      await db.updateTable('payment_repayments').set({ permit_jws: JSON.stringify(await signedPermit(permit, await otherPki.leaf({ role: 'merchant', partyId: SHOP.id }), env.alice)) }).execute();
      c = await refunds();
      assert.ok(c.problems.some((p) => p.includes("the stored permit's signatures do not verify")), c.problems.join('\n'));
      // Given the CA from outside, a contract of another CA is named (without it, such a contract's root would anchor forgeries).
      await db.insertInto('payment_merchants').values({ merchant_id: 'shop-evil', display_name: 'Evil', certificate_chain: (await otherPki.leaf({ role: 'merchant', partyId: 'shop-evil' })).chain.map((c) => certificateToPem(c)).join(''), fingerprint: 'x', payout_account: null, notify_url: null, status: 'active', created_at: row.created_at, updated_at: row.created_at }).execute();
      assert.ok((await refunds([env.p.pki.root.der])).problems.includes('the contract of merchant shop-evil does not chain to the CA the audit was given'));
      await db.deleteFrom('payment_merchants').where('merchant_id', '=', 'shop-evil').execute();
      // … by another merchant of this CA; and countersigned by bob instead of the recipient.
      await db.updateTable('payment_repayments').set({ permit_jws: JSON.stringify(await signedPermit(permit, await env.p.pki.leaf({ role: 'merchant', partyId: 'shop-2' }), env.alice)) }).execute();
      assert.ok((await refunds()).problems.some((p) => p.includes(`is not signed by merchant ${SHOP.id}`)));
      const bob = await clientPurchaser(env.p, 'bob');
      await db.updateTable('payment_repayments').set({ permit_jws: JSON.stringify(await signedPermit(permit, env.merchant, bob)) }).execute();
      c = await refunds();
      assert.ok(c.problems.some((p) => p.includes('countersigned by someone other than the recipient alice')), c.problems.join('\n'));
      assert.ok(c.problems.some((p) => p.includes('countersigned by another key than the one recorded as claiming it')), c.problems.join('\n'));
      await restore();

      // The remittance request signed by bob (same payload, same hash).
      const request = JSON.parse(new TextDecoder().decode(decodeBase64url(claim.body.request.payload))) as RemittanceRequest;
      await db.updateTable('payment_repayments').set({ request_jws: JSON.stringify(await signDocument({ payload: request, ...bob.signer, typ: REMITTANCE_REQUEST_TYP })) }).execute();
      c = await refunds();
      assert.ok(c.problems.some((p) => p.includes('remittance request is signed by another key')), c.problems.join('\n'));
      // A signature whose bytes were altered.
      const broken = { ...claim.body.request, signatures: [{ ...claim.body.request.signatures[0]!, signature: claim.body.request.signatures[0]!.signature.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) }] };
      await db.updateTable('payment_repayments').set({ request_jws: JSON.stringify(broken) }).execute();
      c = await refunds();
      assert.ok(c.problems.some((p) => p.includes("the stored remittance request's signature does not verify")), c.problems.join('\n'));
      await restore();
      assert.deepEqual((await refunds()).problems, []);

      // Completed: the receipt is checked too.
      assert.equal((await postReceipt(env, permit.permitId, { receipt: await repaymentReceipt(env, env.alice, claim.body.permit) })).statusCode, 201);
      assert.deepEqual((await refunds()).problems, []);
      await db.updateTable('payment_repayments').set({ receipt_jws: JSON.stringify(await repaymentReceipt(env, bob, claim.body.permit)) }).execute();
      c = await refunds();
      assert.ok(c.problems.some((p) => p.includes('repayment receipt is signed by another key')), c.problems.join('\n'));
    });
  });
}
