// The evidence bundle (issue 4, docs/EVIDENCE.md) of REAL purchases: bought
// from a merchant server and paid at a payment server on loopback, exported
// from the wallet's store, then checked by verifyBundle against the CA root
// alone. Then every way a bundle can lie: an altered document, a document of
// another transaction, a signer other than the one the invoice names, the
// wrong CA, a revoked certificate, a missing document — each with its code
// and the document it is in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeBase64url, encodeBase64, encodeBase64url } from '../../src/protocol/base64url.ts';
import { INVOICE_TYP, RECEIPT_TYP } from '../../src/protocol/documents/index.ts';
import { verifyBundle, type EvidenceBundle } from '../../src/protocol/evidence.ts';
import { countersign, signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { canonicalizeToBytes } from '../../src/protocol/rfc8785.ts';
import { exportEvidence } from '../../src/wallet/export.ts';
import { deriveOrderKey } from '../../src/wallet/order-key.ts';
import { buildPki, generateKeyPair, makeRoot } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { MALLORY, PAY, PAY_OTHER, pki, purchase, SHOP, startWorld, fund, type World } from '../wallet/purchase-world.ts';

type Docs = EvidenceBundle['documents'];
type Name = keyof Docs;

const anchors = [pki.root.der];
const copy = (b: EvidenceBundle): EvidenceBundle => structuredClone(b);

function payloadOf(jws: GeneralJws): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as Record<string, unknown>;
}

/** A JWS as the bundle type holds it (mutable arrays). */
function mutable(j: GeneralJws): Docs['receipt'] {
  return { payload: j.payload, signatures: [...j.signatures] };
}

/** The same signatures over a changed payload (still canonical JSON). */
function altered(jws: GeneralJws, change: (p: Record<string, unknown>) => void): Docs['receipt'] {
  const p = payloadOf(jws);
  change(p);
  return { payload: encodeBase64url(value(canonicalizeToBytes(p))), signatures: jws.signatures.map((s) => ({ ...s })) };
}

async function failure(bundle: unknown, opts: Partial<Parameters<typeof verifyBundle>[1]> = {}) {
  const r = await verifyBundle(bundle, { trustAnchors: anchors, ...opts });
  assert.equal(r.ok, false, 'the bundle must not be proven');
  return r as Extract<typeof r, { ok: false }>;
}

const docs = testDatabases()[0]!;
let world: World;
let identified: EvidenceBundle;
let other: EvidenceBundle;
let anonymous: EvidenceBundle;
let anonymousPurchaser: string;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  world = await startWorld(docs, { after: (fn) => cleanups.push(fn) });
  await fund(world, 16n);
  const a = await purchase(world);
  const b = await purchase(world);
  const c = await purchase(world, { anonymous: true });
  identified = value(await exportEvidence(world.wallet, a.transactionId));
  other = value(await exportEvidence(world.wallet, b.transactionId));
  anonymous = value(await exportEvidence(world.wallet, c.transactionId));
  const row = await world.wallet.db.selectFrom('wallet_purchases').select('order_key_index').where('transaction_id', '=', c.transactionId).executeTakeFirstOrThrow();
  anonymousPurchaser = (await deriveOrderKey(world.seed, row.order_key_index!)).thumbprint;
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

describe('verifyBundle on real purchases', () => {
  test('an identified purchase is proven: statements, parties, hashes that link the documents', async () => {
    const e = value(await verifyBundle(identified, { trustAnchors: anchors }));
    assert.equal(e.proven, true);
    assert.equal(e.transactionId, identified.transactionId);
    assert.deepEqual([e.amount, e.mode], ['JPY:5', 'ecash']);
    assert.deepEqual(e.parties.shop.id, 'shop-1');
    assert.deepEqual(e.parties.paymentServer.id, 'pay-1');
    assert.deepEqual(e.parties.purchaser.kind === 'certified' && [e.parties.purchaser.id, e.parties.purchaser.name], ['alice', 'Alice']);
    assert.equal(e.statements.length, 5);
    assert.match(e.statements[1]!, /^shop "Tokyo On-line Mail Order Dealer" \(shop-1\) invoiced purchaser "Alice" \(alice\) for JPY:5 \(ecash\) at \S+Z/);
    assert.match(e.statements[3]!, new RegExp(`^payment server "Quittance Pay" \\(pay-1\\) received JPY:5 \\(ecash\\) for transaction ${identified.transactionId} at `));
    assert.match(e.statements[4]!, /^shop "Tokyo On-line Mail Order Dealer" \(shop-1\) confirmed transaction \S+ as paid at /);
    // The links are the hashes: the receipt names the invoice's hash, the invoice the order's.
    assert.equal(payloadOf(identified.documents.receipt).invoiceHash, e.hashes.invoice);
    assert.equal(payloadOf(identified.documents.invoice).orderHash, e.hashes.order);
    assert.equal(payloadOf(identified.documents.completion!).receiptHash, e.hashes.receipt);
    assert.equal(e.revocationChecked, false);
    assert.equal(identified.documents.invoice.signatures.length, 2, 'the countersigned invoice is exported');
  });

  test("with the CA's CRL (given, or carried in the bundle) every certificate is checked for revocation", async () => {
    const crl = await pki.crl(pki.root);
    assert.equal(value(await verifyBundle(identified, { trustAnchors: anchors, crls: [crl] })).revocationChecked, true);
    assert.equal(value(await verifyBundle({ ...copy(identified), crls: [encodeBase64(crl)] }, { trustAnchors: anchors })).revocationChecked, true);
  });

  test('an anonymous purchase is proven for the per-order key, never a certified name', async () => {
    const e = value(await verifyBundle(anonymous, { trustAnchors: anchors }));
    assert.deepEqual(e.parties.purchaser, { kind: 'anonymous', id: anonymousPurchaser });
    assert.match(e.statements[1]!, new RegExp(`invoiced purchaser anonymous key ${anonymousPurchaser} for JPY:5`));
  });

  test("chains are validated as of each document's time: certificates that expired since still prove the purchase", async () => {
    const later = new Date('2030-01-01T00:00:00Z');
    assert.ok(later > SHOP.cert.notAfter && later > PAY.cert.notAfter);
    const e = value(await verifyBundle(identified, { trustAnchors: anchors, now: later }));
    assert.equal(e.times.receipt, payloadOf(identified.documents.receipt).time);
  });

  test('a document dated after the verification time is refused (PROTO_EVIDENCE_TIME_INVALID)', async () => {
    const f = await failure(identified, { now: new Date('2025-08-01T00:00:00Z') });
    assert.equal(f.code, 'PROTO_EVIDENCE_TIME_INVALID');
  });

  test('without the optional hello and completion the purchase is still proven, without the confirmation', async () => {
    const b = copy(identified);
    delete b.documents.hello;
    delete b.documents.completion;
    const e = value(await verifyBundle(b, { trustAnchors: anchors }));
    assert.equal(e.statements.length, 4);
    assert.equal(e.hashes.completion, undefined);
  });
});

describe('verifyBundle refuses a bundle that lies', () => {
  const changes: Record<Name, (p: Record<string, unknown>) => void> = {
    hello: (p) => ((p.merchant as { name: string }).name = 'Evil Shop'),
    order: (p) => (p.total = 'JPY:500'),
    invoice: (p) => (p.amount = 'JPY:1'),
    receptionRequest: (p) => (p.paymentServerId = 'pay-2'),
    receptionResponse: (p) => (p.transactionId = 'T-OTHER'),
    receipt: (p) => (p.amountReceived = 'JPY:500'),
    completion: (p) => (p.transactionId = 'T-OTHER'),
  };
  for (const [name, change] of Object.entries(changes) as [Name, (p: Record<string, unknown>) => void][]) {
    test(`${name} altered after signing: PROTO_JWS_SIGNATURE_INVALID in ${name}`, async () => {
      const b = copy(identified);
      b.documents[name] = altered(b.documents[name]!, change);
      const f = await failure(b);
      assert.equal(f.code, 'PROTO_JWS_SIGNATURE_INVALID');
      assert.equal((f.details as { document: string }).document, name);
    });
  }

  test("the receipt of another transaction: PROTO_EVIDENCE_MISMATCH (receipt.transactionId)", async () => {
    const b = copy(identified);
    b.documents.receipt = other.documents.receipt;
    const f = await failure(b);
    assert.equal(f.code, 'PROTO_EVIDENCE_MISMATCH');
    assert.deepEqual(f.details, { document: 'receipt', field: 'transactionId' });
  });

  test('the invoice of another order: PROTO_EVIDENCE_MISMATCH (invoice.orderHash)', async () => {
    const b = copy(identified);
    b.documents.invoice = other.documents.invoice;
    b.transactionId = other.transactionId;
    const f = await failure(b);
    assert.equal(f.code, 'PROTO_EVIDENCE_MISMATCH');
    assert.deepEqual(f.details, { document: 'invoice', field: 'orderHash' });
  });

  test("another transaction's invoice under this bundle's transaction id: PROTO_EVIDENCE_MISMATCH (bundle.transactionId)", async () => {
    const b = copy(identified);
    b.documents.invoice = other.documents.invoice;
    const f = await failure(b);
    assert.deepEqual([f.code, f.details], ['PROTO_EVIDENCE_MISMATCH', { document: 'bundle', field: 'transactionId' }]);
  });

  test('the completion of another transaction: PROTO_EVIDENCE_MISMATCH (completion.transactionId)', async () => {
    const b = copy(identified);
    b.documents.completion = other.documents.completion!;
    const f = await failure(b);
    assert.deepEqual([f.code, f.details], ['PROTO_EVIDENCE_MISMATCH', { document: 'completion', field: 'transactionId' }]);
  });

  test('a receipt signed by another certified payment server: PROTO_EVIDENCE_SIGNER_MISMATCH', async () => {
    const b = copy(identified);
    b.documents.receipt = mutable(await signDocument({ payload: payloadOf(b.documents.receipt), typ: RECEIPT_TYP, privateKey: PAY_OTHER.keys.privateKey, alg: 'EdDSA', x5c: PAY_OTHER.chain }));
    const f = await failure(b);
    assert.equal(f.code, 'PROTO_EVIDENCE_SIGNER_MISMATCH');
    assert.equal((f.details as { document: string }).document, 'receipt');
  });

  test('a receipt signed by the shop (no payment role): PROTO_CERT_ROLE_MISMATCH', async () => {
    const b = copy(identified);
    b.documents.receipt = mutable(await signDocument({ payload: payloadOf(b.documents.receipt), typ: RECEIPT_TYP, privateKey: SHOP.keys.privateKey, alg: 'EdDSA', x5c: SHOP.chain }));
    const f = await failure(b);
    assert.deepEqual([f.code, (f.details as { document: string }).document], ['PROTO_CERT_ROLE_MISMATCH', 'receipt']);
  });

  test("the invoice accepted by someone other than the order's signer: PROTO_EVIDENCE_SIGNER_MISMATCH", async () => {
    const b = copy(identified);
    const merchantOnly = { payload: b.documents.invoice.payload, signatures: [b.documents.invoice.signatures[0]!] };
    b.documents.invoice = mutable(await countersign(merchantOnly, { typ: INVOICE_TYP, privateKey: MALLORY.keys.privateKey, alg: 'EdDSA', x5c: MALLORY.chain }));
    const f = await failure(b);
    assert.deepEqual([f.code, (f.details as { document: string }).document], ['PROTO_EVIDENCE_SIGNER_MISMATCH', 'invoice']);
  });

  test('an invoice without the purchaser countersignature: PROTO_JWS_SIGNER_COUNT', async () => {
    const b = copy(identified);
    b.documents.invoice = { payload: b.documents.invoice.payload, signatures: [b.documents.invoice.signatures[0]!] };
    assert.equal((await failure(b)).code, 'PROTO_JWS_SIGNER_COUNT');
  });

  test('another CA given: PROTO_CERT_UNTRUSTED_ROOT; another CA of the same name: PROTO_CERT_SIGNATURE_INVALID', async () => {
    const stranger = await makeRoot({ commonName: 'Some Other Root' });
    assert.equal((await failure(identified, { trustAnchors: [stranger.der] })).code, 'PROTO_CERT_UNTRUSTED_ROOT');
    const impostor = await buildPki();
    assert.equal((await failure(identified, { trustAnchors: [impostor.root.der] })).code, 'PROTO_CERT_SIGNATURE_INVALID');
  });

  test("the payment server's certificate on the CA's CRL: PROTO_CERT_REVOKED, also when the bundle carries the CRL", async () => {
    const revoking = await pki.crl(pki.root, { revoked: [PAY.der] });
    const f = await failure(identified, { crls: [revoking] });
    assert.deepEqual([f.code, (f.details as { document: string }).document], ['PROTO_CERT_REVOKED', 'receptionResponse']);
    assert.equal((await failure({ ...copy(identified), crls: [encodeBase64(revoking)] })).code, 'PROTO_CERT_REVOKED');
  });

  test('a forged CRL in the bundle: PROTO_CERT_CRL_INVALID', async () => {
    const forged = await pki.crl(pki.root, { signWith: (await generateKeyPair()).privateKey });
    assert.equal((await failure({ ...copy(identified), crls: [encodeBase64(forged)] })).code, 'PROTO_CERT_CRL_INVALID');
  });

  for (const name of ['order', 'invoice', 'receptionRequest', 'receptionResponse', 'receipt'] as const) {
    test(`no ${name}: PROTO_EVIDENCE_DOCUMENT_MISSING`, async () => {
      const b = copy(identified);
      delete (b.documents as Partial<Docs>)[name];
      const f = await failure(b);
      assert.deepEqual([f.code, f.details], ['PROTO_EVIDENCE_DOCUMENT_MISSING', { document: name }]);
    });
  }

  test('not a bundle (another format, an unknown member, not an object): PROTO_EVIDENCE_MALFORMED', async () => {
    assert.equal((await failure({ ...copy(identified), format: 'quittance.evidence.v2' })).code, 'PROTO_EVIDENCE_MALFORMED');
    assert.equal((await failure({ ...copy(identified), note: 'trust me' })).code, 'PROTO_EVIDENCE_MALFORMED');
    assert.equal((await failure([identified])).code, 'PROTO_EVIDENCE_MALFORMED');
    assert.equal((await failure(null)).code, 'PROTO_EVIDENCE_MALFORMED');
  });

  test('a document of one kind in the place of another: PROTO_JWS_TYP_MISMATCH', async () => {
    const b = copy(identified);
    b.documents.receptionResponse = b.documents.receipt;
    assert.equal((await failure(b)).code, 'PROTO_JWS_TYP_MISMATCH');
  });
});
