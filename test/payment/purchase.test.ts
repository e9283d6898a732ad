// The purchase at the payment server (issue 4, messages 150–180): a merchant's
// invoice countersigned by an identified or anonymous purchaser is accepted
// (160), paid with coins and change in one transaction (180, receipt fig. 7),
// and every attack that concerns the payment server is refused with its code,
// leaving the books and every row as they were.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ledgerAccount } from '../../src/payment/ledger.ts';
import { setMerchantStatus } from '../../src/payment/merchants.ts';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { MONEY_RECEPTION_RESPONSE_TYP, RECEIPT_TYP, type Invoice } from '../../src/protocol/documents/index.ts';
import { EcashPaymentResponse } from '../../src/protocol/messages/payment.ts';
import { canonicalizeToBytes } from '../../src/protocol/rfc8785.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { assertBooks, assertRefused, balanceOf, newRequestId, postSwap, prepareCoins, swapRequest, withdrawCoins } from './emoney-client.ts';

import { accept, anonymousPurchaser, SOME_HASH, assertUnchanged, ecashRequest, everything, hashOf, merchantBalance, OTHER_PKI, PAY, post150, post170, receptionRequest, setUpPurchase, SHOP, signedInvoice, unblindChange, verifyPaymentDocument, HOUR, invoiceFor, clientPurchaser } from './purchase-env.ts';

for (const t of testDatabases()) {
  void describe(`purchase at the payment server (${t.name})`, () => {
    const setUp = (ctx: { after: (fn: () => Promise<void>) => void }, opts: { withCrls?: boolean } = {}) => setUpPurchase(t, ctx, opts);

    for (const kind of ['identified', 'anonymous'] as const) {
      void test(`${kind}: 150 → signed 160, 170 (4 + 2 for 5, change 1) → receipt, merchant credited, float = issued − spent`, async (ctx) => {
        const env = await setUp(ctx);
        const db = env.p.deps.db;
        const purchaser = kind === 'identified' ? env.alice : await anonymousPurchaser();
        const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:2']);
        const floatBefore = await balanceOf(db, ledgerAccount.float('JPY'));
        assert.equal(floatBefore, 6n);

        const { invoice, hash, res } = await accept(env, purchaser);
        const reception = (await verifyPaymentDocument(env, res.json(), MONEY_RECEPTION_RESPONSE_TYP)) as Record<string, unknown>;
        assert.deepEqual(reception, { typ: MONEY_RECEPTION_RESPONSE_TYP, transactionId: invoice.transactionId, invoiceHash: hash, paymentServerId: PAY.id, accepted: true, time: PKI_NOW.toISOString() });
        const state1 = await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/${invoice.transactionId}` });
        assert.equal(state1.statusCode, 200, state1.body);
        assert.deepEqual(state1.json(), { shopId: SHOP.id, transactionId: invoice.transactionId, state: 'RECEPTION_ACCEPTED', amount: 'JPY:5', invoiceHash: hash });

        const change = await prepareCoins(env.w, ['JPY:1']);
        const pay = await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, change));
        assert.equal(pay.statusCode, 201, pay.body);
        const answer = EcashPaymentResponse.parse(pay.json());
        const receipt = await verifyPaymentDocument(env, answer.receipt, RECEIPT_TYP);
        assert.deepEqual(receipt, {
          typ: RECEIPT_TYP,
          transactionId: invoice.transactionId,
          purchaserId: purchaser.id,
          amountReceived: 'JPY:5',
          mode: 'ecash',
          shop: SHOP,
          recipient: PAY,
          time: PKI_NOW.toISOString(),
          invoiceHash: hash,
        });
        await unblindChange(change, answer.changeSignatures);

        assert.equal(await merchantBalance(env), 5n);
        // 6 of coins left the float, 1 of change re-entered it.
        assert.equal(await balanceOf(db, ledgerAccount.float('JPY')), 1n);
        const spent = await db.selectFrom('payment_spent_coins').select(['spent_by', 'spent_ref']).execute();
        const row = await db.selectFrom('payment_payments').selectAll().executeTakeFirstOrThrow();
        assert.equal(row.state, 'PAID');
        assert.equal(row.purchaser_id, purchaser.id);
        assert.deepEqual(spent, [{ spent_by: 'payment', spent_ref: row.payment_id }, { spent_by: 'payment', spent_ref: row.payment_id }]);
        const state2 = await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/${invoice.transactionId}` });
        assert.equal(state2.json<{ state: string }>().state, 'PAID');
        assert.deepEqual(state2.json<{ receipt: unknown }>().receipt, answer.receipt);
        await assertBooks(db);
      });
    }

    void test('150 and 170 replayed: the same signed 160, the same receipt and change signatures, one charge', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:8']);
      const invoice = invoiceFor(env.alice.id);
      const jws = await signedInvoice(invoice, env.merchant, env.alice);
      const call = { invoice: jws, request: await receptionRequest(env.alice, jws) };
      const first = await post150(env, call);
      assert.equal(first.statusCode, 201, first.body);
      env.p.clock.now = new Date(PKI_NOW.getTime() + 60_000);
      const again = await post150(env, call);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());

      const change = await prepareCoins(env.w, ['JPY:2', 'JPY:1']);
      const request = await ecashRequest({ invoiceHash: await hashOf(jws), transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, change);
      const paid = await post170(env, request);
      assert.equal(paid.statusCode, 201, paid.body);
      const before = await everything(env);
      const replay = await post170(env, request);
      assert.equal(replay.statusCode, 200, replay.body);
      assert.equal(replay.headers['idempotent-replay'], 'true');
      assert.deepEqual(replay.json(), paid.json());
      // Even past the due time: a payment cut off by a lost answer is still answered.
      env.p.clock.now = new Date(PKI_NOW.getTime() + 2 * HOUR);
      assert.deepEqual((await post170(env, request)).json(), paid.json());
      assert.deepEqual((await post150(env, call)).json(), first.json());
      await assertUnchanged(env, before);
      assert.equal(await merchantBalance(env), 5n);
    });

    void test('another invoice for the same (shop, transaction): PAY_REQUEST_CONFLICT', async (ctx) => {
      const env = await setUp(ctx);
      const { invoice } = await accept(env, env.alice);
      const before = await everything(env);
      const other = await signedInvoice(invoiceFor(env.alice.id, { transactionId: invoice.transactionId, lines: [{ article: 'A', name: 'ARTICLE A', quantity: 1, unitPrice: 'JPY:4' }], amount: 'JPY:4' }), env.merchant, env.alice);
      assertRefused(await post150(env, { invoice: other, request: await receptionRequest(env.alice, other) }), 422, 'PAY_REQUEST_CONFLICT');
      await assertUnchanged(env, before);
    });

    void test('invoice amount or lines altered after signing: PAY_DOCUMENT_SIGNATURE_INVALID', async (ctx) => {
      const env = await setUp(ctx);
      const invoice = invoiceFor(env.alice.id);
      const jws = await signedInvoice(invoice, env.merchant, env.alice);
      const before = await everything(env);
      for (const altered of [
        { ...invoice, lines: [{ ...invoice.lines[0]!, unitPrice: 'JPY:1' }, invoice.lines[1]!], amount: 'JPY:3' },
        { ...invoice, lines: [invoice.lines[0]!, { ...invoice.lines[1]!, quantity: 1 }], amount: 'JPY:4' },
      ]) {
        const tampered = { ...jws, payload: encodeBase64url(value(canonicalizeToBytes(altered))) };
        const res = await post150(env, { invoice: tampered, request: await receptionRequest(env.alice, tampered) });
        assertRefused(res, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
        assert.deepEqual(res.json<{ details: unknown }>().details, { document: 'invoice', code: 'PROTO_JWS_SIGNATURE_INVALID' });
      }
      await assertUnchanged(env, before);
    });

    void test('invoice signed by a non-merchant certificate, by a merchant without contract, by a suspended one: PAY_MERCHANT_NOT_ACCEPTED', async (ctx) => {
      const env = await setUp(ctx);
      const notMerchant = await env.p.pki.leaf({ role: 'client', partyId: SHOP.id });
      const stranger = await env.p.pki.leaf({ role: 'merchant', partyId: 'shop-2' });
      const before = await everything(env);
      for (const [signer, shop] of [
        [notMerchant, SHOP],
        [stranger, { id: 'shop-2', name: 'Elsewhere' }],
      ] as const) {
        const jws = await signedInvoice(invoiceFor(env.alice.id, { shop }), signer, env.alice);
        assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws) }), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      }
      await assertUnchanged(env, before);

      // Suspended between 150 and 170: the payment is refused too, and nothing is charged.
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const { invoice, hash } = await accept(env, env.alice);
      value(await setMerchantStatus(env.p.deps.db, SHOP.id, 'suspended', env.p.clock.now));
      const suspended = await everything(env);
      const jws = await signedInvoice(invoiceFor(env.alice.id), env.merchant, env.alice);
      assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws) }), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, [])), 403, 'PAY_MERCHANT_NOT_ACCEPTED');
      await assertUnchanged(env, suspended);
    });

    void test('merchant certificate of another CA, or revoked (with CRLs): PAY_DOCUMENT_SIGNATURE_INVALID with the PROTO code in details', async (ctx) => {
      const env = await setUp(ctx, { withCrls: true });
      const foreign = await OTHER_PKI.leaf({ role: 'merchant', partyId: SHOP.id, displayName: SHOP.name });
      const before = await everything(env);
      const j1 = await signedInvoice(invoiceFor(env.alice.id), foreign, env.alice);
      const r1 = await post150(env, { invoice: j1, request: await receptionRequest(env.alice, j1) });
      assertRefused(r1, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      // The other test CA carries our CAs' names under other keys: an impostor CA.
      assert.equal(r1.json<{ details: { code: string } }>().details.code, 'PROTO_CERT_SIGNATURE_INVALID');

      env.crls.current = [await env.p.pki.crl(env.p.pki.root), await env.p.pki.crl(env.p.pki.intermediate, { revoked: [env.merchant.der] })];
      const j2 = await signedInvoice(invoiceFor(env.alice.id), env.merchant, env.alice);
      const r2 = await post150(env, { invoice: j2, request: await receptionRequest(env.alice, j2) });
      assertRefused(r2, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      assert.equal(r2.json<{ details: { code: string } }>().details.code, 'PROTO_CERT_REVOKED');
      await assertUnchanged(env, before);
    });

    void test('purchaser id ≠ the presenting key (certified and anonymous), request signed by another key: PAY_PURCHASER_MISMATCH', async (ctx) => {
      const env = await setUp(ctx);
      const bob = await clientPurchaser(env.p, 'bob');
      const anon = await anonymousPurchaser();
      const otherAnon = await anonymousPurchaser();
      const before = await everything(env);
      // Invoice for alice, countersigned by bob; for one anonymous key, countersigned by another.
      for (const [forId, by] of [
        [env.alice.id, bob],
        [anon.id, otherAnon],
      ] as const) {
        const jws = await signedInvoice(invoiceFor(forId), env.merchant, by);
        const res = await post150(env, { invoice: jws, request: await receptionRequest({ ...by, id: forId }, jws) });
        assertRefused(res, 403, 'PAY_PURCHASER_MISMATCH');
      }
      // Countersigned by alice, but the 150 request signed by bob claiming to be alice.
      const jws = await signedInvoice(invoiceFor(env.alice.id), env.merchant, env.alice);
      assertRefused(await post150(env, { invoice: jws, request: await receptionRequest({ ...bob, id: env.alice.id }, jws) }), 403, 'PAY_PURCHASER_MISMATCH');
      await assertUnchanged(env, before);
    });

    void test('documents that do not fit: other payment server, shop ≠ signer, request for another invoice or server: PAY_INVOICE_MISMATCH', async (ctx) => {
      const env = await setUp(ctx);
      const before = await everything(env);
      const cases: { invoice: Invoice; request?: Record<string, unknown> }[] = [
        { invoice: invoiceFor(env.alice.id, { paymentServer: { id: 'pay-2', name: 'Elsewhere Pay' } }) },
        { invoice: invoiceFor(env.alice.id, { shop: { id: 'shop-9', name: 'Not the signer' } }) },
        { invoice: invoiceFor(env.alice.id), request: { invoiceHash: SOME_HASH } },
        { invoice: invoiceFor(env.alice.id), request: { transactionId: 'tx-other' } },
        { invoice: invoiceFor(env.alice.id), request: { paymentServerId: 'pay-2' } },
      ];
      for (const c of cases) {
        const jws = await signedInvoice(c.invoice, env.merchant, env.alice);
        assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws, c.request) }), 422, 'PAY_INVOICE_MISMATCH');
      }
      await assertUnchanged(env, before);
    });

    void test('invoice past its due time: PAY_INVOICE_EXPIRED at 150, and at 170 after an accepted 150', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const { invoice, hash } = await accept(env, env.alice);
      const fresh = invoiceFor(env.alice.id);
      const jws = await signedInvoice(fresh, env.merchant, env.alice);
      const before = await everything(env);
      env.p.clock.now = new Date(Date.parse(fresh.paymentDueTime) + 1000);
      assertRefused(await post150(env, { invoice: jws, request: await receptionRequest(env.alice, jws) }), 422, 'PAY_INVOICE_EXPIRED');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, [])), 422, 'PAY_INVOICE_EXPIRED');
      await assertUnchanged(env, before);
    });

    void test('payment modes: card refused at 150; an account invoice is not paid with e-money (PAY_PAYMENT_MODE_UNSUPPORTED)', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const card = await signedInvoice(invoiceFor(env.alice.id, { paymentMode: 'card' }), env.merchant, env.alice);
      const before = await everything(env);
      assertRefused(await post150(env, { invoice: card, request: await receptionRequest(env.alice, card) }), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      await assertUnchanged(env, before);
      const { invoice, hash } = await accept(env, env.alice, { paymentMode: 'account' });
      const accepted = await everything(env);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, [])), 422, 'PAY_PAYMENT_MODE_UNSUPPORTED');
      await assertUnchanged(env, accepted);
    });

    void test('coins spent before (by a swap; for another invoice): PAY_COIN_SPENT, nothing charged', async (ctx) => {
      const env = await setUp(ctx);
      const [four, one, eight] = await withdrawCoins(env.w, ['JPY:4', 'JPY:1', 'JPY:8']);
      const a = await accept(env, env.alice);
      const b = await accept(env, env.alice);
      assert.equal((await post170(env, await ecashRequest({ invoiceHash: a.hash, transactionId: a.invoice.transactionId, amount: 'JPY:5' }, [four!, one!], []))).statusCode, 201);
      const swapped = await prepareCoins(env.w, ['JPY:8']);
      assert.equal((await postSwap(env.p, await swapRequest(newRequestId(), [eight!], swapped.map((c) => c.envelope)))).statusCode, 201);
      const before = await everything(env);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: b.hash, transactionId: b.invoice.transactionId, amount: 'JPY:5' }, [four!, one!], [])), 409, 'PAY_COIN_SPENT');
      const change = await prepareCoins(env.w, ['JPY:2', 'JPY:1']);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: b.hash, transactionId: b.invoice.transactionId, amount: 'JPY:5' }, [eight!], change)), 409, 'PAY_COIN_SPENT');
      await assertUnchanged(env, before);
      assert.equal(await merchantBalance(env), 5n);
    });

    void test('a coin signature made for another invoice: PAY_COIN_SIGNATURE_INVALID', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const a = await accept(env, env.alice);
      const b = await accept(env, env.alice);
      const before = await everything(env);
      // Signed for invoice a, presented for invoice b (an eavesdropper redirecting the coins).
      const moved = await ecashRequest({ invoiceHash: b.hash, transactionId: b.invoice.transactionId, amount: 'JPY:5' }, coins, [], { invoiceHash: a.hash, transactionId: a.invoice.transactionId });
      assertRefused(await post170(env, moved), 403, 'PAY_COIN_SIGNATURE_INVALID');
      await assertUnchanged(env, before);
    });

    void test('170 not matching the accepted invoice: unknown transaction, other hash or amount, unbalanced, wrong currency', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:2']);
      const [cent] = await withdrawCoins(env.w, ['EUR:0.01'], 1);
      const { invoice, hash } = await accept(env, env.alice);
      const tx = invoice.transactionId;
      const before = await everything(env);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: 'tx-unknown', amount: 'JPY:5' }, coins, [])), 404, 'PAY_PAYMENT_UNKNOWN');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: SOME_HASH, transactionId: tx, amount: 'JPY:5' }, coins, [])), 422, 'PAY_INVOICE_MISMATCH');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:6' }, coins, [])), 422, 'PAY_INVOICE_MISMATCH');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:5' }, coins, [])), 422, 'PAY_PAYMENT_UNBALANCED');
      const tooMuchChange = await prepareCoins(env.w, ['JPY:2']);
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:5' }, coins, tooMuchChange)), 422, 'PAY_PAYMENT_UNBALANCED');
      assertRefused(await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: tx, amount: 'JPY:5' }, [cent!], [])), 422, 'PAY_CURRENCY_MISMATCH');
      await assertUnchanged(env, before);
    });

    void test('two different payments of one transaction at once: exactly one is charged, the other PAY_REQUEST_CONFLICT', async (ctx) => {
      const env = await setUp(ctx);
      const [a4, a1, b4, b1] = await withdrawCoins(env.w, ['JPY:4', 'JPY:1', 'JPY:4', 'JPY:1']);
      const { invoice, hash } = await accept(env, env.alice);
      const fields = { invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' };
      const requests = [await ecashRequest(fields, [a4!, a1!], []), await ecashRequest(fields, [b4!, b1!], [])];
      const answers = await Promise.all(requests.map((r) => post170(env, r)));
      const won = answers.flatMap((a, i) => (a.statusCode === 201 ? [i] : []));
      assert.equal(won.length, 1, answers.map((a) => `${a.statusCode} ${a.body}`).join('\n'));
      assertRefused(answers[1 - won[0]!]!, 422, 'PAY_REQUEST_CONFLICT');
      const spent = await env.p.deps.db.selectFrom('payment_spent_coins').select('coin_pub').orderBy('coin_pub').execute();
      assert.deepEqual(spent.map((s) => s.coin_pub), requests[won[0]!]!.coins.map((c) => c.coinPub).sort());
      assert.equal(await merchantBalance(env), 5n);
      await assertBooks(env.p.deps.db);
    });

    void test('malformed bodies at 150, 170 and the state query: 400, nothing written', async (ctx) => {
      const env = await setUp(ctx);
      const coins = await withdrawCoins(env.w, ['JPY:4', 'JPY:1']);
      const { invoice, hash, jws } = await accept(env, env.alice);
      const good = await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: 'JPY:5' }, coins, []);
      const before = await everything(env);
      for (const body of [{}, { invoice: jws }, { invoice: jws, request: jws, extra: 1 }, { invoice: { payload: 'x' }, request: jws }, []]) {
        assertRefused(await post150(env, body), 400, 'HTTP_SCHEMA_INVALID');
      }
      // Not countersigned: one signature where two are needed.
      const merchantOnly = await signedInvoice(invoiceFor(env.alice.id), env.merchant, undefined);
      const r = await post150(env, { invoice: merchantOnly, request: await receptionRequest(env.alice, merchantOnly) });
      assertRefused(r, 403, 'PAY_DOCUMENT_SIGNATURE_INVALID');
      assert.equal(r.json<{ details: { code: string } }>().details.code, 'PROTO_JWS_SIGNER_COUNT');
      for (const body of [{}, { ...good, amount: '5 JPY' }, { ...good, coins: [] }, { ...good, coins: [good.coins[0], good.coins[0]] }, { ...good, extra: true }, { ...good, change: [{ denominationId: 'x', blindedMessage: 'y' }] }]) {
        assertRefused(await post170(env, body), 400, 'HTTP_SCHEMA_INVALID');
      }
      const text = await env.app.inject({ method: 'POST', url: '/v1/payments/ecash', headers: { 'content-type': 'application/json' }, payload: '{"invoiceHash":' });
      assertRefused(text, 400, 'HTTP_JSON_MALFORMED');
      assertRefused(await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/tx%20bad` }), 400, 'HTTP_SCHEMA_INVALID');
      assertRefused(await env.app.inject({ method: 'GET', url: `/v1/payments/${SHOP.id}/tx-none` }), 404, 'PAY_PAYMENT_UNKNOWN');
      await assertUnchanged(env, before);
    });
  });
}
