// The CA CRL source of the merchant: fetched on demand, kept a minute, the
// last good CRL kept when the CA is unreachable, and no CRL → refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { caCrlSource } from '../../src/merchant/crl.ts';

test('caCrlSource: unavailable until fetched once; cached; a failed refresh keeps the last CRL', async () => {
  const clock = { now: new Date('2025-09-01T12:00:00Z') };
  const calls: string[] = [];
  let answer: () => Response = () => {
    throw new TypeError('fetch failed');
  };
  const fakeFetch = ((url: URL) => {
    calls.push(String(url));
    return Promise.resolve().then(() => answer());
  }) as unknown as typeof fetch;
  const source = caCrlSource('http://127.0.0.1:7001/', { fetch: fakeFetch, clock: () => clock.now });

  const down = await source();
  assert.equal(down.ok ? 'ok' : down.code, 'MERCHANT_CRL_UNAVAILABLE');

  answer = () => new Response(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), { status: 200 });
  clock.now = new Date(clock.now.getTime() + 61_000);
  const [a, b] = await Promise.all([source(), source()]);
  assert.ok(a.ok && b.ok);
  assert.deepEqual([...a.value.crls[0]!], [0x30, 0x03, 0x02, 0x01, 0x01]);
  assert.equal(a.value.required, true);
  assert.equal(calls.length, 2, 'two callers at once share one fetch');
  assert.equal(calls[1], 'http://127.0.0.1:7001/v1/ca/crl');

  await source();
  assert.equal(calls.length, 2, 'kept for a minute');

  answer = () => new Response('down', { status: 503 });
  clock.now = new Date(clock.now.getTime() + 61_000);
  const kept = await source();
  assert.equal(calls.length, 3);
  assert.ok(kept.ok, 'the last CRL stays; path validation judges its age');
});
