// A refused receipt whose JWS header carries control characters (they end up
// quoted in the refusal message) still gets a 4xx with a signed error: the
// signed document's text is cleaned, never a 500.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { testDatabases } from '../helpers/db.ts';
import { orderFor, postOrder, signCertified, startTestMerchant } from './harness.ts';

for (const t of testDatabases()) {
  void test(`${t.name}: a receipt whose alg holds a control character is refused with a clean signed error`, async (ctx) => {
    const m = await startTestMerchant(t);
    ctx.after(() => m.close());
    const res = await postOrder(m.app, await signCertified(orderFor('alice')));
    assert.equal(res.statusCode, 201, res.body);
    const tx = res.json<{ transactionId: string }>().transactionId;
    const header = encodeBase64url(new TextEncoder().encode(JSON.stringify({ alg: 'x\u0007\u202Ey', typ: 'quittance.receipt.v1+json' })));
    const receipt = { payload: encodeBase64url(new TextEncoder().encode('{}')), signatures: [{ protected: header, signature: 'AAAA' }] };
    const r = await m.app.inject({ method: 'POST', url: `/v1/orders/${tx}/receipt`, payload: { receipt } });
    assert.equal(r.statusCode, 403, r.body);
    const body = r.json<{ code: string; signedError: { payload: string } }>();
    assert.equal(body.code, 'MERCHANT_RECEIPT_SIGNATURE_INVALID');
    const signed = JSON.parse(Buffer.from(body.signedError.payload, 'base64url').toString('utf8')) as { message: string };
    assert.doesNotMatch(signed.message, /[\p{Cc}\u202A-\u202E]/u);
  });
}
