// Refunds in the evidence bundle (issue 5, docs/EVIDENCE.md "Refunds"): REAL
// purchases (merchant and payment server on loopback, exported from the
// wallet's store), to which the refund documents of DESIGN §3 are added,
// signed here with the test parties' keys — the shop's permit, the purchaser's
// request, countersignature, claim and receipt (certified, or the per-order key
// derived from the wallet seed), the payment server's `remitted` and
// `completed`. A proven bundle says who permitted and who paid what; then
// every way a refund can lie fails with its code and the document it is in.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import {
  REMITTANCE_REQUEST_TYP,
  REPAYMENT_PERMIT_TYP,
  REPAYMENT_RECEIPT_TYP,
  REPAYMENT_REQUEST_TYP,
  REPAYMENT_STATE_TYP,
  type Invoice,
  type RemittanceRequest,
  type RepaymentPermit,
  type RepaymentReceipt,
  type RepaymentRequest,
  type RepaymentState,
} from '../../src/protocol/documents/index.ts';
import { verifyBundle, type EvidenceBundle, type EvidenceRefund } from '../../src/protocol/evidence.ts';
import { countersign, documentHash, signDocument, type GeneralJws, type PublicJwk } from '../../src/protocol/jws.ts';
import { canonicalizeToBytes } from '../../src/protocol/rfc8785.ts';
import { exportEvidence } from '../../src/wallet/export.ts';
import { deriveOrderKey } from '../../src/wallet/order-key.ts';
import { PKI_NOW, type LeafHandle } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { ALICE, fund, MALLORY, PAY, PAY_OTHER, pki, purchase, SHOP, startWorld, type World } from '../wallet/purchase-world.ts';

type Jws = EvidenceRefund['permit'];
type Key = { privateKey: CryptoKey; alg: 'EdDSA'; x5c?: Uint8Array[]; jwk?: PublicJwk };

const anchors = [pki.root.der];
const certified = (l: LeafHandle): Key => ({ privateKey: l.keys.privateKey, alg: 'EdDSA', x5c: [...l.chain] });
/** Another shop of the same CA, for a permit of someone else's transaction. */
const SHOP_OTHER = await pki.leaf({ issuer: pki.root, role: 'merchant', partyId: 'shop-2', displayName: 'Other Shop' });
/** Alice again, with a second certificate and key: the same party, not the key that signed the order. */
const ALICE_AGAIN = await pki.leaf({ issuer: pki.root, role: 'client', partyId: 'alice', displayName: 'Alice' });

const mutable = (j: GeneralJws): Jws => ({ payload: j.payload, signatures: j.signatures.map((s) => ({ ...s })) });
const sign = async <T extends { typ: string }>(payload: T, key: Key): Promise<Jws> => mutable(await signDocument({ payload, typ: payload.typ, ...key }));
const hashOf = (j: Jws) => documentHash(decodeBase64url(j.payload)!);
const minutes = (n: number) => new Date(PKI_NOW.getTime() + 86_400_000 + n * 60_000).toISOString();

function payloadOf<T>(j: { payload: string }): T {
  return JSON.parse(new TextDecoder().decode(decodeBase64url(j.payload))) as T;
}

/** The same signatures over a changed payload (still canonical JSON): they no longer verify. */
function altered(j: Jws, change: (p: Record<string, unknown>) => void): Jws {
  const p = payloadOf<Record<string, unknown>>(j);
  change(p);
  return { payload: encodeBase64url(value(canonicalizeToBytes(p))), signatures: j.signatures.map((s) => ({ ...s })) };
}

type Spec = {
  amount: string;
  purchaser: Key;
  permitId?: string;
  /** Overrides: who signs what (default: the right party). */
  requestSigner?: Key;
  shop?: Key;
  countersigner?: Key;
  claimSigner?: Key;
  pay?: Key;
  /** Default true: the purchaser's receipt and the payment server's `completed`. */
  completed?: boolean;
};

type Made = { entry: EvidenceRefund; permit: RepaymentPermit; permitHash: string };

/** The documents of one refund of `bundle`'s purchase, as the parties would sign them. */
async function makeRefund(bundle: EvidenceBundle, s: Spec): Promise<Made> {
  const i = payloadOf<Invoice>(bundle.documents.invoice);
  const permitId = s.permitId ?? `pm-${crypto.randomUUID()}`;
  const requestDoc: RepaymentRequest = { typ: REPAYMENT_REQUEST_TYP, requestId: `rq-${permitId}`, transactionId: i.transactionId, shopId: i.shop.id, amount: s.amount, reason: 'returned', time: minutes(0) };
  const request = await sign(requestDoc, s.requestSigner ?? s.purchaser);
  const permit: RepaymentPermit = {
    typ: REPAYMENT_PERMIT_TYP,
    permitId,
    transactionId: i.transactionId,
    requestHash: await hashOf(request),
    recipientId: i.purchaserId,
    amount: s.amount,
    mode: i.paymentMode,
    shop: i.shop,
    repayer: { id: i.paymentServer.id, name: i.paymentServer.name, address: i.paymentAddress },
    permissionTime: minutes(1),
    dueTime: minutes(7 * 24 * 60),
  };
  const merchantSigned = await sign(permit, s.shop ?? certified(SHOP));
  const permitHash = await hashOf(merchantSigned);
  const countersigned = mutable(await countersign(merchantSigned, { typ: REPAYMENT_PERMIT_TYP, ...(s.countersigner ?? s.purchaser) }));
  const claim: RemittanceRequest = {
    typ: REMITTANCE_REQUEST_TYP,
    permitId,
    permitHash,
    transactionId: i.transactionId,
    recipientId: i.purchaserId,
    paymentServerId: i.paymentServer.id,
    amount: s.amount,
    mode: 'ecash',
    envelopesHash: encodeBase64url(new Uint8Array(32).fill(7)),
    time: minutes(2),
  };
  const state = (st: 'remitted' | 'completed', time: string, receipt?: Jws): RepaymentState => ({
    typ: REPAYMENT_STATE_TYP,
    transactionId: i.transactionId,
    permitId,
    shopId: i.shop.id,
    amount: s.amount,
    state: st,
    ...(receipt ? { repaymentReceipt: receipt } : {}),
    time,
  });
  const pay = s.pay ?? certified(PAY);
  const entry: EvidenceRefund = {
    request,
    permit: countersigned,
    remittanceRequest: await sign(claim, s.claimSigner ?? s.purchaser),
    remitted: await sign(state('remitted', minutes(3)), pay),
  };
  if (s.completed ?? true) {
    const receiptDoc: RepaymentReceipt = { typ: REPAYMENT_RECEIPT_TYP, permitId, permitHash, transactionId: i.transactionId, recipientId: i.purchaserId, amount: s.amount, time: minutes(4) };
    entry.receipt = await sign(receiptDoc, s.purchaser);
    entry.completed = await sign(state('completed', minutes(5), entry.receipt), pay);
  }
  return { entry, permit, permitHash };
}

const withRefunds = (b: EvidenceBundle, refunds: EvidenceRefund[]): EvidenceBundle => ({ ...structuredClone(b), refunds: structuredClone(refunds) });

async function failure(bundle: unknown, opts: Partial<Parameters<typeof verifyBundle>[1]> = {}) {
  const r = await verifyBundle(bundle, { trustAnchors: anchors, ...opts });
  assert.equal(r.ok, false, 'the bundle must not be proven');
  return r as Extract<typeof r, { ok: false }>;
}

function expectFailure(f: { code: string; details?: unknown }, code: string, document: string, field?: string) {
  const d = f.details as { document?: string; field?: string };
  assert.deepEqual([f.code, d.document, ...(field ? [d.field] : [])], [code, document, ...(field ? [field] : [])], JSON.stringify(f));
}

const db = testDatabases()[0]!;
let world: World;
let identified: EvidenceBundle;
let anonymous: EvidenceBundle;
let orderKey: Key;
let thumbprint: string;
const alice = certified(ALICE);
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  world = await startWorld(db, { after: (fn) => cleanups.push(fn) });
  await fund(world, 16n);
  const a = await purchase(world);
  const b = await purchase(world, { anonymous: true });
  identified = value(await exportEvidence(world.wallet, a.transactionId));
  anonymous = value(await exportEvidence(world.wallet, b.transactionId));
  const row = await world.wallet.db.selectFrom('wallet_purchases').select('order_key_index').where('transaction_id', '=', b.transactionId).executeTakeFirstOrThrow();
  const k = await deriveOrderKey(world.seed, row.order_key_index!);
  orderKey = { privateKey: k.privateKey, alg: 'EdDSA', jwk: k.jwk };
  thumbprint = k.thumbprint;
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

describe('verifyBundle: refunds that were paid', () => {
  test('a bundle without refunds is proven as before, with no refunds in the result', async () => {
    assert.equal(identified.refunds, undefined, 'an unrefunded purchase exports no refunds member');
    const e = value(await verifyBundle(identified, { trustAnchors: anchors }));
    assert.equal(e.refunds, undefined);
    assert.equal(e.refunded, undefined);
    assert.ok(e.statements.every((s) => !/refund/.test(s)));
  });

  test('identified: a completed refund of JPY:2 and a remitted one of JPY:3 are proven, with who permitted, who paid and the receipt', async () => {
    const one = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    const two = await makeRefund(identified, { amount: 'JPY:3', purchaser: alice, completed: false });
    const e = value(await verifyBundle(withRefunds(identified, [one.entry, two.entry]), { trustAnchors: anchors }));
    const tx = identified.transactionId;
    assert.equal(e.refunded, 'JPY:5');
    assert.deepEqual(
      e.refunds!.map((r) => [r.permitId, r.amount, r.state, r.acknowledged, r.into.kind]),
      [
        [one.permit.permitId, 'JPY:2', 'completed', true, 'coins'],
        [two.permit.permitId, 'JPY:3', 'remitted', false, 'coins'],
      ],
    );
    assert.equal(e.refunds![0]!.hashes.permit, one.permitHash);
    assert.deepEqual(Object.keys(e.refunds![1]!.hashes).sort(), ['permit', 'remittanceRequest', 'remitted', 'request']);
    assert.equal(e.refunds![0]!.times.permit, one.permit.permissionTime);
    const said = e.statements.slice(-5);
    assert.deepEqual(said, [
      `shop "Tokyo On-line Mail Order Dealer" (shop-1) permitted refund JPY:2 of transaction ${tx} to purchaser "Alice" (alice) at ${one.permit.permissionTime} (permit ${one.permit.permitId}, answering the purchaser's request of ${minutes(0)})`,
      `payment server "Quittance Pay" (pay-1) paid JPY:2 back to purchaser "Alice" (alice) at ${minutes(3)} (permit ${one.permit.permitId}, as fresh e-money)`,
      `purchaser "Alice" (alice) acknowledged receiving refund JPY:2 at ${minutes(4)} (permit ${one.permit.permitId})`,
      `shop "Tokyo On-line Mail Order Dealer" (shop-1) permitted refund JPY:3 of transaction ${tx} to purchaser "Alice" (alice) at ${two.permit.permissionTime} (permit ${two.permit.permitId}, answering the purchaser's request of ${minutes(0)})`,
      `payment server "Quittance Pay" (pay-1) paid JPY:3 back to purchaser "Alice" (alice) at ${minutes(3)} (permit ${two.permit.permitId}, as fresh e-money)`,
    ]);
  });

  test('anonymous: the refund signed with the per-order key is proven for that key', async () => {
    const r = await makeRefund(anonymous, { amount: 'JPY:5', purchaser: orderKey });
    const e = value(await verifyBundle(withRefunds(anonymous, [r.entry]), { trustAnchors: anchors }));
    assert.equal(e.refunded, 'JPY:5');
    assert.ok(e.statements.includes(`payment server "Quittance Pay" (pay-1) paid JPY:5 back to purchaser anonymous key ${thumbprint} at ${minutes(3)} (permit ${r.permit.permitId}, as fresh e-money)`), e.statements.join('\n'));
  });

  test('the receipt carried inside `completed` counts when the bundle has no separate receipt', async () => {
    const r = await makeRefund(identified, { amount: 'JPY:1', purchaser: alice });
    delete r.entry.receipt;
    const e = value(await verifyBundle(withRefunds(identified, [r.entry]), { trustAnchors: anchors }));
    assert.deepEqual([e.refunds![0]!.state, e.refunds![0]!.acknowledged], ['completed', true]);
    assert.match(e.statements.at(-1)!, /^purchaser "Alice" \(alice\) acknowledged receiving refund JPY:1 at /);
  });
});

describe('verifyBundle: refunds that lie', () => {
  test('a permit signed by another shop: PROTO_EVIDENCE_SIGNER_MISMATCH in refunds[0].permit', async () => {
    const r = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice, shop: certified(SHOP_OTHER) });
    expectFailure(await failure(withRefunds(identified, [r.entry])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].permit');
  });

  test('a permit signed by a payment server (wrong role): PROTO_CERT_ROLE_MISMATCH', async () => {
    const r = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice, shop: certified(PAY) });
    expectFailure(await failure(withRefunds(identified, [r.entry])), 'PROTO_CERT_ROLE_MISMATCH', 'refunds[0].permit');
  });

  test('a permit countersigned by another shopper, by another certificate of the purchaser, or by another anonymous key: PROTO_EVIDENCE_SIGNER_MISMATCH', async () => {
    for (const countersigner of [certified(MALLORY), certified(ALICE_AGAIN)]) {
      const r = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice, countersigner });
      expectFailure(await failure(withRefunds(identified, [r.entry])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].permit');
    }
    const other = await deriveOrderKey(world.seed, 999);
    const r = await makeRefund(anonymous, { amount: 'JPY:2', purchaser: orderKey, countersigner: { privateKey: other.privateKey, alg: 'EdDSA', jwk: other.jwk } });
    const f = await failure(withRefunds(anonymous, [r.entry]));
    expectFailure(f, 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].permit');
    assert.match(f.message, new RegExp(`countersigned by anonymous key ${other.thumbprint}`));
  });

  test('a repayment request (or a claim) signed by another key than the order\'s: PROTO_EVIDENCE_SIGNER_MISMATCH', async () => {
    const byMallory = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice, requestSigner: certified(MALLORY) });
    expectFailure(await failure(withRefunds(identified, [byMallory.entry])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].request');
    const byCertified = await makeRefund(anonymous, { amount: 'JPY:2', purchaser: orderKey, requestSigner: alice });
    expectFailure(await failure(withRefunds(anonymous, [byCertified.entry])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].request');
    const claim = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice, claimSigner: certified(ALICE_AGAIN) });
    expectFailure(await failure(withRefunds(identified, [claim.entry])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].remittanceRequest');
  });

  test('remitted (or completed) signed by another payment server: PROTO_EVIDENCE_SIGNER_MISMATCH', async () => {
    const r = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice, pay: certified(PAY_OTHER) });
    expectFailure(await failure(withRefunds(identified, [r.entry])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].remitted');
    const good = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    const forged = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice, permitId: good.permit.permitId, pay: certified(PAY_OTHER) });
    const mixed = { ...good.entry, completed: forged.entry.completed };
    // The forged `completed` names a permit of the same id; its signer is the first thing wrong with it.
    expectFailure(await failure(withRefunds(identified, [mixed])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].completed');
  });

  test('refunds summing above the amount paid: PROTO_EVIDENCE_REFUND_EXCEEDS_PAYMENT (one too large, or two that add up)', async () => {
    const big = await makeRefund(identified, { amount: 'JPY:6', purchaser: alice });
    const f1 = await failure(withRefunds(identified, [big.entry]));
    expectFailure(f1, 'PROTO_EVIDENCE_REFUND_EXCEEDS_PAYMENT', 'refunds[0]', 'amount');
    const a = await makeRefund(identified, { amount: 'JPY:3', purchaser: alice });
    const b = await makeRefund(identified, { amount: 'JPY:3', purchaser: alice, completed: false });
    const f2 = await failure(withRefunds(identified, [a.entry, b.entry]));
    expectFailure(f2, 'PROTO_EVIDENCE_REFUND_EXCEEDS_PAYMENT', 'refunds[1]', 'amount');
    assert.deepEqual([(f2.details as { refunded: string }).refunded, (f2.details as { paid: string }).paid], ['JPY:6', 'JPY:5']);
    // Exactly the amount paid is fine.
    const c = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    assert.equal(value(await verifyBundle(withRefunds(identified, [a.entry, c.entry]), { trustAnchors: anchors })).refunded, 'JPY:5');
  });

  test('the same permit twice: PROTO_EVIDENCE_REFUND_DUPLICATE (a permit pays once)', async () => {
    const r = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    expectFailure(await failure(withRefunds(identified, [r.entry, r.entry])), 'PROTO_EVIDENCE_REFUND_DUPLICATE', 'refunds[1].permit', 'permitId');
  });

  test('a receipt for another permit: PROTO_EVIDENCE_MISMATCH in refunds[0].receipt', async () => {
    const a = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    const b = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    // b's receipt in a's refund, and a's `completed` left out so that nothing else disagrees first.
    const { completed: _, ...bare } = a.entry;
    expectFailure(await failure(withRefunds(identified, [{ ...bare, receipt: b.entry.receipt! }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].receipt', 'permitId');
    // The right permit id, but the hash of another permit.
    const i = payloadOf<RepaymentReceipt>(a.entry.receipt!);
    const wrongHash = await sign({ ...i, permitHash: b.permitHash }, alice);
    expectFailure(await failure(withRefunds(identified, [{ ...bare, receipt: wrongHash }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].receipt', 'permitHash');
    // A receipt signed by someone else.
    const byMallory = await sign(i, certified(MALLORY));
    expectFailure(await failure(withRefunds(identified, [{ ...bare, receipt: byMallory }])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].receipt');
  });

  test('`completed` carrying another receipt than the bundle\'s: PROTO_EVIDENCE_MISMATCH (repaymentReceipt)', async () => {
    const a = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    const again = await sign({ ...payloadOf<RepaymentReceipt>(a.entry.receipt!), time: minutes(9) }, alice);
    expectFailure(await failure(withRefunds(identified, [{ ...a.entry, receipt: again }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].completed', 'repaymentReceipt');
  });

  test('documents that do not name each other: PROTO_EVIDENCE_MISMATCH with the field', async () => {
    const a = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    const b = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    // a permit answering another request
    expectFailure(await failure(withRefunds(identified, [{ ...a.entry, request: b.entry.request }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].permit', 'requestHash');
    // a claim of another permit
    expectFailure(await failure(withRefunds(identified, [{ ...a.entry, remittanceRequest: b.entry.remittanceRequest }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].remittanceRequest', 'permitId');
    // the payment server's word on another permit
    expectFailure(await failure(withRefunds(identified, [{ ...a.entry, remitted: b.entry.remitted }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].remitted', 'permitId');
    // `completed` in the place of `remitted`
    expectFailure(await failure(withRefunds(identified, [{ ...a.entry, remitted: a.entry.completed! }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].remitted', 'state');
    // a refund of the identified purchase put in the anonymous purchase's bundle
    expectFailure(await failure(withRefunds(anonymous, [a.entry])), 'PROTO_EVIDENCE_SIGNER_MISMATCH', 'refunds[0].request');
    // a permit for another transaction, all signatures right
    const p = payloadOf<RepaymentPermit>(a.entry.permit);
    const otherTx = mutable(await countersign(await sign({ ...p, transactionId: 'T-other' }, certified(SHOP)), { typ: REPAYMENT_PERMIT_TYP, ...alice }));
    expectFailure(await failure(withRefunds(identified, [{ ...a.entry, permit: otherTx }])), 'PROTO_EVIDENCE_MISMATCH', 'refunds[0].permit', 'transactionId');
  });

  test('an altered document, a missing one, one from the future: the signature, DOCUMENT_MISSING, TIME_INVALID', async () => {
    const a = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    const tampered = altered(a.entry.remitted, (p) => (p.amount = 'JPY:5'));
    expectFailure(await failure(withRefunds(identified, [{ ...a.entry, remitted: tampered }])), 'PROTO_JWS_SIGNATURE_INVALID', 'refunds[0].remitted');
    const { remitted: _, ...noRemitted } = a.entry;
    const missing = { ...structuredClone(identified), refunds: [noRemitted] };
    expectFailure(await failure(missing), 'PROTO_EVIDENCE_DOCUMENT_MISSING', 'refunds[0].remitted');
    const early = new Date(PKI_NOW.getTime() + 3_600_000);
    expectFailure(await failure(withRefunds(identified, [a.entry]), { now: early }), 'PROTO_EVIDENCE_TIME_INVALID', 'refunds[0].request');
    assert.equal(value(await verifyBundle(withRefunds(identified, [a.entry]), { trustAnchors: anchors, now: new Date(Date.parse(minutes(5))) })).refunded, 'JPY:2');
  });

  test('an unknown member in a refund entry: PROTO_EVIDENCE_MALFORMED', async () => {
    const a = await makeRefund(identified, { amount: 'JPY:2', purchaser: alice });
    const f = await failure({ ...structuredClone(identified), refunds: [{ ...a.entry, note: 'x' }] });
    assert.equal(f.code, 'PROTO_EVIDENCE_MALFORMED');
  });
});
