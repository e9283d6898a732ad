// `quittance merchant refunds | approve-refund | refuse-refund` on a shop made
// with `merchant init` from CA-issued certificates, whose refunds need
// approval: a paid order with two requests awaiting approval; the operator
// lists them, approves one (its permit is signed by the shop's key) and
// refuses the other with a reason; decided requests stay decided.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decryptPrivateKey } from '../../src/crypto/index.ts';
import { createApp } from '../../src/merchant/app.ts';
import { sellingConditionsHash } from '../../src/merchant/config.ts';
import { openMerchant } from '../../src/merchant/open.ts';
import { INVOICE_TYP, ORDER_TYP, parseDocument, RECEIPT_TYP, REPAYMENT_PERMIT_TYP, REPAYMENT_REQUEST_TYP } from '../../src/protocol/documents/index.ts';
import { signDocument, verifyDocument } from '../../src/protocol/jws.ts';
import { PaymentRequest, RepaymentAnswer } from '../../src/protocol/messages/merchant.ts';
import { pemToDer, x509 } from '../../src/protocol/x509/index.ts';
import { cli, initCaDir, issue, PASS, tempDir } from '../cli/helpers.ts';
import { value } from '../helpers/results.ts';
import { noNetwork } from './harness.ts';
import { hashOf, payloadOf } from './refund-client.ts';

function chainDer(pem: string): Uint8Array[] {
  return x509.PemConverter.decodeWithHeaders(pem).map((b) => new Uint8Array(b.rawData));
}

async function signer(dir: string) {
  const key = value(await decryptPrivateKey(readFileSync(join(dir, 'key.pem'), 'utf8'), PASS));
  const x5c = chainDer(readFileSync(join(dir, 'chain.pem'), 'utf8'));
  return (payload: unknown, typ: string) => signDocument({ payload, typ, privateKey: key.privateKey, alg: 'EdDSA', x5c });
}

describe('merchant refunds / approve-refund / refuse-refund', () => {
  const tmp = tempDir();
  const ca = join(tmp.dir, 'ca');
  const data = join(tmp.dir, 'merchant');
  let clientId = '';
  let tx = '';

  before(async () => {
    await initCaDir(ca);
    await issue(ca, 'merchant', 'Tokyo On-line Mail Order Dealer', join(tmp.dir, 'shop'));
    await issue(ca, 'payment', 'Quittance Pay', join(tmp.dir, 'pay'));
    clientId = (await issue(ca, 'client', 'Alice', join(tmp.dir, 'client'))).partyId;
    const init = await cli([
      'merchant', 'init', '--data', data,
      '--cert', join(tmp.dir, 'shop', 'chain.pem'), '--key', join(tmp.dir, 'shop', 'key.pem'),
      '--payment-url', 'http://127.0.0.1:7003', '--payment-cert', join(tmp.dir, 'pay', 'chain.pem'),
    ]);
    assert.equal(init.code, 0, init.err);

    // A paid order and two repayment requests awaiting approval, through the merchant's own routes.
    const m = await openMerchant(data, { passphrase: PASS, fetch: noNetwork, configOverrides: { refundsNeedApproval: true } });
    const app = createApp(m.deps);
    try {
      const client = await signer(join(tmp.dir, 'client'));
      const pay = await signer(join(tmp.dir, 'pay'));
      const now = new Date().toISOString();
      const order = {
        typ: ORDER_TYP,
        orderId: 'b3JkZXItZm9yLWEtcmVmdW5k',
        merchantId: m.deps.signer.partyId,
        purchaserId: clientId,
        lines: [{ article: 'ARTICLE-A', name: 'ARTICLE A', quantity: 2, unitPrice: 'JPY:1000' }],
        total: 'JPY:2000',
        paymentMode: 'ecash',
        sellingConditionsHash: sellingConditionsHash(m.deps.config.catalogue.sellingConditions),
        time: now,
      };
      const placed = await app.inject({ method: 'POST', url: '/v1/orders', payload: { order: await client(order, ORDER_TYP) } });
      assert.equal(placed.statusCode, 201, placed.body);
      const request = PaymentRequest.parse(placed.json());
      tx = request.transactionId;
      const invoice = value(parseDocument(INVOICE_TYP, payloadOf(request.invoice)));
      const receipt = {
        typ: RECEIPT_TYP,
        transactionId: tx,
        purchaserId: clientId,
        amountReceived: invoice.amount,
        mode: invoice.paymentMode,
        shop: invoice.shop,
        recipient: invoice.paymentServer,
        time: now,
        invoiceHash: await hashOf(request.invoice),
      };
      const paid = await app.inject({ method: 'POST', url: `/v1/orders/${tx}/receipt`, payload: { receipt: await pay(receipt, RECEIPT_TYP) } });
      assert.equal(paid.statusCode, 200, paid.body);
      for (const [requestId, amount] of [['rq-one', 'JPY:1000'], ['rq-two', 'JPY:500']] as const) {
        const doc = { typ: REPAYMENT_REQUEST_TYP, requestId, transactionId: tx, shopId: m.deps.signer.partyId, amount, reason: 'Arrived broken', time: now };
        const res = await app.inject({ method: 'POST', url: `/v1/orders/${tx}/repayments`, payload: { request: await client(doc, REPAYMENT_REQUEST_TYP) } });
        assert.equal(res.statusCode, 202, res.body);
      }
    } finally {
      await app.close();
      await m.close();
    }
  });
  after(() => tmp.remove());

  test('--help for every refund command', async () => {
    for (const c of ['refunds', 'approve-refund', 'refuse-refund']) {
      const r = await cli(['merchant', c, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp(`^Usage: quittance merchant ${c}`));
    }
  });

  test('the operator lists, approves one request (a permit signed by the shop) and refuses the other', async () => {
    const text = await cli(['merchant', 'refunds', '--data', data, '--state', 'awaiting-approval']);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, new RegExp(`^rq-two\\s+${tx}\\s+awaiting-approval\\s+JPY:500 `, 'm'));
    assert.match(text.out, new RegExp(`^rq-one\\s+${tx}\\s+awaiting-approval\\s+JPY:1000 `, 'm'));
    assert.equal((await cli(['merchant', 'refunds', '--data', data, '--state', 'lost'])).code, 2);

    const approved = await cli(['merchant', 'approve-refund', 'rq-one', '--data', data, '--json']);
    assert.equal(approved.code, 0, approved.err);
    const a = RepaymentAnswer.parse(JSON.parse(approved.out));
    assert.equal(a.state, 'permitted');
    const root = pemToDer(readFileSync(join(ca, 'ca-cert.pem'), 'utf8'), 'CERTIFICATE')!;
    const permit = await verifyDocument(a.permit, { now: new Date(), trustAnchors: [root], crls: [], requireCrl: false, crlMaxAgeSeconds: 86_400, expectedTyp: REPAYMENT_PERMIT_TYP, signers: [{ roles: ['merchant'] }] });
    assert.ok(permit.ok, JSON.stringify(permit));
    const doc = value(parseDocument(REPAYMENT_PERMIT_TYP, permit.value.payload));
    assert.deepEqual([doc.transactionId, doc.recipientId, doc.amount], [tx, clientId, 'JPY:1000']);
    assert.equal(Date.parse(doc.dueTime) - Date.parse(doc.permissionTime), 7 * 86_400_000);
    const again = await cli(['merchant', 'approve-refund', 'rq-one', '--data', data, '--json']);
    assert.deepEqual(JSON.parse(again.out), JSON.parse(approved.out), 'approving again shows the same permit');

    const noReason = await cli(['merchant', 'refuse-refund', 'rq-two', '--data', data]);
    assert.equal(noReason.code, 2);
    const refused = await cli(['merchant', 'refuse-refund', 'rq-two', '--data', data, '--reason', 'No return received']);
    assert.equal(refused.code, 0, refused.err);
    assert.equal(refused.out, `refused rq-two (order ${tx}): No return received\n`);

    const decided = await cli(['merchant', 'refuse-refund', 'rq-one', '--data', data, '--reason', 'too late']);
    assert.equal(decided.code, 1);
    assert.match(decided.err, /^MERCHANT_REPAYMENT_ALREADY_DECIDED: /);
    const missing = await cli(['merchant', 'approve-refund', 'rq-none', '--data', data]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /^MERCHANT_REPAYMENT_NOT_FOUND: /);

    const list = JSON.parse((await cli(['merchant', 'refunds', '--data', data, '--json'])).out) as { repayments: { requestId: string; state: string; refusalReason?: string; permitId?: string }[] };
    assert.deepEqual(
      list.repayments.map((r) => [r.requestId, r.state, r.refusalReason ?? r.permitId]).sort(),
      [
        ['rq-one', 'permitted', doc.permitId],
        ['rq-two', 'refused', 'No return received'],
      ],
    );
    const show = await cli(['merchant', 'show', tx, '--data', data]);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /^state\s+DURING_REPAYMENT/m);
    assert.match(show.out, new RegExp(`rq-one\\s+permitted\\s+JPY:1000\\s+"Arrived broken"\\s+permit ${doc.permitId}`));
    assert.match(show.out, /rq-two\s+refused\s+JPY:500\s+"Arrived broken"\s+refused: No return received/);
  });
});
