// Property: for any single flipped byte in a certificate, a CRL or a JWS
// signature, verification through a warm cache gives exactly what it gives
// without one. And verifyDocument keeps every failure through a shared cache.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { signDocument, verifyDocument, type GeneralJws, type VerifyPolicy } from '../../src/protocol/jws.ts';
import { decodeBase64url, encodeBase64, encodeBase64url } from '../../src/protocol/base64url.ts';
import { createVerificationCache, type VerificationCache } from '../../src/protocol/x509/index.ts';
import { buildPki, LEAF_NOT_AFTER, makeIntermediate, type LeafHandle, type TestPki } from '../fixtures/pki.ts';

const TYP = 'quittance.invoice.v1+json';
const INVOICE = { transactionId: 'tx-1', amount: 'JPY:4000' };

type Outcome = { ok: true; signers: unknown; hash: string } | { ok: false; code: string; message: string; details: unknown };

async function outcome(jws: unknown, policy: VerifyPolicy): Promise<Outcome> {
  const r = await verifyDocument(jws, policy);
  return r.ok ? { ok: true, signers: r.value.signers, hash: r.value.documentHash } : { ok: false, code: r.code, message: r.message, details: r.details };
}

/** Re-signs nothing: rebuilds the protected header with another x5c, keeping the original signature (so it must fail somewhere). */
function withChain(jws: GeneralJws, chain: Uint8Array[]): GeneralJws {
  const header = JSON.parse(new TextDecoder().decode(decodeBase64url(jws.signatures[0]!.protected)!)) as Record<string, unknown>;
  const prot = encodeBase64url(new TextEncoder().encode(JSON.stringify({ ...header, x5c: chain.map((c) => encodeBase64(c)) })));
  return { payload: jws.payload, signatures: [{ protected: prot, signature: jws.signatures[0]!.signature }] };
}

void describe('verifyDocument through a warm cache', () => {
  let pki: TestPki;
  let merchant: LeafHandle;
  let jws: GeneralJws;
  let policy: VerifyPolicy;
  let cache: VerificationCache;

  void before(async () => {
    pki = await buildPki();
    merchant = await pki.leaf({ role: 'merchant', partyId: 'shop-1' });
    jws = await signDocument({ payload: INVOICE, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: merchant.chain });
    const p = await pki.policy();
    policy = { now: p.now, trustAnchors: p.trustAnchors, crls: p.crls, crlMaxAgeSeconds: p.crlMaxAgeSeconds, expectedTyp: TYP, signers: [{ roles: ['merchant'] }] };
    cache = createVerificationCache({ maxEntries: 1000 });
    assert.ok((await verifyDocument(jws, { ...policy, cache })).ok);
  });

  async function same(doc: unknown, p: VerifyPolicy, code: string): Promise<void> {
    const plain = await outcome(doc, p);
    const cached = await outcome(doc, { ...p, cache });
    assert.deepEqual(cached, plain);
    assert.equal(cached.ok ? 'ok' : cached.code, code);
  }

  void test('every failure keeps its code', async () => {
    await same(jws, policy, 'ok');
    await same(jws, { ...policy, crls: [policy.crls[0]!, await pki.crl(pki.intermediate, { revoked: [merchant.der], crlNumber: 2 })] }, 'PROTO_CERT_REVOKED');
    await same(jws, { ...policy, now: new Date(LEAF_NOT_AFTER.getTime() + 1000) }, 'PROTO_CERT_EXPIRED');
    await same(jws, { ...policy, expectedTyp: 'quittance.receipt.v1+json' }, 'PROTO_JWS_TYP_MISMATCH');
    await same(jws, { ...policy, signers: [{ roles: ['client'] }] }, 'PROTO_CERT_ROLE_MISMATCH');
    const sig = decodeBase64url(jws.signatures[0]!.signature)!;
    sig[5] = (sig[5] ?? 0) ^ 0x01;
    await same({ payload: jws.payload, signatures: [{ ...jws.signatures[0]!, signature: encodeBase64url(sig) }] }, policy, 'PROTO_JWS_SIGNATURE_INVALID');
    // The same cached chain under a changed header: the document signature no longer verifies.
    await same(withChain(jws, [...merchant.chain, pki.root.der]), policy, 'PROTO_JWS_SIGNATURE_INVALID');
    const twin = await makeIntermediate(pki.root);
    await same(withChain(jws, [merchant.der, twin.der]), policy, 'PROTO_CERT_SIGNATURE_INVALID');
    // Document signatures are not cached: a second signer's key over the same bytes fails.
    const thief = await pki.leaf({ role: 'merchant', partyId: 'shop-1' });
    await same(withChain(jws, thief.chain), policy, 'PROTO_JWS_SIGNATURE_INVALID');
    await same(jws, policy, 'ok');
  });

  void test('property: a flipped byte in a certificate, a CRL or the signature gives the same result warm and cold', async () => {
    const leafDer = merchant.der;
    const interDer = pki.intermediate.der;
    const crl = policy.crls[1]!;
    const signature = decodeBase64url(jws.signatures[0]!.signature)!;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('leaf', 'intermediate', 'crl', 'signature'), fc.nat(), fc.integer({ min: 1, max: 255 }), async (where, pos, mask) => {
        const flip = (b: Uint8Array): Uint8Array => {
          const out = b.slice();
          out[pos % out.length] = (out[pos % out.length] ?? 0) ^ mask;
          return out;
        };
        let doc: GeneralJws = jws;
        let p = policy;
        if (where === 'leaf') doc = withChain(jws, [flip(leafDer), interDer]);
        else if (where === 'intermediate') doc = withChain(jws, [leafDer, flip(interDer)]);
        else if (where === 'crl') p = { ...policy, crls: [policy.crls[0]!, flip(crl)] };
        else doc = { payload: jws.payload, signatures: [{ ...jws.signatures[0]!, signature: encodeBase64url(flip(signature)) }] };
        const cold = await outcome(doc, p);
        const warm = await outcome(doc, { ...p, cache });
        assert.deepEqual(warm, cold);
        // A flip never passes: every byte of a certificate or CRL is signed or is the signature.
        assert.equal(warm.ok, false);
      }),
      { numRuns: 120 },
    );
  });

  void test('property: flipped certificate bytes in a correctly signed document give the same result warm and cold', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), async (inLeaf, pos, mask) => {
        const target = (inLeaf ? merchant.der : pki.intermediate.der).slice();
        target[pos % target.length] = (target[pos % target.length] ?? 0) ^ mask;
        const chain = inLeaf ? [target, pki.intermediate.der] : [merchant.der, target];
        const doc = await signDocument({ payload: INVOICE, typ: TYP, privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: chain });
        const cold = await outcome(doc, policy);
        const warm = await outcome(doc, { ...policy, cache });
        assert.deepEqual(warm, cold);
        assert.equal(warm.ok, false);
      }),
      { numRuns: 120 },
    );
  });
});
