import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { canonicalize, canonicalizeToBytes, MAX_DEPTH } from '../../src/protocol/rfc8785.ts';

const vector = (name: string): unknown => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

function canon(v: unknown): string {
  const r = canonicalize(v);
  if (!r.ok) assert.fail(`${r.code}: ${r.message}`);
  return r.value;
}

function double(bitsHex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bitsHex}`));
  return view.getFloat64(0);
}

void describe('RFC 8785 known-answer vectors', () => {
  void test('Appendix B: every IEEE-754 sample serializes as listed; NaN and Infinity are refused', () => {
    const { vectors } = vector('rfc8785-numbers.json') as { vectors: [string, string | null][] };
    assert.equal(vectors.length, 26);
    for (const [bits, expected] of vectors) {
      const r = canonicalize(double(bits));
      if (expected === null) {
        assert.equal(r.ok, false, bits);
        if (!r.ok) assert.equal(r.code, 'PROTO_JSON_NOT_CANONICALIZABLE');
      } else {
        assert.deepEqual(r, { ok: true, value: expected }, bits);
      }
    }
  });

  void test('§3.2.3: properties sort by UTF-16 code units, not code points', () => {
    const v = vector('rfc8785-sorting.json') as { input: string; output: string; valueOrder: string[] };
    const out = canon(JSON.parse(v.input));
    assert.equal(out, v.output);
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33 in UTF-16, after it by code point.
    assert.ok(out.indexOf('Emoji') < out.indexOf('Hebrew'));
    assert.deepEqual([...out.matchAll(/:"([^"]*)"/g)].map((m) => m[1]), v.valueOrder);
  });

  void test('§3.2.2–3.2.4: the full example gives the RFC text and bytes', () => {
    const v = vector('rfc8785-example.json') as { input: string; output: string; utf8Hex: string };
    assert.equal(canon(JSON.parse(v.input)), v.output);
    const bytes = canonicalizeToBytes(JSON.parse(v.input));
    assert.ok(bytes.ok);
    assert.equal(Buffer.from(bytes.value).toString('hex'), v.utf8Hex.replaceAll(' ', ''));
  });
});

void describe('canonicalize rules', () => {
  void test('-0 is "0"; whitespace is dropped; arrays keep their order; nested objects sort too', () => {
    assert.equal(canon(-0), '0');
    assert.equal(canon({ b: [3, 1, 2], a: { z: null, y: true } }), '{"a":{"y":true,"z":null},"b":[3,1,2]}');
  });

  void test('control characters use lower-case \\u escapes; "/" and non-ASCII stay as is', () => {
    assert.equal(canon('\u001f\u007f/é\t'), '"\\u001f\u007f/é\\t"');
  });

  void test('non-finite numbers from the wire are a result with the path', () => {
    const r = canonicalize(JSON.parse('{"a":[1,1e400]}'));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.code, 'PROTO_JSON_NOT_CANONICALIZABLE');
      assert.deepEqual(r.details, { path: '$.a[1]' });
    }
    assert.equal(canonicalize(Number.NEGATIVE_INFINITY).ok, false);
    assert.equal(canonicalize(Number.NaN).ok, false);
  });

  void test('lone surrogates in values and in names are refused', () => {
    for (const text of ['"\\ud800"', '"a\\udc00b"', '{"\\udbff":1}']) {
      const r = canonicalize(JSON.parse(text));
      assert.equal(r.ok, false, text);
      if (!r.ok) assert.equal(r.code, 'PROTO_JSON_NOT_CANONICALIZABLE');
    }
    assert.equal(canon('\ud83d\ude00'), '"\ud83d\ude00"');
  });

  void test('nesting beyond MAX_DEPTH is a result, not a stack overflow', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    const r = canonicalize(deep);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.code, 'PROTO_JSON_NOT_CANONICALIZABLE');
    const ok = JSON.parse('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH));
    assert.equal(canon(ok), '['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH));
  });

  void test('values JSON.parse cannot produce are programming errors (TypeError)', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3];
    for (const bad of [10n, undefined, () => 1, Symbol('s'), { a: 1n }, [undefined], new Date(0), new Map(), cyclic, sparse]) {
      assert.throws(() => canonicalize(bad), TypeError);
    }
  });

  void test('a shared (non-cyclic) sub-object is fine', () => {
    const shared = { x: 1 };
    assert.equal(canon({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}');
  });

  void test('a "__proto__" member from JSON.parse is data, kept and sorted', () => {
    assert.equal(canon(JSON.parse('{"__proto__":{"x":1},"a":2}')), '{"__proto__":{"x":1},"a":2}');
  });
});

void describe('canonicalize properties', () => {
  void test('idempotent through JSON.parse: canon(parse(canon(x))) === canon(x)', () => {
    const json = fc.jsonValue({ depthSize: 'small' });
    fc.assert(
      fc.property(json, (x) => {
        const once = canon(x);
        assert.equal(canon(JSON.parse(once)), once);
      }),
      { numRuns: 500 },
    );
  });

  void test('member order of the input does not matter', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), (d) => {
        const reversed = Object.fromEntries(Object.entries(d).reverse());
        assert.equal(canon(reversed), canon(d));
      }),
    );
  });

  void test('canonical text is valid JSON equal in value to the input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (x) => {
        assert.deepEqual(JSON.parse(canon(x)), JSON.parse(JSON.stringify(x)));
      }),
      { numRuns: 300 },
    );
  });
});
