// The payment server's body limit (src/payment/app.ts paymentBodyLimit) is
// computed from MAX_COINS, MAX_ENVELOPES and the configured key size, so a
// request the schema allows is never refused with 413 for its size: checked
// with a real maximal swap at the configured (test) key size, and with
// maximal bodies of the right lengths at every key size up to 8192 bits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { paymentBodyLimit } from '../../src/payment/app.ts';
import { MAX_COINS, MAX_ENVELOPES } from '../../src/protocol/messages/payment.ts';
import { testDatabases } from '../helpers/db.ts';
import { assertBooks, EMONEY_CONFIG, newRequestId, openWallet, postSwap, prepareCoins, swapRequest, withdrawCoins } from './emoney-client.ts';
import { startTestPayment } from './harness.ts';

const t = testDatabases()[0]!;

/** A swap body of the largest size the schema allows at `bits`, each value of the right length (not valid: `x` repeated). */
function maximalSwap(bits: number, pretty: boolean): string {
  const rsa = 'x'.repeat(Math.ceil(bits / 6));
  const id = (i: number) => i.toString().padStart(43, 'x');
  const body = {
    swapId: 'x'.repeat(64),
    coins: Array.from({ length: MAX_COINS }, (_, i) => ({ coinPub: id(i), denominationId: id(0), denominationSignature: rsa, coinSignature: 'x'.repeat(86) })),
    envelopes: Array.from({ length: MAX_ENVELOPES }, (_, i) => ({ denominationId: id(0), blindedMessage: `${i}${rsa.slice(String(i).length)}` })),
  };
  return pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body);
}

void describe('payment body limit', () => {
  void test('a maximal swap (64 coins into 64 envelopes) at the configured key size is not refused for its size', async (ctx) => {
    const pay = await startTestPayment(t, EMONEY_CONFIG);
    ctx.after(() => pay.close());
    const w = await openWallet(pay);
    const ones = Array.from({ length: MAX_COINS }, () => 'JPY:1');
    const coins = await withdrawCoins(w, ones);
    const change = await prepareCoins(w, ones.slice(0, MAX_ENVELOPES));
    const req = await swapRequest(newRequestId(), coins, change.map((c) => c.envelope));
    // Within 1 KiB of the fixed 64 KiB the server used to take (indented, or at 3072 bits, it was over).
    assert.ok(JSON.stringify(req).length > 63 * 1024, String(JSON.stringify(req).length));
    const res = await postSwap(pay, req);
    assert.notEqual(res.statusCode, 413, res.body);
    assert.equal(res.statusCode, 201, res.body);
    await assertBooks(pay.deps.db);
  });

  for (const bits of [2048, 3072, 4096, 8192]) {
    void test(`${bits}-bit keys: a maximal body, compact or indented, reaches the schema check; 1 KiB more than the limit is 413`, async (ctx) => {
      const pay = await startTestPayment(t, { denominationKeyBits: bits });
      ctx.after(() => pay.close());
      const limit = paymentBodyLimit(bits);
      for (const pretty of [false, true]) {
        const body = maximalSwap(bits, pretty);
        assert.ok(body.length <= limit, `${body.length} bytes > limit ${limit}`);
        const res = await pay.app.inject({ method: 'POST', url: '/v1/swap', headers: { 'content-type': 'application/json' }, payload: body });
        // Refused by the schema (the values are not base64url of real keys), not for its size.
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'HTTP_SCHEMA_INVALID');
      }
      const over = await pay.app.inject({ method: 'POST', url: '/v1/swap', headers: { 'content-type': 'application/json' }, payload: `{"swapId":"${'x'.repeat(limit + 1024)}"}` });
      assert.equal(over.statusCode, 413);
      assert.equal(over.json().code, 'HTTP_BODY_TOO_LARGE');
    });
  }
});
