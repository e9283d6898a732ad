// `quittance wallet export TX --out FILE` and `quittance verify FILE --ca CA.pem`
// through the real command line, on a REAL purchase (test/wallet/purchase-world.ts):
// exit 0 and the proven statements for the exported bundle; exit 1 with the
// reason code for a tampered one, the wrong CA, a revoked signer; the export
// refuses to overwrite and refuses an unpaid purchase.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import { RECEIPT_TYP } from '../../src/protocol/documents/index.ts';
import type { EvidenceBundle } from '../../src/protocol/evidence.ts';
import { signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { canonicalizeToBytes } from '../../src/protocol/rfc8785.ts';
import { certificateToPem, crlToPem } from '../../src/protocol/x509/index.ts';
import { buy } from '../../src/wallet/buy.ts';
import { makeRoot } from '../fixtures/pki.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { fund, ITEMS, PAY, PAY_OTHER, pki, purchase, ROOT_PEM, startWorld, type World } from '../wallet/purchase-world.ts';
import { cli } from './helpers.ts';

let world: World;
let tx: string;
let bundleFile: string;
let caFile: string;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  world = await startWorld(testDatabases()[0]!, { after: (fn) => cleanups.push(fn) });
  await fund(world, 16n);
  tx = (await purchase(world)).transactionId;
  caFile = join(world.tmp, 'ca.pem');
  writeFileSync(caFile, ROOT_PEM);
  bundleFile = join(world.tmp, 'bundle.json');
  const r = await cli(['wallet', 'export', tx, '--data', world.walletDir, '--out', bundleFile]);
  assert.equal(r.code, 0, r.err);
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** A JWS as the bundle type holds it (mutable arrays). */
function mutable(j: GeneralJws): EvidenceBundle['documents']['receipt'] {
  return { payload: j.payload, signatures: [...j.signatures] };
}

const read = (): EvidenceBundle => JSON.parse(readFileSync(bundleFile, 'utf8')) as EvidenceBundle;
function writeBundle(name: string, b: unknown): string {
  const f = join(world.tmp, name);
  writeFileSync(f, JSON.stringify(b));
  return f;
}

describe('quittance wallet export', () => {
  test('writes the bundle of a paid purchase; refuses to overwrite it without --force (CLI_OUTPUT_EXISTS)', async () => {
    const file = join(world.tmp, 'export.json');
    const r = await cli(['wallet', 'export', tx, '--data', world.walletDir, '--out', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`wrote the evidence of ${tx} to `));
    const b = JSON.parse(readFileSync(file, 'utf8')) as EvidenceBundle;
    assert.equal(b.format, 'quittance.evidence.v1');
    assert.equal(b.transactionId, tx);
    assert.deepEqual(Object.keys(b.documents).sort(), ['completion', 'hello', 'invoice', 'order', 'receipt', 'receptionRequest', 'receptionResponse']);

    const written = readFileSync(file, 'utf8');
    writeFileSync(file, '{}');
    const again = await cli(['wallet', 'export', tx, '--data', world.walletDir, '--out', file, '--json']);
    assert.equal(again.code, 1);
    assert.equal((JSON.parse(again.out) as { code: string }).code, 'CLI_OUTPUT_EXISTS');
    assert.equal(readFileSync(file, 'utf8'), '{}', 'nothing overwritten');
    const forced = await cli(['wallet', 'export', tx, '--data', world.walletDir, '--out', file, '--force']);
    assert.equal(forced.code, 0, forced.err);
    assert.equal(readFileSync(file, 'utf8'), written);
  });

  test('an unknown transaction: WALLET_PURCHASE_NOT_FOUND; an unpaid purchase: WALLET_PURCHASE_NOT_PAID, no file', async () => {
    const out = join(world.tmp, 'none.json');
    const unknown = await cli(['wallet', 'export', 'T-NOPE', '--data', world.walletDir, '--out', out]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^WALLET_PURCHASE_NOT_FOUND: /);
    // The payment (170) never arrives: the purchase stays PAYING, with no receipt.
    world.hooks.set('POST /v1/payments/ecash', async () => {
      throw new TypeError('fetch failed', { cause: new Error('connection refused') });
    });
    const r = await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'ecash' }, world.deps);
    world.hooks.clear();
    assert.equal(!r.ok && r.code, 'WALLET_PAYMENT_UNREACHABLE');
    const row = await world.wallet.db.selectFrom('wallet_purchases').select(['transaction_id', 'state']).where('state', '=', 'PAYING').executeTakeFirstOrThrow();
    const unpaid = await cli(['wallet', 'export', row.transaction_id, '--data', world.walletDir, '--out', out]);
    assert.equal(unpaid.code, 1);
    assert.match(unpaid.err, /^WALLET_PURCHASE_NOT_PAID: /);
    assert.throws(() => readFileSync(out), /ENOENT/);
  });
});

describe('quittance verify', () => {
  test('the exported bundle is proven: exit 0 with the statements (certificates expired since: validated as of the documents)', async () => {
    assert.ok(new Date() > PAY.cert.notAfter, 'the test certificates have expired by now: the point of validating as of the document time');
    const r = await cli(['verify', bundleFile, '--ca', caFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^PROVEN: transaction ${tx}, JPY:5 \\(ecash\\)$`, 'm'));
    assert.match(r.out, /^ {2}- shop "Tokyo On-line Mail Order Dealer" \(shop-1\) invoiced purchaser "Alice" \(alice\) for JPY:5/m);
    assert.match(r.out, new RegExp(`^  - payment server "Quittance Pay" \\(pay-1\\) received JPY:5 \\(ecash\\) for transaction ${tx} at `, 'm'));
    assert.match(r.out, /Revocation: NOT checked/);
    const j = await cli(['verify', bundleFile, '--ca', caFile, '--json']);
    assert.equal(j.code, 0);
    const e = JSON.parse(j.out) as { proven: boolean; transactionId: string; parties: { paymentServer: { id: string } } };
    assert.deepEqual([e.proven, e.transactionId, e.parties.paymentServer.id], [true, tx, 'pay-1']);
  });

  test("with the CA's CRL (PEM or DER): proven and revocation checked; a CRL revoking the payment server: exit 1 PROTO_CERT_REVOKED", async () => {
    const pem = join(world.tmp, 'crl.pem');
    writeFileSync(pem, crlToPem(await pki.crl(pki.root)));
    const ok = await cli(['verify', bundleFile, '--ca', caFile, '--crl', pem]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /Revocation: every certificate checked/);
    const der = join(world.tmp, 'revoking.crl');
    writeFileSync(der, await pki.crl(pki.root, { revoked: [PAY.der] }));
    const r = await cli(['verify', bundleFile, '--ca', caFile, '--crl', der]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^NOT PROVEN: PROTO_CERT_REVOKED: receptionResponse: /);
  });

  test('a receipt with another amount (signature no longer verifies): exit 1 PROTO_JWS_SIGNATURE_INVALID', async () => {
    const b = read();
    const p = JSON.parse(new TextDecoder().decode(decodeBase64url(b.documents.receipt.payload))) as Record<string, unknown>;
    p.amountReceived = 'JPY:500';
    b.documents.receipt = { ...b.documents.receipt, payload: encodeBase64url(value(canonicalizeToBytes(p))) };
    const r = await cli(['verify', writeBundle('altered.json', b), '--ca', caFile, '--json']);
    assert.equal(r.code, 1);
    const f = JSON.parse(r.out) as { proven: boolean; code: string; details: { document: string } };
    assert.deepEqual([f.proven, f.code, f.details.document], [false, 'PROTO_JWS_SIGNATURE_INVALID', 'receipt']);
  });

  test('a receipt signed by another payment server: exit 1 PROTO_EVIDENCE_SIGNER_MISMATCH', async () => {
    const b = read();
    const p = JSON.parse(new TextDecoder().decode(decodeBase64url(b.documents.receipt.payload))) as Record<string, unknown>;
    b.documents.receipt = mutable(await signDocument({ payload: p, typ: RECEIPT_TYP, privateKey: PAY_OTHER.keys.privateKey, alg: 'EdDSA', x5c: PAY_OTHER.chain }));
    const r = await cli(['verify', writeBundle('other-pay.json', b), '--ca', caFile]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^NOT PROVEN: PROTO_EVIDENCE_SIGNER_MISMATCH: receipt: /);
    assert.equal(r.out, '');
  });

  test('a missing receipt: exit 1 PROTO_EVIDENCE_DOCUMENT_MISSING; not JSON: exit 1 PROTO_EVIDENCE_MALFORMED', async () => {
    const b = read() as { documents: Partial<EvidenceBundle['documents']> };
    delete b.documents.receipt;
    const r = await cli(['verify', writeBundle('no-receipt.json', b), '--ca', caFile]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^NOT PROVEN: PROTO_EVIDENCE_DOCUMENT_MISSING: /);
    const junk = join(world.tmp, 'junk.json');
    writeFileSync(junk, 'not json');
    const m = await cli(['verify', junk, '--ca', caFile]);
    assert.equal(m.code, 1);
    assert.match(m.err, /^NOT PROVEN: PROTO_EVIDENCE_MALFORMED: /);
  });

  test('the wrong CA: exit 1 PROTO_CERT_UNTRUSTED_ROOT', async () => {
    const other = join(world.tmp, 'other-ca.pem');
    writeFileSync(other, certificateToPem((await makeRoot({ commonName: 'Some Other Root' })).der));
    const r = await cli(['verify', bundleFile, '--ca', other]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^NOT PROVEN: PROTO_CERT_UNTRUSTED_ROOT: /);
  });

  test('usage: no --ca or no FILE is exit 2', async () => {
    assert.equal((await cli(['verify', bundleFile])).code, 2);
    assert.equal((await cli(['verify', '--ca', caFile])).code, 2);
  });
});
