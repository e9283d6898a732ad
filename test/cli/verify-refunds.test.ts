// Refunds, end to end through the command line (issue 5): REAL refunds against
// the merchant and payment server on loopback (test/wallet/purchase-world.ts),
// then `quittance wallet export` puts the paid ones (REMITTED or COMPLETED) in
// the bundle and `quittance verify` proves them offline: the shop permitted,
// the payment server paid back, the purchaser acknowledged. A refund that
// never reached the payment server is left out; a bundle that counts a permit
// twice is not proven.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Evidence, EvidenceBundle } from '../../src/protocol/evidence.ts';
import { buy } from '../../src/wallet/buy.ts';
import { registerPurse } from '../../src/wallet/purse.ts';
import { refund, type RefundDeps } from '../../src/wallet/refund.ts';
import { testDatabases } from '../helpers/db.ts';
import { value } from '../helpers/results.ts';
import { creditReserve } from '../payment/emoney-client.ts';
import { fund, ITEMS, purchase, ROOT_PEM, startWorld, type World } from '../wallet/purchase-world.ts';
import { cli } from './helpers.ts';

let world: World;
let caFile: string;
const cleanups: (() => Promise<unknown>)[] = [];

const jpy = (minor: bigint) => ({ currency: 'JPY', minor });
const refundDeps = (): RefundDeps => ({ now: world.deps.now, fetch: world.deps.fetch, seed: world.deps.seed, passphrase: world.deps.passphrase, confirm: async () => true });
const unreachable = async (): Promise<Response> => {
  throw new TypeError('fetch failed', { cause: new Error('connection refused') });
};

async function exported(tx: string, name: string): Promise<{ file: string; bundle: EvidenceBundle }> {
  const file = join(world.tmp, name);
  const r = await cli(['wallet', 'export', tx, '--data', world.walletDir, '--out', file]);
  assert.equal(r.code, 0, r.err);
  return { file, bundle: JSON.parse(readFileSync(file, 'utf8')) as EvidenceBundle };
}

before(async () => {
  world = await startWorld(testDatabases()[0]!, { after: (fn) => cleanups.push(fn) });
  await fund(world, 16n);
  caFile = join(world.tmp, 'ca.pem');
  writeFileSync(caFile, ROOT_PEM);
});
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

describe('wallet export and verify with refunds', () => {
  test('identified: a completed refund and a remitted one are exported and proven; a refund the payment server never saw is left out', async () => {
    const tx = (await purchase(world)).transactionId;
    const first = value(await refund(world.wallet, { transactionId: tx, amount: jpy(2n), reason: 'one article returned' }, refundDeps()));
    assert.equal(first.state, 'COMPLETED');
    // The receipt (1190) never arrives: the refund stays REMITTED — paid, and evidence of it.
    world.hooks.set('POST /v1/repayments/:permit/receipt', unreachable);
    const second = await refund(world.wallet, { transactionId: tx, amount: jpy(1n), reason: 'another one' }, refundDeps());
    world.hooks.clear();
    assert.equal(!second.ok && second.code, 'WALLET_PAYMENT_UNREACHABLE');
    // The claim (1150) never arrives: CLAIMING, nothing paid, nothing to prove.
    world.hooks.set('POST /v1/repayments', unreachable);
    const third = await refund(world.wallet, { transactionId: tx, amount: jpy(1n), reason: 'and another' }, refundDeps());
    world.hooks.clear();
    assert.equal(!third.ok && third.code, 'WALLET_PAYMENT_UNREACHABLE');
    const { purchase_id } = await world.wallet.db.selectFrom('wallet_purchases').select('purchase_id').where('transaction_id', '=', tx).executeTakeFirstOrThrow();
    const rows = await world.wallet.db.selectFrom('wallet_refunds').select(['state', 'permit_id']).where('purchase_id', '=', purchase_id).execute();
    assert.deepEqual(rows.map((s) => s.state).sort(), ['CLAIMING', 'COMPLETED', 'REMITTED']);
    const permitOf = (state: string) => rows.find((x) => x.state === state)!.permit_id!;
    const [p1, p2] = [permitOf('COMPLETED'), permitOf('REMITTED')];

    const { file, bundle } = await exported(tx, 'refunded.json');
    assert.equal(bundle.format, 'quittance.evidence.v1');
    // The bundle's order is the wallet's (created_at, then request id); here both were asked at the same test instant.
    const byPermit = new Map(bundle.refunds!.map((x) => [(JSON.parse(Buffer.from(x.permit.payload, 'base64url').toString('utf8')) as { permitId: string }).permitId, x]));
    assert.deepEqual([...byPermit.keys()].sort(), [p1, p2].sort(), 'the CLAIMING refund is left out');
    assert.deepEqual(Object.keys(byPermit.get(p1)!).sort(), ['completed', 'permit', 'receipt', 'remittanceRequest', 'remitted', 'request']);
    // The receipt is stored before it is sent, so the REMITTED refund has it too.
    assert.deepEqual(Object.keys(byPermit.get(p2)!).sort(), ['permit', 'receipt', 'remittanceRequest', 'remitted', 'request']);
    assert.equal(byPermit.get(p1)!.permit.signatures.length, 2, 'the countersigned permit, as presented to the payment server');
    const k2 = bundle.refunds!.indexOf(byPermit.get(p2)!);

    const r = await cli(['verify', file, '--ca', caFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^PROVEN: transaction ${tx}, JPY:5 \\(ecash\\)$`, 'm'));
    assert.match(r.out, new RegExp(`^  - shop "Tokyo On-line Mail Order Dealer" \\(shop-1\\) permitted refund JPY:2 of transaction ${tx} to purchaser "Alice" \\(alice\\) at \\S+ \\(permit ${p1}, `, 'm'));
    assert.match(r.out, new RegExp(`^  - payment server "Quittance Pay" \\(pay-1\\) paid JPY:2 back to purchaser "Alice" \\(alice\\) at \\S+ \\(permit ${p1}, as fresh e-money\\)$`, 'm'));
    assert.match(r.out, new RegExp(`^  - purchaser "Alice" \\(alice\\) acknowledged receiving refund JPY:2 at \\S+ \\(permit ${p1}\\)$`, 'm'));
    assert.match(r.out, new RegExp(`^  - payment server "Quittance Pay" \\(pay-1\\) paid JPY:1 back to purchaser "Alice" \\(alice\\) at \\S+ \\(permit ${p2}, as fresh e-money\\)$`, 'm'));
    assert.match(r.out, /^Refunded: JPY:3 of JPY:5, in 2 refunds \(/m);
    assert.match(r.out, new RegExp(`\\b${p1} JPY:2 completed\\b`));
    assert.match(r.out, new RegExp(`\\b${p2} JPY:1 remitted\\b`));
    assert.match(r.out, new RegExp(`^ {2}refunds\\[${k2}\\]\\.remittanceRequest [A-Za-z0-9_-]{43}$`, 'm'));

    const j = await cli(['verify', file, '--ca', caFile, '--json']);
    assert.equal(j.code, 0);
    const e = JSON.parse(j.out) as Evidence;
    assert.equal(e.refunded, 'JPY:3');
    assert.deepEqual(e.refunds!.map((x) => [x.permitId, x.state, x.acknowledged]).sort(), [[p1, 'completed', true], [p2, 'remitted', true]].sort());

    // The same permit counted twice: not proven.
    const twice = join(world.tmp, 'twice.json');
    writeFileSync(twice, JSON.stringify({ ...bundle, refunds: [bundle.refunds![0], bundle.refunds![0]] }));
    const f = await cli(['verify', twice, '--ca', caFile]);
    assert.equal(f.code, 1);
    assert.match(f.err, /^NOT PROVEN: PROTO_EVIDENCE_REFUND_DUPLICATE: refunds\[1\]: /);
  });

  test('anonymous: the whole amount refunded with the per-order key is proven for that key', async () => {
    const tx = (await purchase(world, { anonymous: true })).transactionId;
    value(await refund(world.wallet, { transactionId: tx, reason: 'all of it' }, refundDeps()));
    const { file, bundle } = await exported(tx, 'anonymous.json');
    assert.equal(bundle.refunds!.length, 1);
    const j = await cli(['verify', file, '--ca', caFile, '--json']);
    assert.equal(j.code, 0, j.err);
    const e = JSON.parse(j.out) as Evidence;
    assert.equal(e.parties.purchaser.kind, 'anonymous');
    assert.equal(e.refunded, 'JPY:5');
    assert.ok(e.statements.some((s) => s.startsWith(`payment server "Quittance Pay" (pay-1) paid JPY:5 back to purchaser anonymous key ${e.parties.purchaser.id} at `)), e.statements.join('\n'));
  });

  test('mode account: the refund into the purse is proven, naming the purse', async () => {
    const purse = value(await registerPurse(world.wallet, world.payUrl, world.deps));
    await creditReserve(world.payDeps, purse.purseKey, 'JPY', 10n);
    const bought = value(await buy(world.wallet, { merchantUrl: world.merchantUrl, items: ITEMS, anonymous: false, mode: 'account' }, world.deps));
    value(await refund(world.wallet, { transactionId: bought.transactionId, amount: jpy(2n), reason: 'changed my mind' }, refundDeps()));
    const { file } = await exported(bought.transactionId, 'account.json');
    const r = await cli(['verify', file, '--ca', caFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^PROVEN: transaction ${bought.transactionId}, JPY:5 \\(account\\)$`, 'm'));
    assert.match(r.out, new RegExp(`paid JPY:2 back to purchaser "Alice" \\(alice\\) at \\S+ \\(permit pm-\\S+, into purse ${purse.purseKey}\\)$`, 'm'));
  });
});
