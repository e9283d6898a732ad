import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { children, DerError, octets, oid, one, readOid, readUint, seq, TAG, uint } from '../../src/crypto/der.ts';

void test('OIDs and non-negative integers round-trip', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 39 }), fc.array(fc.integer({ min: 0, max: 2 ** 40 })), (a, b, rest) => {
      const dotted = [a, b, ...rest].join('.');
      assert.equal(readOid(one(oid(dotted), TAG.OID), 'x'), dotted);
    }),
  );
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => assert.equal(readUint(one(uint(n), TAG.INTEGER), 'x'), n)));
  assert.equal(readOid(one(oid('1.2.840.113549.1.5.13'), TAG.OID), 'x'), '1.2.840.113549.1.5.13');
});

void test('long lengths round-trip; truncation, trailing bytes and indefinite lengths are refused', () => {
  const big = new Uint8Array(70_000).fill(7);
  const enc = seq(octets(big), uint(600_000));
  const [o, i] = children(one(enc, TAG.SEQUENCE).content);
  assert.deepEqual(o?.content, big);
  assert.equal(readUint(i, 'i'), 600_000);
  assert.throws(() => one(enc.subarray(0, enc.length - 1), TAG.SEQUENCE), DerError);
  assert.throws(() => one(Uint8Array.of(...enc, 0), TAG.SEQUENCE), DerError);
  assert.throws(() => children(Uint8Array.of(0x30, 0x80, 0, 0)), DerError);
  assert.throws(() => readUint(one(Uint8Array.of(2, 1, 0xff), TAG.INTEGER), 'neg'), DerError);
  assert.throws(() => readUint(one(Uint8Array.of(2, 2, 0, 1), TAG.INTEGER), 'pad'), DerError);
});
