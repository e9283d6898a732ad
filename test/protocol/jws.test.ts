// Signed documents: round trips, and every way to make verifyDocument say no.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import fc from 'fast-check';
import { countersign, documentHash, signDocument, verifyDocument, type GeneralJws, type VerifyPolicy } from '../../src/protocol/jws.ts';
import { decodeBase64url, encodeBase64, encodeBase64url } from '../../src/protocol/base64url.ts';
import { buildPki, generateKeyPair, LEAF_NOT_AFTER, makeIntermediate, makeLeaf, makeRoot, type LeafHandle, type TestPki } from '../fixtures/pki.ts';

const TYP = 'quittance-invoice+jws';
const INVOICE = { transactionId: 'tx-1', amount: 'JPY:4000', lines: [{ sku: 'book-42', qty: 2 }], note: 'ü €' };

function fail(r: { ok: boolean; code?: string; message?: string }, code: string): void {
  assert.equal(r.ok, false, `expected ${code}, got ok`);
  assert.equal(r.code, code, r.message);
}

/** Signs arbitrary header and payload bytes directly with WebCrypto: for documents our signer refuses to make. */
async function handSign(header: Record<string, unknown>, payloadBytes: Uint8Array, key: CryptoKey): Promise<GeneralJws> {
  const protectedB64 = encodeBase64url(new TextEncoder().encode(JSON.stringify(header)));
  const payload = encodeBase64url(payloadBytes);
  const input = new TextEncoder().encode(`${protectedB64}.${payload}`);
  const params = key.algorithm.name === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
  const sig = new Uint8Array(await crypto.subtle.sign(params, key, input));
  return { payload, signatures: [{ protected: protectedB64, signature: encodeBase64url(sig) }] };
}

const b64 = (ders: Uint8Array[]): string[] => ders.map((d) => encodeBase64(d));

void describe('signDocument / verifyDocument', () => {
  let pki: TestPki;
  let merchant: LeafHandle;
  let client: LeafHandle;
  let policy: (o?: Partial<VerifyPolicy>) => Promise<VerifyPolicy>;

  void before(async () => {
    pki = await buildPki();
    merchant = await pki.leaf({ role: 'merchant', partyId: 'shop-1', displayName: 'Shop One' });
    client = await pki.leaf({ role: 'client', partyId: 'alice', displayName: 'Alice' });
    policy = async (o = {}) => {
      const p = await pki.policy();
      return { now: p.now, trustAnchors: p.trustAnchors, crls: p.crls, crlMaxAgeSeconds: p.crlMaxAgeSeconds, expectedTyp: TYP, signers: [{ roles: ['merchant'] }], ...o };
    };
  });

  const sign = (leaf: LeafHandle, payload: unknown = INVOICE, typ = TYP): Promise<GeneralJws> =>
    signDocument({ payload, typ, privateKey: leaf.keys.privateKey, alg: 'EdDSA', x5c: leaf.chain });

  void test('Ed25519 round trip returns payload, canonical bytes, hash and identity', async () => {
    const jws = await sign(merchant);
    assert.deepEqual(Object.keys(jws), ['payload', 'signatures']);
    const header = JSON.parse(new TextDecoder().decode(decodeBase64url(jws.signatures[0]!.protected)!)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(header).sort(), ['alg', 'typ', 'x5c']);
    assert.equal(header.alg, 'EdDSA');
    const r = await verifyDocument(jws, await policy());
    assert.ok(r.ok, r.ok ? '' : `${r.code} ${r.message}`);
    assert.deepEqual(r.value.payload, INVOICE);
    assert.equal(new TextDecoder().decode(r.value.payloadBytes), '{"amount":"JPY:4000","lines":[{"qty":2,"sku":"book-42"}],"note":"ü €","transactionId":"tx-1"}');
    assert.equal(r.value.documentHash, await documentHash(r.value.payloadBytes));
    const expectedHash = nodeCrypto.createHash('sha256').update(r.value.payloadBytes).digest('base64url');
    assert.equal(r.value.documentHash, expectedHash);
    assert.equal(r.value.signers.length, 1);
    const s = r.value.signers[0]!;
    assert.equal(s.kind, 'certified');
    if (s.kind === 'certified') {
      assert.equal(s.partyId, 'shop-1');
      assert.equal(s.role, 'merchant');
      assert.equal(s.fingerprint, nodeCrypto.createHash('sha256').update(merchant.der).digest('hex'));
    }
  });

  void test('ES256 round trip', async () => {
    const ec = await buildPki({ keyKind: 'P-256' });
    const leaf = await ec.leaf({ role: 'payment', partyId: 'pay-1' });
    const jws = await signDocument({ payload: INVOICE, typ: TYP, privateKey: leaf.keys.privateKey, alg: 'ES256', x5c: leaf.chain });
    const p = await ec.policy();
    const r = await verifyDocument(jws, { ...p, expectedTyp: TYP, signers: [{ roles: ['payment'] }] });
    assert.ok(r.ok, r.ok ? '' : r.code);
    assert.equal(r.value.signers[0]!.kind === 'certified' && r.value.signers[0]!.partyId, 'pay-1');
  });

  void test('an independent verifier (node:crypto) accepts our signature', async () => {
    const jws = await sign(merchant);
    const s = jws.signatures[0]!;
    const key = new nodeCrypto.X509Certificate(merchant.der).publicKey;
    const ok = nodeCrypto.verify(null, Buffer.from(`${s.protected}.${jws.payload}`), key, Buffer.from(s.signature, 'base64url'));
    assert.equal(ok, true);
  });

  void test('countersign: two signers over the same payload bytes, identities in order', async () => {
    const invoice = await sign(merchant);
    const both = await countersign(invoice, { typ: TYP, privateKey: client.keys.privateKey, alg: 'EdDSA', x5c: client.chain });
    assert.equal(both.payload, invoice.payload);
    assert.equal(both.signatures.length, 2);
    assert.deepEqual(both.signatures[0], invoice.signatures[0]);
    const r = await verifyDocument(both, await policy({ signers: [{ roles: ['merchant'] }, { roles: ['client'] }] }));
    assert.ok(r.ok, r.ok ? '' : r.code);
    assert.deepEqual(r.value.signers.map((s) => (s.kind === 'certified' ? s.partyId : s.thumbprint)), ['shop-1', 'alice']);
    // Roles in the wrong order are refused: position matters.
    fail(await verifyDocument(both, await policy({ signers: [{ roles: ['client'] }, { roles: ['merchant'] }] })), 'PROTO_CERT_ROLE_MISMATCH');
    // Dropping the countersignature is a count mismatch, not a pass.
    fail(await verifyDocument(invoice, await policy({ signers: [{ roles: ['merchant'] }, { roles: ['client'] }] })), 'PROTO_JWS_SIGNER_COUNT');
  });

  void test('a flipped byte in the payload is SIGNATURE_INVALID', async () => {
    const jws = await sign(merchant);
    const bytes = decodeBase64url(jws.payload)!;
    const text = new TextDecoder().decode(bytes).replace('JPY:4000', 'JPY:4001');
    const tampered = { ...jws, payload: encodeBase64url(new TextEncoder().encode(text)) };
    fail(await verifyDocument(tampered, await policy()), 'PROTO_JWS_SIGNATURE_INVALID');
  });

  void test('a flipped byte in the signature is SIGNATURE_INVALID', async () => {
    const jws = await sign(merchant);
    const sig = decodeBase64url(jws.signatures[0]!.signature)!;
    sig[10] = (sig[10] ?? 0) ^ 0x01;
    const tampered = { payload: jws.payload, signatures: [{ ...jws.signatures[0]!, signature: encodeBase64url(sig) }] };
    fail(await verifyDocument(tampered, await policy()), 'PROTO_JWS_SIGNATURE_INVALID');
  });

  void test('property: any single flipped byte in payload or signature fails', async () => {
    const jws = await sign(merchant);
    const payload = decodeBase64url(jws.payload)!;
    const signature = decodeBase64url(jws.signatures[0]!.signature)!;
    const pol = await policy();
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (inPayload, pos, mask) => {
        const target = (inPayload ? payload : signature).slice();
        target[pos % target.length] = (target[pos % target.length] ?? 0) ^ mask;
        const tampered = inPayload
          ? { payload: encodeBase64url(target), signatures: jws.signatures }
          : { payload: jws.payload, signatures: [{ ...jws.signatures[0]!, signature: encodeBase64url(target) }] };
        const r = await verifyDocument(tampered, pol);
        assert.equal(r.ok, false);
      }),
      { numRuns: 150 },
    );
  });

  void test('alg "none" (hand-crafted, empty signature) is ALG_NOT_ALLOWED', async () => {
    const good = await sign(merchant);
    const header = { alg: 'none', typ: TYP, x5c: b64(merchant.chain) };
    const forged = { payload: good.payload, signatures: [{ protected: encodeBase64url(new TextEncoder().encode(JSON.stringify(header))), signature: '' }] };
    fail(await verifyDocument(forged, await policy()), 'PROTO_JWS_ALG_NOT_ALLOWED');
  });

  void test('HS256 keyed with the public certificate is ALG_NOT_ALLOWED', async () => {
    // The classic key confusion: HMAC with the (public) certificate bytes as the secret.
    const header = { alg: 'HS256', typ: TYP, x5c: b64(merchant.chain) };
    const protectedB64 = encodeBase64url(new TextEncoder().encode(JSON.stringify(header)));
    const payload = encodeBase64url(new TextEncoder().encode('{"amount":"JPY:1"}'));
    const mac = nodeCrypto.createHmac('sha256', merchant.der).update(`${protectedB64}.${payload}`).digest('base64url');
    fail(await verifyDocument({ payload, signatures: [{ protected: protectedB64, signature: mac }] }, await policy()), 'PROTO_JWS_ALG_NOT_ALLOWED');
    // RS256 and ES256 when the policy narrows to EdDSA are refused the same way.
    const rs = { ...header, alg: 'RS256' };
    fail(await verifyDocument({ payload, signatures: [{ protected: encodeBase64url(new TextEncoder().encode(JSON.stringify(rs))), signature: mac }] }, await policy()), 'PROTO_JWS_ALG_NOT_ALLOWED');
    const ec = await buildPki({ keyKind: 'P-256' });
    const leaf = await ec.leaf({ role: 'merchant' });
    const es = await signDocument({ payload: INVOICE, typ: TYP, privateKey: leaf.keys.privateKey, alg: 'ES256', x5c: leaf.chain });
    fail(await verifyDocument(es, { ...(await ec.policy()), expectedTyp: TYP, signers: [{ roles: ['merchant'] }], algorithms: ['EdDSA'] }), 'PROTO_JWS_ALG_NOT_ALLOWED');
  });

  void test('a wrong typ is TYP_MISMATCH, also when only the countersignature has it', async () => {
    fail(await verifyDocument(await sign(merchant, INVOICE, 'quittance-receipt+jws'), await policy()), 'PROTO_JWS_TYP_MISMATCH');
    const both = await countersign(await sign(merchant), { typ: 'quittance-permit+jws', privateKey: client.keys.privateKey, alg: 'EdDSA', x5c: client.chain });
    fail(await verifyDocument(both, await policy({ signers: [{ roles: ['merchant'] }, { roles: ['client'] }] })), 'PROTO_JWS_TYP_MISMATCH');
  });

  void test('a signer with the wrong role is PROTO_CERT_ROLE_MISMATCH', async () => {
    fail(await verifyDocument(await sign(client), await policy()), 'PROTO_CERT_ROLE_MISMATCH');
  });

  void test('certificate path failures surface with their codes', async () => {
    const other = await makeRoot({ commonName: 'Elsewhere Root' });
    const stranger = await makeLeaf(await makeIntermediate(other), { role: 'merchant' });
    fail(await verifyDocument(await sign(stranger), await policy()), 'PROTO_CERT_UNTRUSTED_ROOT');
    fail(await verifyDocument(await sign(merchant), await policy({ now: new Date(LEAF_NOT_AFTER.getTime() + 1000) })), 'PROTO_CERT_EXPIRED');
    const crls = [await pki.crl(pki.root), await pki.crl(pki.intermediate, { revoked: [merchant.der] })];
    fail(await verifyDocument(await sign(merchant), await policy({ crls })), 'PROTO_CERT_REVOKED');
    fail(await verifyDocument(await sign(merchant), await policy({ crls: [] })), 'PROTO_CERT_CRL_MISSING');
    const i2 = await makeIntermediate(pki.intermediate, { commonName: 'Deep 2' });
    const i3 = await makeIntermediate(i2, { commonName: 'Deep 3' });
    const deep = await makeLeaf(i3, { role: 'merchant' });
    const deepJws = await signDocument({ payload: INVOICE, typ: TYP, privateKey: deep.keys.privateKey, alg: 'EdDSA', x5c: [deep.der, i3.der, i2.der, pki.intermediate.der] });
    fail(await verifyDocument(deepJws, await policy()), 'PROTO_CERT_PATH_TOO_LONG');
  });

  void test('a signature by a key other than the certificate key is SIGNATURE_INVALID', async () => {
    const thief = await generateKeyPair();
    const jws = await signDocument({ payload: INVOICE, typ: TYP, privateKey: thief.privateKey, alg: 'EdDSA', x5c: merchant.chain });
    fail(await verifyDocument(jws, await policy()), 'PROTO_JWS_SIGNATURE_INVALID');
  });

  void test('a non-canonical payload is PAYLOAD_NOT_CANONICAL, even correctly signed', async () => {
    for (const text of ['{"transactionId":"tx-1","amount":"JPY:4000"}', '{ "amount":"JPY:4000"}', '{"amount":"JPY:4000","amount":"JPY:1"}', '{"n":1.0}']) {
      const jws = await handSign({ alg: 'EdDSA', typ: TYP, x5c: b64(merchant.chain) }, new TextEncoder().encode(text), merchant.keys.privateKey);
      fail(await verifyDocument(jws, await policy()), 'PROTO_JWS_PAYLOAD_NOT_CANONICAL');
    }
    // Control: the same hand-made route with canonical bytes passes.
    const good = await handSign({ alg: 'EdDSA', typ: TYP, x5c: b64(merchant.chain) }, new TextEncoder().encode('{"amount":"JPY:4000"}'), merchant.keys.privateKey);
    assert.ok((await verifyDocument(good, await policy())).ok);
  });

  void test('crit is CRIT_UNSUPPORTED; unprotected or unknown header parameters are MALFORMED', async () => {
    const bytes = new TextEncoder().encode('{"a":1}');
    const crit = await handSign({ alg: 'EdDSA', typ: TYP, x5c: b64(merchant.chain), crit: ['b64'], b64: false }, bytes, merchant.keys.privateKey);
    fail(await verifyDocument(crit, await policy()), 'PROTO_JWS_CRIT_UNSUPPORTED');
    const kid = await handSign({ alg: 'EdDSA', typ: TYP, x5c: b64(merchant.chain), kid: 'k1' }, bytes, merchant.keys.privateKey);
    fail(await verifyDocument(kid, await policy()), 'PROTO_JWS_MALFORMED');
    const good = await sign(merchant);
    const withHeader = { payload: good.payload, signatures: [{ ...good.signatures[0]!, header: { typ: TYP } }] };
    fail(await verifyDocument(withHeader, await policy()), 'PROTO_JWS_MALFORMED');
  });

  void test('malformed shapes and over-limit input are MALFORMED', async () => {
    const good = await sign(merchant);
    const p = await policy();
    for (const bad of [null, 'x', [], {}, { payload: good.payload }, { ...good, extra: 1 }, { payload: good.payload, signatures: [] },
      { payload: good.payload + '=', signatures: good.signatures }, { payload: good.payload, signatures: [{ protected: 1, signature: 'x' }] }]) {
      fail(await verifyDocument(bad, p), 'PROTO_JWS_MALFORMED');
    }
    const nine = { payload: good.payload, signatures: Array.from({ length: 9 }, () => good.signatures[0]!) };
    fail(await verifyDocument(nine, { ...p, signers: Array.from({ length: 9 }, () => ({ roles: ['merchant' as const] })) }), 'PROTO_JWS_MALFORMED');
    const sixCerts = await handSign({ alg: 'EdDSA', typ: TYP, x5c: b64([...merchant.chain, ...merchant.chain, ...merchant.chain]) }, new TextEncoder().encode('{}'), merchant.keys.privateKey);
    fail(await verifyDocument(sixCerts, p), 'PROTO_JWS_MALFORMED');
  });

  void test('the input is snapshotted: mutating it during verification changes nothing', async () => {
    const jws = (await sign(merchant)) as { payload: string; signatures: { protected: string; signature: string }[] };
    const pending = verifyDocument(jws, await policy());
    jws.payload = encodeBase64url(new TextEncoder().encode('{"amount":"JPY:999999"}'));
    const r = await pending;
    assert.ok(r.ok);
    assert.equal((r.value.payload as { amount: string }).amount, 'JPY:4000');
  });

  void describe('anonymous per-order keys', () => {
    void test('a jwk signer yields the RFC 7638 thumbprint', async () => {
      const keys = await generateKeyPair();
      const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as { kty: 'OKP'; crv: 'Ed25519'; x: string };
      const jws = await signDocument({ payload: INVOICE, typ: TYP, privateKey: keys.privateKey, alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } });
      const r = await verifyDocument(jws, await policy({ signers: [{ anonymous: true }] }));
      assert.ok(r.ok, r.ok ? '' : r.code);
      // RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
      const expected = nodeCrypto.createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`).digest('base64url');
      assert.deepEqual(r.value.signers, [{ kind: 'anonymous', thumbprint: expected }]);
      // orAnonymous accepts it too; a certified-only position refuses it.
      assert.ok((await verifyDocument(jws, await policy({ signers: [{ roles: ['client'], orAnonymous: true }] }))).ok);
      fail(await verifyDocument(jws, await policy({ signers: [{ roles: ['client'] }] })), 'PROTO_JWS_SIGNER_MISMATCH');
      // And a certified signer where only an anonymous key is expected.
      fail(await verifyDocument(await sign(merchant), await policy({ signers: [{ anonymous: true }] })), 'PROTO_JWS_SIGNER_MISMATCH');
    });

    void test('a jwk with private members is JWK_INVALID', async () => {
      const keys = await generateKeyPair();
      const priv = (await crypto.subtle.exportKey('jwk', keys.privateKey)) as Record<string, unknown>;
      const full = { kty: priv.kty, crv: priv.crv, x: priv.x, d: priv.d };
      const jws = await handSign({ alg: 'EdDSA', typ: TYP, jwk: full }, new TextEncoder().encode('{}'), keys.privateKey);
      fail(await verifyDocument(jws, await policy({ signers: [{ anonymous: true }] })), 'PROTO_JWS_JWK_INVALID');
      const extra = await handSign({ alg: 'EdDSA', typ: TYP, jwk: { kty: priv.kty, crv: priv.crv, x: priv.x, kid: 'me' } }, new TextEncoder().encode('{}'), keys.privateKey);
      fail(await verifyDocument(extra, await policy({ signers: [{ anonymous: true }] })), 'PROTO_JWS_JWK_INVALID');
    });

    void test('key type and alg must match: KEY_ALG_MISMATCH', async () => {
      // An Ed25519 jwk announced as ES256.
      const keys = await generateKeyPair();
      const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as Record<string, unknown>;
      const a = await handSign({ alg: 'ES256', typ: TYP, jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } }, new TextEncoder().encode('{}'), keys.privateKey);
      fail(await verifyDocument(a, await policy({ signers: [{ anonymous: true }] })), 'PROTO_JWS_KEY_ALG_MISMATCH');
      // An Ed25519 certificate with alg ES256 (signed with a P-256 key the attacker holds).
      const ec = await generateKeyPair('P-256');
      const b = await handSign({ alg: 'ES256', typ: TYP, x5c: b64(merchant.chain) }, new TextEncoder().encode('{}'), ec.privateKey);
      fail(await verifyDocument(b, await policy()), 'PROTO_JWS_KEY_ALG_MISMATCH');
    });

    void test('neither x5c nor jwk is KEY_MISSING; both is MALFORMED', async () => {
      const keys = await generateKeyPair();
      const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as Record<string, unknown>;
      const none = await handSign({ alg: 'EdDSA', typ: TYP }, new TextEncoder().encode('{}'), keys.privateKey);
      fail(await verifyDocument(none, await policy()), 'PROTO_JWS_KEY_MISSING');
      const both = await handSign({ alg: 'EdDSA', typ: TYP, x5c: b64(merchant.chain), jwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x } }, new TextEncoder().encode('{}'), keys.privateKey);
      fail(await verifyDocument(both, await policy({ signers: [{ roles: ['merchant'], orAnonymous: true }] })), 'PROTO_JWS_MALFORMED');
    });
  });

  void test('signDocument refuses bad arguments with TypeError', async () => {
    await assert.rejects(signDocument({ payload: INVOICE, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'ES256', x5c: merchant.chain }), TypeError);
    await assert.rejects(signDocument({ payload: INVOICE, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA' }), TypeError);
    await assert.rejects(signDocument({ payload: [1], typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: merchant.chain }), TypeError);
    await assert.rejects(signDocument({ payload: { n: NaN }, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: merchant.chain }), TypeError);
    await assert.rejects(
      signDocument({ payload: INVOICE, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x: 'AA', d: 'x' } as never }),
      TypeError,
    );
  });
});
