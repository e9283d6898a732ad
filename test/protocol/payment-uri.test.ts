// The payment URI (src/protocol/payment-uri.ts): format → parse round-trips,
// and every malformed URI is refused with PROTO_PAYMENT_URI_INVALID.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatPaymentUri, parsePaymentUri, type PaymentUri } from '../../src/protocol/payment-uri.ts';

const SHOP = 'https://shop.example:8443/store/';

function refused(text: string): string {
  const r = parsePaymentUri(text);
  assert.equal(r.ok, false, `${text} should be refused`);
  if (r.ok) return '';
  assert.equal(r.code, 'PROTO_PAYMENT_URI_INVALID');
  return r.message;
}

void describe('payment URI', () => {
  void test('an offer URI: the shop URL percent-encoded, parsed back exactly', () => {
    const uri = formatPaymentUri({ kind: 'offer', shop: SHOP, offerId: 'of-0123456789abcdef0123456789abcdef' });
    assert.equal(uri, 'quittance://pay?shop=https%3A%2F%2Fshop.example%3A8443%2Fstore%2F&offer=of-0123456789abcdef0123456789abcdef');
    assert.deepEqual(parsePaymentUri(uri), { ok: true, value: { kind: 'offer', shop: SHOP, offerId: 'of-0123456789abcdef0123456789abcdef' } });
  });

  void test('an items URI: article ids may contain colons, the quantity follows the last one', () => {
    const uri = formatPaymentUri({ kind: 'items', shop: 'http://127.0.0.1:7004/', items: [{ article: 'ARTICLE-A', quantity: 1 }, { article: 'SKU:12', quantity: 3 }] });
    assert.equal(uri, 'quittance://pay?shop=http%3A%2F%2F127.0.0.1%3A7004%2F&items=ARTICLE-A:1,SKU:12:3');
    const r = parsePaymentUri(uri);
    assert.ok(r.ok);
    assert.deepEqual(r.value, { kind: 'items', shop: 'http://127.0.0.1:7004/', items: [{ article: 'ARTICLE-A', quantity: 1 }, { article: 'SKU:12', quantity: 3 }] });
  });

  void test('the shop URL is taken in its one spelling; the scheme is case-insensitive', () => {
    const r = parsePaymentUri('QUITTANCE://pay?shop=HTTPS%3A%2F%2FShop.Example&offer=of-1');
    assert.ok(r.ok);
    assert.equal(r.value.shop, 'https://shop.example/');
    // Unencoded characters that need no encoding in a query are accepted too.
    const plain = parsePaymentUri('quittance://pay?offer=of-1&shop=https://shop.example/');
    assert.ok(plain.ok);
    assert.equal(plain.value.shop, 'https://shop.example/');
  });

  void test('round trip: any valid URI parses back to itself', () => {
    const article = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,20}$/);
    const shop = fc.constantFrom('https://shop.example/', 'http://127.0.0.1:7004/', 'https://xn--bcher-kva.example/a%20b/');
    const uri: fc.Arbitrary<PaymentUri> = fc.oneof(
      fc.record({ kind: fc.constant('offer' as const), shop, offerId: article }),
      fc.record({ kind: fc.constant('items' as const), shop, items: fc.array(fc.record({ article, quantity: fc.integer({ min: 1, max: 1_000_000 }) }), { minLength: 1, maxLength: 100 }) }),
    );
    fc.assert(
      fc.property(uri, (u) => {
        const r = parsePaymentUri(formatPaymentUri(u));
        assert.ok(r.ok, r.ok ? '' : r.message);
        assert.deepEqual(r.value, JSON.parse(JSON.stringify(u)));
      }),
    );
  });

  void test('malformed URIs are refused with a reason', () => {
    const shop = 'shop=https%3A%2F%2Fshop.example%2F';
    assert.match(refused('https://shop.example/?offer=of-1'), /quittance:\/\/pay/);
    assert.match(refused('quittance://refund?shop=x&offer=of-1'), /quittance:\/\/pay/);
    assert.match(refused(`quittance://pay?${shop}`), /exactly one of offer and items/);
    assert.match(refused(`quittance://pay?${shop}&offer=of-1&items=A:1`), /exactly one/);
    assert.match(refused('quittance://pay?offer=of-1'), /shop parameter is missing/);
    assert.match(refused(`quittance://pay?${shop}&offer=of-1&offer=of-2`), /twice/);
    assert.match(refused(`quittance://pay?${shop}&offer=of-1&amount=JPY:1`), /unknown parameter "amount"/);
    assert.match(refused(`quittance://pay?${shop}&offer=`), /no valid value/);
    assert.match(refused(`quittance://pay?${shop}&offer`), /no valid value/);
    assert.match(refused(`quittance://pay?${shop}&offer=of%ZZ`), /no valid value/);
    assert.match(refused(`quittance://pay?${shop}&offer=of+1`), /no valid value/);
    assert.match(refused(`quittance://pay?${shop}&offer=of-1#frag`), /fragment/);
    assert.match(refused(`quittance://pay?${shop}&offer=of 1`), /offerId/);
    assert.match(refused(`quittance://pay?${shop}&offer=${'a'.repeat(65)}`), /offerId/);
    // Only http(s) shops, without the user-info display trick, query or fragment.
    for (const bad of ['javascript:alert(1)', 'file:///etc/passwd', 'https://shop.example@evil.example/', 'https://shop.example/?x=1', 'not a url']) {
      assert.match(refused(`quittance://pay?shop=${encodeURIComponent(bad)}&offer=of-1`), /shop/, bad);
    }
  });

  void test('malformed items are refused', () => {
    const shop = 'shop=https%3A%2F%2Fshop.example%2F';
    for (const items of ['A', 'A:', ':1', 'A:0', 'A:01', 'A:-1', 'A:1.5', 'A:10000000', 'A:1,', 'A:1,,B:2', 'A B:1']) {
      assert.equal(parsePaymentUri(`quittance://pay?${shop}&items=${encodeURIComponent(items)}`).ok, false, items);
    }
    const many = Array.from({ length: 101 }, (_, i) => `A${i}:1`).join(',');
    assert.match(refused(`quittance://pay?${shop}&items=${many}`), /items/);
    assert.equal(parsePaymentUri(`quittance://pay?${shop}&items=${many.split(',').slice(0, 100).join(',')}`).ok, true);
    assert.match(refused(`quittance://pay?${shop}&items=${'A:1,'.repeat(3000)}A:1`), /longer than/);
  });

  void test('format refuses what parse would refuse (a caller bug is a TypeError)', () => {
    assert.throws(() => formatPaymentUri({ kind: 'offer', shop: 'ftp://shop.example/', offerId: 'of-1' }), TypeError);
    assert.throws(() => formatPaymentUri({ kind: 'items', shop: 'https://shop.example/', items: [] }), TypeError);
    assert.throws(() => parsePaymentUri(42 as unknown as string), TypeError);
  });
});
