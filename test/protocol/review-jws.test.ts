// Security review of verifyDocument/signDocument: each test is an attack that
// used to pass (see the review report), and now fails with a stable code.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countersign, documentHash, signDocument, verifyDocument, type GeneralJws, type VerifyPolicy } from '../../src/protocol/jws.ts';
import { encodeBase64, encodeBase64url } from '../../src/protocol/base64url.ts';
import { buildPki, type LeafHandle, type TestPki } from '../fixtures/pki.ts';

const TYP = 'quittance.invoice.v1+json';
const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);

function fail(r: { ok: boolean; code?: string; message?: string }, code: string): void {
  assert.equal(r.ok, false, `expected ${code}, got ok`);
  assert.equal(r.code, code, r.message);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Signs exact header and payload bytes with WebCrypto, bypassing signDocument's checks. */
async function handSign(headerBytes: Uint8Array, payloadBytes: Uint8Array, key: CryptoKey): Promise<GeneralJws> {
  const protectedB64 = encodeBase64url(headerBytes);
  const payload = encodeBase64url(payloadBytes);
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key, new TextEncoder().encode(`${protectedB64}.${payload}`)));
  return { payload, signatures: [{ protected: protectedB64, signature: encodeBase64url(sig) }] };
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

void describe('review: verifyDocument attacks', () => {
  let pki: TestPki;
  let merchant: LeafHandle;
  let client: LeafHandle;
  let policy: (o?: Partial<VerifyPolicy>) => Promise<VerifyPolicy>;
  let header: Uint8Array;

  void before(async () => {
    pki = await buildPki();
    merchant = await pki.leaf({ role: 'merchant', partyId: 'shop-1', displayName: 'Shop One' });
    client = await pki.leaf({ role: 'client', partyId: 'alice', displayName: 'Alice' });
    policy = async (o = {}) => {
      const p = await pki.policy();
      return { now: p.now, trustAnchors: p.trustAnchors, crls: p.crls, crlMaxAgeSeconds: p.crlMaxAgeSeconds, expectedTyp: TYP, signers: [{ roles: ['merchant'] }], ...o };
    };
    header = utf8(JSON.stringify({ alg: 'EdDSA', typ: TYP, x5c: merchant.chain.map((c) => encodeBase64(c)) }));
  });

  void test('a UTF-8 BOM before a canonical payload is PAYLOAD_NOT_CANONICAL (one document, one hash)', async () => {
    const canonical = utf8('{"amount":"JPY:4000"}');
    // Control: without the BOM the hand-signed document verifies.
    const good = await verifyDocument(await handSign(header, canonical, merchant.keys.privateKey), await policy());
    assert.ok(good.ok, good.ok ? '' : good.code);
    assert.equal(good.value.documentHash, await documentHash(canonical));
    // TextDecoder drops a leading BOM by default, so the text compared was canonical
    // while the hashed bytes were not: the same document under a second hash.
    const withBom = await handSign(header, concat(BOM, canonical), merchant.keys.privateKey);
    fail(await verifyDocument(withBom, await policy()), 'PROTO_JWS_PAYLOAD_NOT_CANONICAL');
  });

  void test('a UTF-8 BOM before the protected header JSON is MALFORMED', async () => {
    const jws = await handSign(concat(BOM, header), utf8('{"amount":"JPY:4000"}'), merchant.keys.privateKey);
    fail(await verifyDocument(jws, await policy()), 'PROTO_JWS_MALFORMED');
  });

  void test("a payload whose own typ differs from the header's is TYP_MISMATCH", async () => {
    // PROTOCOL.md §1: the header typ must equal the payload's typ. Otherwise one
    // signature is evidence of two kinds: an invoice by its header, a receipt by its hash.
    const payload = utf8('{"amount":"JPY:4000","typ":"quittance.receipt.v1+json"}');
    fail(await verifyDocument(await handSign(header, payload, merchant.keys.privateKey), await policy()), 'PROTO_JWS_TYP_MISMATCH');
    const matching = utf8(`{"amount":"JPY:4000","typ":"${TYP}"}`);
    assert.ok((await verifyDocument(await handSign(header, matching, merchant.keys.privateKey), await policy())).ok);
  });

  void test("signDocument refuses a payload typ that differs from the header's", async () => {
    const payload = { typ: 'quittance.receipt.v1+json', amount: 'JPY:4000' };
    await assert.rejects(signDocument({ payload, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: merchant.chain }), TypeError);
    const jws = await signDocument({ payload: { ...payload, typ: TYP }, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: merchant.chain });
    assert.ok((await verifyDocument(jws, await policy())).ok);
  });

  void test("the policy's role lists are snapshotted: changing them during verification changes nothing", async () => {
    const invoice = await signDocument({ payload: { amount: 'JPY:4000' }, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: merchant.chain });
    const both = await countersign(invoice, { typ: TYP, privateKey: client.keys.privateKey, alg: 'EdDSA', x5c: client.chain });
    const roles: ('merchant' | 'client')[] = ['merchant'];
    // The second signer is a client, which this policy does not accept...
    const pending = verifyDocument(both, await policy({ signers: [{ roles: ['merchant'] }, { roles }] }));
    // ...until the caller's array changes while the first path is being validated.
    roles.push('client');
    fail(await pending, 'PROTO_CERT_ROLE_MISMATCH');
  });
});
