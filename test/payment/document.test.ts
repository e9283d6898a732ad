// The denomination-keys document: schema rules and checkDenominationKeys.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { encodeBase64url } from '../../src/protocol/base64url.ts';
import { checkDenominationKeys, denominationIdOf, DENOMINATION_KEYS_TYP, DOCUMENT_INFO, isPowerOfTwo, MAX_DENOMINATION_KEYS, parseDocument, type DenominationKeys } from '../../src/protocol/documents/index.ts';

const spki = new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }));
const ecSpki = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }));

async function example(): Promise<DenominationKeys> {
  return {
    typ: DENOMINATION_KEYS_TYP,
    paymentServer: { id: 'pay-1', name: 'Quittance Pay' },
    issuedAt: '2026-03-01T09:00:00.000Z',
    keys: [
      {
        denominationId: await denominationIdOf(spki),
        value: 'JPY:64',
        publicKey: encodeBase64url(spki),
        validFrom: '2026-03-01T09:00:00.000Z',
        withdrawUntil: '2026-03-31T09:00:00.000Z',
        depositUntil: '2027-03-01T09:00:00.000Z',
      },
    ],
  };
}

function paths(value: unknown): string[] {
  const r = parseDocument(DENOMINATION_KEYS_TYP, value);
  return r.ok ? [] : (r.details as { path: string }[]).map((i) => i.path);
}

void describe('quittance.denomination-keys.v1+json', () => {
  void test('a valid list parses and checks; it is signed by the payment server', async () => {
    const doc = await example();
    assert.deepEqual(parseDocument(DENOMINATION_KEYS_TYP, doc), { ok: true, value: doc });
    assert.deepEqual(await checkDenominationKeys(doc, { signerPartyId: 'pay-1' }), { ok: true, value: doc });
    assert.equal(DOCUMENT_INFO[DENOMINATION_KEYS_TYP].signer, 'payment');
  });

  void test('schema: powers of two only, windows in order, unique ids, bounded, strict', async () => {
    const base = await example();
    const k = base.keys[0]!;
    assert.deepEqual(paths({ ...base, keys: [{ ...k, value: 'JPY:48' }] }), ['keys.0.value']);
    assert.deepEqual(paths({ ...base, keys: [{ ...k, value: 'JPY:0' }] }), ['keys.0.value']);
    assert.deepEqual(paths({ ...base, keys: [{ ...k, depositUntil: '2026-03-30T09:00:00.000Z' }] }), ['keys.0.depositUntil']);
    assert.deepEqual(paths({ ...base, keys: [{ ...k, withdrawUntil: k.validFrom }] }), ['keys.0.withdrawUntil']);
    assert.deepEqual(paths({ ...base, keys: [k, k] }), ['keys.1.denominationId']);
    assert.deepEqual(paths({ ...base, keys: [] }), ['keys']);
    assert.deepEqual(paths({ ...base, keys: Array.from({ length: MAX_DENOMINATION_KEYS + 1 }, () => k) }).slice(0, 1), ['keys']);
    assert.deepEqual(paths({ ...base, extra: 1 }), ['(root)']);
    assert.deepEqual(paths({ ...base, keys: [{ ...k, jwk: {} }] }), ['keys.0']);
    assert.deepEqual(paths({ ...base, keys: [{ ...k, publicKey: `${k.publicKey}=` }] }), ['keys.0.publicKey']);
    assert.ok(isPowerOfTwo(1n) && isPowerOfTwo(2n ** 52n) && !isPowerOfTwo(0n) && !isPowerOfTwo(6n));
  });

  void test('checkDenominationKeys: id must be SHA-256 of the key, key must be RSA, server must be the signer', async () => {
    const base = await example();
    const k = base.keys[0]!;
    const wrongId = await checkDenominationKeys({ ...base, keys: [{ ...k, denominationId: await denominationIdOf(ecSpki) }] });
    assert.equal(!wrongId.ok && wrongId.code, 'PROTO_DOCUMENT_INVALID');
    assert.deepEqual(!wrongId.ok && wrongId.details, [{ path: 'keys.0.denominationId', message: 'is not the SHA-256 of publicKey' }]);
    const ec = await checkDenominationKeys({ ...base, keys: [{ ...k, publicKey: encodeBase64url(ecSpki), denominationId: await denominationIdOf(ecSpki) }] });
    assert.equal(!ec.ok && (ec.details as { path: string }[])[0]!.path, 'keys.0.publicKey');
    const signer = await checkDenominationKeys(base, { signerPartyId: 'someone-else' });
    assert.equal(!signer.ok && (signer.details as { path: string }[])[0]!.path, 'paymentServer.id');
  });
});
