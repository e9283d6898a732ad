// The shop integration API (issue 6) on the merchant server: API keys, offers
// created by the shop's backend, their payment URIs, the public offer view,
// listing, and Idempotency-Key on every POST. Every refusal has its stable
// code and changes nothing. Orders for offers and refunds: shop-offers.test.ts;
// a real wallet buying an offer: shop-world.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createApiKey, revokeApiKey } from '../../src/merchant/api-keys.ts';
import { purgeIdempotencyKeys, requestFingerprint } from '../../src/merchant/idempotency.ts';
import { createOffer as createOfferDirectly } from '../../src/merchant/offers.ts';
import { CreatedShopOrder, OfferView } from '../../src/protocol/messages/shop.ts';
import { parsePaymentUri } from '../../src/protocol/payment-uri.ts';
import { PKI_NOW } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { allRows, count, createOffer, publicOffer, refusedWith, SHOP_LINES, SHOP_TOTAL, shopGet, shopPost, startShop, type Shop } from './shop-client.ts';

const HOUR_MS = 3_600_000;

async function unchanged(m: Shop, attack: () => Promise<unknown>): Promise<void> {
  const before = await allRows(m);
  await attack();
  assert.deepEqual(await allRows(m), before);
}

for (const t of testDatabases()) {
  void describe(`shop API: keys, offers, idempotency (${t.name})`, () => {
    void test('an offer: 201 with its payment URI and amount; the public view shows its lines as priced, open, until expiresAt', async (ctx) => {
      const m = await startShop(t, ctx, { config: { url: 'https://shop.example/' } });
      const created = await createOffer(m, { lines: SHOP_LINES, reference: 'order #1042', fulfilmentUrl: 'https://shop.example/orders/1042' });
      assert.match(created.offerId, /^of-[0-9a-f]{32}$/);
      assert.equal(created.amount, SHOP_TOTAL);
      assert.equal(created.expiresAt, new Date(PKI_NOW.getTime() + HOUR_MS).toISOString());
      assert.deepEqual(value(parsePaymentUri(created.paymentUri)), { kind: 'offer', shop: 'https://shop.example/', offerId: created.offerId });
      const view = await publicOffer(m, created.offerId);
      assert.deepEqual(view, {
        offerId: created.offerId,
        merchant: { id: 'shop-1', name: 'Tokyo On-line Mail Order Dealer' },
        lines: SHOP_LINES,
        amount: SHOP_TOTAL,
        reference: 'order #1042',
        fulfilmentUrl: 'https://shop.example/orders/1042',
        createdAt: PKI_NOW.toISOString(),
        expiresAt: created.expiresAt,
        state: 'open',
      });
      // Without `url` in merchant.json the URI names the address the request came to.
      const m2 = await startShop(t, ctx);
      const other = CreatedShopOrder.parse((await shopPost(m2, '/v1/shop/orders', { lines: SHOP_LINES }, { host: 'shop2.example:8080' })).json());
      assert.equal(value(parsePaymentUri(other.paymentUri)).shop, 'http://shop2.example:8080/');
      // Unknown and malformed offer ids.
      refusedWith(await m.app.inject({ method: 'GET', url: '/v1/offers/of-00000000000000000000000000000000' }), 404, 'MERCHANT_OFFER_NOT_FOUND');
      refusedWith(await m.app.inject({ method: 'GET', url: '/v1/offers/..%2Fadmin' }), 400, 'HTTP_SCHEMA_INVALID');
    });

    void test('no key, a malformed one, an unknown one, a wrong secret, a revoked one: 401 with its code, and nothing is created', async (ctx) => {
      const m = await startShop(t, ctx);
      const [, id, secret] = /^qk_([0-9a-f]{16})_(.+)$/.exec(m.key)!;
      const wrongSecret = `qk_${id}_${secret!.startsWith('A') ? 'B' : 'A'}${secret!.slice(1)}`;
      const cases: [string | null, string][] = [
        [null, 'HTTP_AUTH_REQUIRED'],
        ['not-a-key', 'MERCHANT_API_KEY_INVALID'],
        [`qk_${id}`, 'MERCHANT_API_KEY_INVALID'],
        [`qk_0123456789abcdef_${secret}`, 'MERCHANT_API_KEY_INVALID'],
        [wrongSecret, 'MERCHANT_API_KEY_INVALID'],
        ['qt_merchant-test-operator-token', 'MERCHANT_API_KEY_INVALID'],
      ];
      for (const [key, code] of cases) {
        await unchanged(m, async () => {
          refusedWith(await shopPost(m, '/v1/shop/orders', { lines: SHOP_LINES }, {}, key), 401, code);
          refusedWith(await shopGet(m, '/v1/shop/orders', key), 401, code);
        });
      }
      refusedWith(await m.app.inject({ method: 'GET', url: '/v1/shop/orders', headers: { authorization: `Basic ${m.key}` } }), 401, 'MERCHANT_API_KEY_INVALID');
      await createOffer(m);
      value(await revokeApiKey(m.handle.db, m.keyId, PKI_NOW));
      await unchanged(m, async () => {
        refusedWith(await shopPost(m, '/v1/shop/orders', { lines: SHOP_LINES }), 401, 'MERCHANT_API_KEY_REVOKED');
        refusedWith(await shopGet(m, '/v1/shop/orders'), 401, 'MERCHANT_API_KEY_REVOKED');
      });
      assert.equal(await count(m, 'merchant_offers'), 1);
      // The public offer view needs no key.
      assert.equal((await m.app.inject({ method: 'GET', url: '/v1/shop/orders' })).statusCode, 401);
    });

    void test('malformed bodies: 400/415/422 with paths, nothing stored (not even the idempotency key)', async (ctx) => {
      const m = await startShop(t, ctx);
      const line = SHOP_LINES[0]!;
      const bad: [unknown, number, string][] = [
        [{ lines: SHOP_LINES, extra: 1 }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: Array(101).fill(line) }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, unitPrice: 'JPY:0' }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, unitPrice: '-JPY:5' }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, unitPrice: 'JPY:1.5' }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, unitPrice: 1200 }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, quantity: 0 }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, unitPrice: 'JPY:9007199254740991', quantity: 2 }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [line, { ...line, unitPrice: 'EUR:1.00' }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, name: 'evil\u202Eexe.txt' }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: [{ ...line, article: 'no spaces' }] }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: SHOP_LINES, fulfilmentUrl: 'javascript:alert(1)' }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: SHOP_LINES, fulfilmentUrl: 'https://shop.example@evil.example/' }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: SHOP_LINES, reference: 'x'.repeat(201) }, 400, 'HTTP_SCHEMA_INVALID'],
        [{ lines: SHOP_LINES, reference: 'line\nbreak' }, 400, 'HTTP_SCHEMA_INVALID'],
        ['{"lines":', 400, 'HTTP_JSON_MALFORMED'],
        ['{"lines":[],"__proto__":{"x":1}}', 400, 'HTTP_JSON_MALFORMED'],
      ];
      for (const [body, status, code] of bad) {
        await unchanged(m, async () => {
          const res = await shopPost(m, '/v1/shop/orders', body, { 'idempotency-key': 'k-malformed' });
          refusedWith(res, status, code);
        });
      }
      await unchanged(m, async () => {
        refusedWith(await shopPost(m, '/v1/shop/orders', 'lines=1', { 'content-type': 'text/plain' }), 415, 'HTTP_UNSUPPORTED_MEDIA_TYPE');
      });
      // A business refusal is an answer: stored under its key and replayed, nothing else changed.
      const euro = { lines: [{ ...line, unitPrice: 'EUR:12.00' }] };
      refusedWith(await shopPost(m, '/v1/shop/orders', euro, { 'idempotency-key': 'k-euro' }), 422, 'MERCHANT_OFFER_CURRENCY_UNSUPPORTED');
      const replayed = await shopPost(m, '/v1/shop/orders', euro, { 'idempotency-key': 'k-euro' });
      refusedWith(replayed, 422, 'MERCHANT_OFFER_CURRENCY_UNSUPPORTED');
      assert.equal(replayed.headers['idempotent-replay'], 'true');
      assert.equal(await count(m, 'merchant_offers'), 0);
      // The schema's paths tell the shop which field.
      const res = await shopPost(m, '/v1/shop/orders', { lines: [line, { ...line, unitPrice: 'JPY:0' }] });
      assert.deepEqual(refusedWith(res, 400, 'HTTP_SCHEMA_INVALID').details, [{ path: 'lines.1.unitPrice', message: 'unitPrice: more than zero' }]);
      // Schema refusals were not stored under their key: the same key with a good body now works.
      await createOffer(m, { lines: SHOP_LINES }, { 'idempotency-key': 'k-malformed' });
      // 100 lines are fine.
      await createOffer(m, { lines: Array(100).fill({ ...line, quantity: 1 }) });
    });

    void test('Idempotency-Key: the same request answers the stored 201 (replayed), another request 422, a malformed key 400', async (ctx) => {
      const m = await startShop(t, ctx);
      const body = { lines: SHOP_LINES, reference: 'r-1' };
      const first = await shopPost(m, '/v1/shop/orders', body, { 'idempotency-key': 'order-1042' });
      assert.equal(first.statusCode, 201);
      assert.equal(first.headers['idempotent-replay'], undefined);
      // The same JSON spelled differently (key order, whitespace) is the same request.
      const again = await shopPost(m, '/v1/shop/orders', ` { "reference" : "r-1", "lines": ${JSON.stringify(SHOP_LINES)} } `, { 'idempotency-key': 'order-1042' });
      assert.equal(again.statusCode, 201);
      assert.equal(again.headers['idempotent-replay'], 'true');
      assert.deepEqual(again.json(), first.json());
      assert.equal(await count(m, 'merchant_offers'), 1);

      await unchanged(m, async () => {
        refusedWith(await shopPost(m, '/v1/shop/orders', { ...body, reference: 'r-2' }, { 'idempotency-key': 'order-1042' }), 422, 'MERCHANT_IDEMPOTENCY_MISMATCH');
        // Same key on another path is another request too.
        const offerId = CreatedShopOrder.parse(first.json()).offerId;
        refusedWith(await shopPost(m, `/v1/shop/orders/${offerId}/refunds`, {}, { 'idempotency-key': 'order-1042' }), 422, 'MERCHANT_IDEMPOTENCY_MISMATCH');
        for (const key of ['', ' ', 'x'.repeat(256), 'tab\there', 'ключ']) {
          const res = await m.app.inject({ method: 'POST', url: '/v1/shop/orders', headers: { authorization: `Bearer ${m.key}`, 'idempotency-key': Buffer.from(key, 'utf8').toString('latin1') }, payload: body });
          refusedWith(res, 400, 'MERCHANT_IDEMPOTENCY_KEY_INVALID');
        }
      });
      // 255 printable characters, spaces inside, are a key.
      await createOffer(m, body, { 'idempotency-key': `a ${'~'.repeat(252)}z` });
      // Keys are per API key: another key's same Idempotency-Key is its own.
      const keyB = await createApiKey(m.handle.db, { name: 'other backend', now: PKI_NOW });
      const other = await shopPost(m, '/v1/shop/orders', body, { 'idempotency-key': 'order-1042' }, keyB.key);
      assert.equal(other.statusCode, 201, other.body);
      assert.notEqual(CreatedShopOrder.parse(other.json()).offerId, CreatedShopOrder.parse(first.json()).offerId);
      assert.equal(await count(m, 'merchant_offers'), 3);
    });

    void test('Idempotency-Key: a copy while the first still runs is 409; a dead claim is taken over and finds the offer its first run made', async (ctx) => {
      const m = await startShop(t, ctx);
      const body = { lines: SHOP_LINES };
      const hash = requestFingerprint('POST', '/v1/shop/orders', body);
      const claim = (key: string, at: Date) =>
        m.handle.db.insertInto('merchant_idempotency_keys').values({ api_key_id: m.keyId, idempotency_key: key, request_hash: hash, state: 'in-flight', status: null, response_json: null, created_at: at.toISOString() }).execute();
      await claim('running', PKI_NOW);
      await unchanged(m, async () => refusedWith(await shopPost(m, '/v1/shop/orders', body, { 'idempotency-key': 'running' }), 409, 'MERCHANT_IDEMPOTENCY_IN_FLIGHT'));

      // A process died after creating the offer but before storing the answer.
      const made = value(await createOfferDirectly(m.deps, m.keyId, { key: 'died', resumed: false }, body));
      await claim('died', new Date(PKI_NOW.getTime() - 3 * 60_000));
      const res = await shopPost(m, '/v1/shop/orders', body, { 'idempotency-key': 'died' });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(CreatedShopOrder.parse(res.json()).offerId, made.offer_id);
      assert.equal(await count(m, 'merchant_offers'), 1);
      // And now the answer is stored.
      const replay = await shopPost(m, '/v1/shop/orders', body, { 'idempotency-key': 'died' });
      assert.equal(replay.headers['idempotent-replay'], 'true');
      assert.deepEqual(replay.json(), res.json());
    });

    void test('Idempotency-Key: concurrent copies create one offer; each answer is that offer or 409', async (ctx) => {
      const m = await startShop(t, ctx);
      const body = { lines: SHOP_LINES, reference: 'concurrent' };
      const answers = await Promise.all(Array.from({ length: 6 }, () => shopPost(m, '/v1/shop/orders', body, { 'idempotency-key': 'same' })));
      assert.equal(await count(m, 'merchant_offers'), 1);
      const offer = await m.handle.db.selectFrom('merchant_offers').select('offer_id').executeTakeFirstOrThrow();
      assert.ok(answers.some((a) => a.statusCode === 201));
      for (const a of answers) {
        if (a.statusCode === 201) assert.equal(CreatedShopOrder.parse(a.json()).offerId, offer.offer_id);
        else refusedWith(a, 409, 'MERCHANT_IDEMPOTENCY_IN_FLIGHT');
      }
    });

    void test('Idempotency-Key: kept 24 hours, then purged (on use, and by purgeIdempotencyKeys)', async (ctx) => {
      const m = await startShop(t, ctx);
      const first = await createOffer(m, { lines: SHOP_LINES }, { 'idempotency-key': 'day-1' });
      await createOffer(m, { lines: SHOP_LINES }, { 'idempotency-key': 'day-1b' });
      m.clock.now = new Date(PKI_NOW.getTime() + 24 * HOUR_MS - 1);
      assert.equal((await shopPost(m, '/v1/shop/orders', { lines: SHOP_LINES }, { 'idempotency-key': 'day-1' })).headers['idempotent-replay'], 'true');
      assert.equal(await purgeIdempotencyKeys(m.handle.db, m.clock.now), 0);
      m.clock.now = new Date(PKI_NOW.getTime() + 24 * HOUR_MS + 1);
      // Past 24 hours the key is free: another body under it is a new request, not a mismatch.
      const later = await createOffer(m, { lines: SHOP_LINES, reference: 'next day' }, { 'idempotency-key': 'day-1' });
      assert.notEqual(later.offerId, first.offerId);
      assert.equal(await purgeIdempotencyKeys(m.handle.db, m.clock.now), 1);
      assert.equal(await count(m, 'merchant_idempotency_keys'), 1);
    });

    void test('GET /v1/shop/orders: newest first, cursor pages without gaps or repeats, filtered by state', async (ctx) => {
      const m = await startShop(t, ctx);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        m.clock.now = new Date(PKI_NOW.getTime() + i * 1000);
        ids.push((await createOffer(m, { lines: SHOP_LINES, reference: `r${i}` })).offerId);
      }
      // Two offers in the same millisecond still page apart (offer id breaks the tie).
      ids.push((await createOffer(m)).offerId);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        const res = await shopGet(m, `/v1/shop/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json<{ orders: { offerId: string; state: string; paymentUri: string }[]; nextCursor?: string }>();
        assert.ok(body.orders.length <= 2);
        seen.push(...body.orders.map((o) => o.offerId));
        cursor = body.nextCursor;
        if (!cursor) break;
      }
      const newestFirst = [...ids.slice(0, 4)].reverse();
      assert.deepEqual(seen.slice(2), newestFirst);
      assert.deepEqual(new Set(seen.slice(0, 2)), new Set(ids.slice(4)));
      // State filter: move past the first three offers' expiry.
      m.clock.now = new Date(PKI_NOW.getTime() + HOUR_MS + 2500);
      const stateOf = async (state: string) => (await shopGet(m, `/v1/shop/orders?state=${state}`)).json<{ orders: { offerId: string; state: string }[] }>().orders;
      const expired = await stateOf('expired');
      assert.deepEqual(expired.map((o) => o.offerId), [ids[2], ids[1], ids[0]]);
      assert.ok(expired.every((o) => o.state === 'expired'));
      assert.equal((await stateOf('open')).length, 3);
      assert.deepEqual(await stateOf('taken'), []);
      assert.equal((await publicOffer(m, ids[0]!)).state, 'expired');
      // Bad queries.
      for (const q of ['limit=0', 'limit=101', 'limit=x', 'state=paid', 'cursor=!!', 'cursor=e30', 'other=1']) {
        refusedWith(await shopGet(m, `/v1/shop/orders?${q}`), 400, 'HTTP_SCHEMA_INVALID');
      }
      // One offer, by id; unknown id 404.
      const one = await shopGet(m, `/v1/shop/orders/${ids[3]}`);
      assert.equal(one.statusCode, 200);
      assert.deepEqual(
        (({ offerId, state, amount, reference, refunds }) => ({ offerId, state, amount, reference, refunds }))(one.json<Record<string, unknown>>()),
        { offerId: ids[3], state: 'open', amount: SHOP_TOTAL, reference: 'r3', refunds: [] },
      );
      refusedWith(await shopGet(m, '/v1/shop/orders/of-00000000000000000000000000000000'), 404, 'MERCHANT_OFFER_NOT_FOUND');
      OfferView.parse((await m.app.inject({ method: 'GET', url: `/v1/offers/${ids[3]}` })).json());
    });
  });
}
