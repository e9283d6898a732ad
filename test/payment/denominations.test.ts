// Denomination keys and the signed key list (issue 3, payment server): keys
// for every power of two, the list verifies as a payment-signed document,
// published and stored keys agree (a blind signature round trip), rotation,
// concurrent creation, and the private keys are never stored in the clear.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { blindSign } from '../../src/crypto/blind-signer.ts';
import { ensureDenominationKeys, findDenomination, listDenominationKeys } from '../../src/payment/denominations.ts';
import { newCaches } from '../../src/payment/deps.ts';
import { deriveWrapKey, unwrapPrivateKey, wrapPrivateKey } from '../../src/payment/key-wrap.ts';
import { decodeBase64url } from '../../src/protocol/base64url.ts';
import { checkDenominationKeys, DENOMINATION_KEYS_TYP, parseDocument, type DenominationKeys } from '../../src/protocol/documents/index.ts';
import { verifyDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { blind, blindingFactorFromSeed, blindRsaPublicKeyFromSpki, finalize, modulusBytes, verify } from '../../src/protocol/rfc9474.ts';
import { CRL_MAX_AGE_SECONDS } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { SALT, startTestPayment, WRAP_KEY, type TestPayment } from './harness.ts';

const DAY = 86_400_000;

async function getKeys(p: TestPayment): Promise<{ jws: GeneralJws; doc: DenominationKeys; headers: Record<string, unknown> }> {
  const res = await p.app.inject({ method: 'GET', url: '/v1/keys' });
  assert.equal(res.statusCode, 200, res.body);
  const jws = res.json<GeneralJws>();
  const crls = await p.pki.crls();
  const fresh = p.clock.now.getTime() - p.pki.now.getTime() < 5 * DAY;
  const v = await verifyDocument(jws, {
    now: p.clock.now,
    trustAnchors: [p.pki.root.der],
    crls: fresh ? crls : [],
    requireCrl: fresh,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: DENOMINATION_KEYS_TYP,
    signers: [{ roles: ['payment'] }],
  });
  assert.ok(v.ok, JSON.stringify(v));
  const signer = v.value.signers[0]!;
  assert.equal(signer.kind === 'certified' && signer.partyId, 'pay-1');
  const doc = parseDocument(DENOMINATION_KEYS_TYP, v.value.payload);
  assert.ok(doc.ok, JSON.stringify(doc));
  const checked = await checkDenominationKeys(doc.value, { signerPartyId: 'pay-1' });
  assert.ok(checked.ok, JSON.stringify(checked));
  return { jws, doc: doc.value, headers: res.headers };
}

for (const t of testDatabases()) {
  void describe(`payment denomination keys (${t.name})`, () => {
    void test('GET /v1/keys: one key per power of two, signed by the payment certificate, ids are SHA-256 of the SPKI', async (ctx) => {
      const p = await startTestPayment(t);
      ctx.after(() => p.close());
      const { doc, headers } = await getKeys(p);
      assert.deepEqual(doc.paymentServer, { id: 'pay-1', name: 'Quittance Pay' });
      assert.deepEqual(doc.keys.map((k) => k.value).sort(), ['EUR:0.01', 'EUR:0.02', 'EUR:0.04', 'JPY:1', 'JPY:2', 'JPY:4', 'JPY:8'].sort());
      for (const k of doc.keys) {
        const spki = decodeBase64url(k.publicKey)!;
        assert.equal(k.denominationId, createHash('sha256').update(spki).digest('base64url'));
        assert.equal(Date.parse(k.withdrawUntil) - Date.parse(k.validFrom), 30 * DAY);
        assert.equal(Date.parse(k.depositUntil) - Date.parse(k.validFrom), 60 * DAY);
        const rsa = await blindRsaPublicKeyFromSpki(spki);
        assert.ok(rsa.ok);
        assert.deepEqual(modulusBytes(rsa.value), { ok: true, value: 256 });
      }
      assert.match(String(headers['cache-control']), /max-age=/);
    });

    void test('the list is signed once per key set: a later request serves the same JWS', async (ctx) => {
      const p = await startTestPayment(t);
      ctx.after(() => p.close());
      const first = await getKeys(p);
      p.clock.now = new Date(p.clock.now.getTime() + 60_000);
      const second = await getKeys(p);
      assert.deepEqual(second.jws, first.jws);
      // A new key set (forced rotation, as by another process) is signed anew.
      await ensureDenominationKeys(p.deps, p.clock.now, { force: true });
      const third = await getKeys(p);
      assert.notDeepEqual(third.jws, first.jws);
      assert.equal(third.doc.keys.length, 14);
      assert.equal(third.doc.issuedAt, new Date(Math.floor(p.clock.now.getTime() / 1000) * 1000).toISOString());
    });

    void test('a coin blinded under a published key and signed with the stored key finalizes and verifies', async (ctx) => {
      const p = await startTestPayment(t);
      ctx.after(() => p.close());
      const { doc } = await getKeys(p);
      const published = doc.keys.find((k) => k.value === 'JPY:4')!;
      const pk = await blindRsaPublicKeyFromSpki(decodeBase64url(published.publicKey)!);
      assert.ok(pk.ok);
      const coin = crypto.getRandomValues(new Uint8Array(32));
      const r = blindingFactorFromSeed(pk.value, crypto.getRandomValues(new Uint8Array(256 + 32)));
      assert.ok(r.ok);
      const b = await blind(pk.value, coin, r.value);
      assert.ok(b.ok);
      const found = await findDenomination(p.deps, published.denominationId, p.clock.now, 'withdraw');
      assert.ok(found.ok);
      const sig = blindSign(found.value.privateKey(), b.value.blindedMsg);
      assert.ok(sig.ok);
      const coinSig = await finalize(pk.value, coin, sig.value, b.value.inv);
      assert.ok(coinSig.ok, JSON.stringify(coinSig));
      assert.deepEqual(await verify(pk.value, coin, coinSig.value), { ok: true, value: true });
      // Another denomination's private key does not make a valid coin for this one.
      const other = await findDenomination(p.deps, doc.keys.find((k) => k.value === 'JPY:8')!.denominationId, p.clock.now, 'withdraw');
      assert.ok(other.ok);
      // Either the envelope is out of the other key's range (refused before
      // signing) or the signature does not unblind to a valid coin: no coin either way.
      const wrongSig = blindSign(other.value.privateKey(), b.value.blindedMsg);
      if (!wrongSig.ok) assert.equal(wrongSig.code, 'PROTO_BLIND_INPUT_INVALID');
      else assert.equal((await finalize(pk.value, coin, wrongSig.value, b.value.inv)).ok, false);
    });

    void test('rotation: a successor appears an overlap before withdrawUntil; old keys stay listed until depositUntil', async (ctx) => {
      const p = await startTestPayment(t, { currencies: [{ maxValue: 'JPY:2' }] });
      ctx.after(() => p.close());
      const start = p.clock.now.getTime();
      const gen1 = (await getKeys(p)).doc.keys;
      assert.equal(gen1.length, 2);
      // Day 22: not yet due (30 − 7 = 23).
      p.clock.now = new Date(start + 22 * DAY);
      assert.deepEqual((await getKeys(p)).doc.keys.map((k) => k.denominationId), gen1.map((k) => k.denominationId));
      // Day 23 + 1 s: due; both generations are listed.
      p.clock.now = new Date(start + 23 * DAY + 1000);
      const both = (await getKeys(p)).doc.keys;
      assert.equal(both.length, 4);
      const gen2 = both.filter((k) => !gen1.some((o) => o.denominationId === k.denominationId));
      assert.equal(gen2.length, 2);
      for (const k of gen2) assert.equal(k.validFrom, new Date(Math.floor(p.clock.now.getTime() / 1000) * 1000).toISOString());
      // Day 31: gen 1 no longer signs but still accepts coins.
      p.clock.now = new Date(start + 31 * DAY);
      const old = gen1[0]!.denominationId;
      assert.equal((await findDenomination(p.deps, old, p.clock.now, 'withdraw')).ok, false);
      assert.equal((await findDenomination(p.deps, old, p.clock.now, 'deposit')).ok, true);
      assert.ok((await getKeys(p)).doc.keys.some((k) => k.denominationId === old));
      // Day 60 + 1 s: gen 1 is past depositUntil and drops out (gen 2 and gen 3 remain).
      p.clock.now = new Date(start + 60 * DAY + 1000);
      const late = (await getKeys(p)).doc.keys;
      assert.ok(!late.some((k) => gen1.some((o) => o.denominationId === k.denominationId)));
      assert.ok(gen2.every((k) => late.some((l) => l.denominationId === k.denominationId)));
      assert.equal((await listDenominationKeys(p.deps, p.clock.now, { all: true })).length, late.length + 2);
    });

    void test('concurrent ensure calls (two processes) create exactly one key per denomination', async (ctx) => {
      const p = await startTestPayment(t);
      ctx.after(() => p.close());
      const other = await p.handle.reopen<never>();
      const second = { ...p.deps, db: t.name === 'postgres' ? (other.db as unknown as typeof p.deps.db) : p.deps.db, caches: newCaches() };
      const [a, b] = await Promise.all([ensureDenominationKeys(p.deps, p.clock.now), ensureDenominationKeys(second, p.clock.now)]);
      assert.equal(a.length + b.length, 7);
      const all = await listDenominationKeys(p.deps, p.clock.now, { all: true });
      assert.equal(all.length, 7);
      assert.equal(new Set(all.map((k) => `${k.currency}:${k.value}`)).size, 7);
      // Nothing is due any more: a third call makes nothing.
      assert.deepEqual(await ensureDenominationKeys(p.deps, p.clock.now), []);
      // Forced rotations racing: one new generation per denomination.
      const [c, d] = await Promise.all([ensureDenominationKeys(p.deps, p.clock.now, { force: true }), ensureDenominationKeys(second, p.clock.now, { force: true })]);
      assert.equal(c.length + d.length, 7);
      assert.equal((await listDenominationKeys(p.deps, p.clock.now)).length, 14);
    });

    void test('findDenomination: unknown id, closed withdraw window, closed deposit window', async (ctx) => {
      const p = await startTestPayment(t, { currencies: [{ maxValue: 'JPY:1' }] });
      ctx.after(() => p.close());
      const [k] = await ensureDenominationKeys(p.deps, p.clock.now);
      const unknown = await findDenomination(p.deps, 'A'.repeat(43), p.clock.now, 'withdraw');
      assert.equal(!unknown.ok && unknown.code, 'PAY_DENOMINATION_UNKNOWN');
      const early = await findDenomination(p.deps, k!.denominationId, new Date(Date.parse(k!.validFrom) - 1000), 'withdraw');
      assert.equal(!early.ok && early.code, 'PAY_DENOMINATION_NOT_WITHDRAWABLE');
      const afterWithdraw = new Date(Date.parse(k!.withdrawUntil) + 1);
      const w = await findDenomination(p.deps, k!.denominationId, afterWithdraw, 'withdraw');
      assert.equal(!w.ok && w.code, 'PAY_DENOMINATION_NOT_WITHDRAWABLE');
      assert.equal((await findDenomination(p.deps, k!.denominationId, afterWithdraw, 'deposit')).ok, true);
      const d = await findDenomination(p.deps, k!.denominationId, new Date(Date.parse(k!.depositUntil) + 1), 'deposit');
      assert.equal(!d.ok && d.code, 'PAY_DENOMINATION_NOT_DEPOSITABLE');
      // Refusals change nothing.
      assert.equal((await listDenominationKeys(p.deps, p.clock.now, { all: true })).length, 1);
    });

    void test('private keys are stored wrapped: no PEM, no PKCS#8, no RSA private exponent in the rows', async (ctx) => {
      const p = await startTestPayment(t, { currencies: [{ maxValue: 'JPY:2' }] });
      ctx.after(() => p.close());
      await ensureDenominationKeys(p.deps, p.clock.now);
      const rows = await p.deps.db.selectFrom('payment_denomination_keys').selectAll().execute();
      assert.equal(rows.length, 2);
      const raw = JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      assert.doesNotMatch(raw, /PRIVATE KEY/);
      for (const row of rows) {
        const key = unwrapPrivateKey(WRAP_KEY, row.private_key_wrapped, row.denomination_id);
        const jwk = key.export({ format: 'jwk' });
        const der = key.export({ type: 'pkcs8', format: 'der' });
        for (const secret of [jwk.d!, jwk.p!, jwk.q!, der.toString('base64'), der.toString('base64url'), der.toString('hex')]) {
          assert.ok(!raw.includes(secret.slice(0, 40)), 'private key material in the clear');
        }
        const blob = Buffer.from(row.private_key_wrapped.slice(3), 'base64url');
        assert.equal(blob.indexOf(der.subarray(0, 64)), -1);
        // Bound to its row: another row's id, or another passphrase, does not open it.
        const otherId = rows.find((r) => r !== row)!.denomination_id;
        assert.throws(() => unwrapPrivateKey(WRAP_KEY, row.private_key_wrapped, otherId), /does not open/);
        const wrongKey = await deriveWrapKey('wrong passphrase', SALT, 1000);
        assert.throws(() => unwrapPrivateKey(wrongKey, row.private_key_wrapped, row.denomination_id), /does not open/);
      }
    });
  });
}

void describe('key wrapping', () => {
  void test('round trip, and a flipped byte anywhere fails', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const w = wrapPrivateKey(WRAP_KEY, privateKey, 'id-1');
    assert.deepEqual(unwrapPrivateKey(WRAP_KEY, w, 'id-1').export({ format: 'jwk' }), privateKey.export({ format: 'jwk' }));
    const blob = Buffer.from(w.slice(3), 'base64url');
    for (const i of [0, 12, blob.length >> 1, blob.length - 1]) {
      const bad = Buffer.from(blob);
      bad[i]! ^= 1;
      assert.throws(() => unwrapPrivateKey(WRAP_KEY, `v1.${bad.toString('base64url')}`, 'id-1'));
    }
  });
});
