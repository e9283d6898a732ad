// The purchase-session machinery on its own, with a stand-in for buy() that
// asks the way buy() asks: a stopped daemon cancels the open prompt (and
// starts nothing new), a crashing purchase is a failed session, finished
// sessions are forgotten after their retention, and a stale page's answer
// never accepts the next prompt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { err, ok } from '../../src/protocol/result.ts';
import type { BuyPrompt, InvoiceView, PurchaseOutcome } from '../../src/wallet/buy.ts';
import { createSessions, type RunPurchase, type SessionDeps } from '../../src/wallet-daemon/sessions.ts';
import { value } from '../helpers/results.ts';

const MERCHANT: Extract<BuyPrompt, { kind: 'merchant' }> = {
  kind: 'merchant',
  merchantUrl: 'http://shop.test/',
  merchant: { displayName: 'Shop', partyId: 'shop-1', role: 'merchant', issuer: 'CN=Root', fingerprint: 'AA', notBefore: '2025-01-01T00:00:00.000Z', notAfter: '2026-01-01T00:00:00.000Z' },
};
const INVOICE = { kind: 'invoice', invoice: { transactionId: 'tx-1', amount: 'JPY:5' } as InvoiceView } as const;
const OUTCOME = { purchaseId: 'shop-1/tx-1', transactionId: 'tx-1', state: 'PAID' } as PurchaseOutcome;

/** Asks for the merchant, then the invoice, like buy(); Cancel anywhere is WALLET_CANCELLED. */
const asksTwice: RunPurchase = async (_request, confirm, display) => {
  if (!(await confirm(MERCHANT))) return err('WALLET_CANCELLED', 'merchant declined');
  if (!(await confirm(INVOICE))) return err('WALLET_CANCELLED', 'invoice declined');
  display({ kind: 'stored', purchaseId: 'shop-1/tx-1', transactionId: 'tx-1' });
  return ok(OUTCOME);
};

function harness(run: RunPurchase, over: Partial<SessionDeps> = {}) {
  const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  let n = 0;
  const sessions = createSessions({
    run,
    now: () => new Date('2025-09-01T12:00:00Z'),
    newId: () => `s${++n}`,
    schedule: (ms, fn) => {
      const t = { ms, fn, cancelled: false };
      timers.push(t);
      return () => {
        t.cancelled = true;
      };
    },
    caFingerprint: async () => 'CA:FP',
    promptTtlMs: 1000,
    retainMs: 5000,
    maxRunning: 4,
    ...over,
  });
  const fire = (ms: number) => {
    for (const t of timers.filter((x) => x.ms === ms && !x.cancelled)) {
      t.cancelled = true;
      t.fn();
    }
  };
  return { sessions, fire };
}

const request = { shop: 'http://shop.test/', items: [{ article: 'A', quantity: 1 }], mode: 'ecash' as const, anonymous: false };
const tick = () => new Promise((r) => setImmediate(r));

test('the trusted display carries the verified identity and the CA; two OKs make a done session with its transaction id', async () => {
  const { sessions } = harness(asksTwice);
  const s = value(sessions.start(request));
  await tick();
  const m = value(sessions.get(s.sessionId));
  assert.equal(m.step, 'merchant');
  assert.deepEqual(m.step === 'merchant' && { ...m.merchant }, { ...MERCHANT.merchant, verified: true, url: 'http://shop.test/', ca: { issuer: 'CN=Root', rootFingerprint: 'CA:FP' } });
  assert.equal(m.step === 'merchant' && m.expiresAt, '2025-09-01T12:00:01.000Z');
  value(sessions.answer(s.sessionId, true, 'merchant'));
  await tick();
  assert.equal(value(sessions.get(s.sessionId)).step, 'invoice');
  assert.equal(value(sessions.answer(s.sessionId, true, 'invoice')).step, 'paying');
  await tick();
  const done = value(sessions.get(s.sessionId));
  assert.deepEqual([done.step, done.transactionId], ['done', 'tx-1']);
});

test("a stale page's answer for the merchant never accepts the invoice waiting now", async () => {
  const { sessions } = harness(asksTwice);
  const s = value(sessions.start(request));
  await tick();
  value(sessions.answer(s.sessionId, true, 'merchant'));
  await tick();
  const stale = sessions.answer(s.sessionId, true, 'merchant');
  assert.equal(!stale.ok && stale.code, 'WALLETD_SESSION_NOT_WAITING');
  assert.equal(value(sessions.get(s.sessionId)).step, 'invoice');
});

test('stopping cancels the open prompt with reason closed, lets the purchase end, and starts nothing new', async () => {
  const { sessions } = harness(asksTwice);
  const s = value(sessions.start(request));
  await tick();
  assert.equal(value(sessions.get(s.sessionId)).step, 'merchant');
  await sessions.close();
  const end = value(sessions.get(s.sessionId));
  assert.deepEqual(end.step === 'cancelled' && [end.reason, end.transactionId], ['closed', null]);
  const next = sessions.start(request);
  assert.equal(!next.ok && next.code, 'WALLETD_TOO_MANY_SESSIONS');
});

test('a purchase that throws is a failed session with HTTP_INTERNAL, reported to onError', async () => {
  const errors: unknown[] = [];
  const { sessions } = harness(async () => {
    throw new Error('disk on fire');
  }, { onError: (e) => errors.push(e) });
  const s = value(sessions.start(request));
  await tick();
  const end = value(sessions.get(s.sessionId));
  assert.equal(end.step === 'failed' && end.code, 'HTTP_INTERNAL');
  assert.doesNotMatch(JSON.stringify(end), /disk on fire/, 'the page gets no internals');
  assert.equal(errors.length, 1);
});

test('a finished session is forgotten after its retention; a running one never is', async () => {
  const { sessions, fire } = harness(asksTwice);
  const s = value(sessions.start(request));
  await tick();
  fire(5000);
  assert.ok(sessions.get(s.sessionId).ok, 'still running: kept');
  value(sessions.answer(s.sessionId, false, 'merchant'));
  await tick();
  assert.equal(value(sessions.get(s.sessionId)).step, 'cancelled');
  fire(5000);
  const gone = sessions.get(s.sessionId);
  assert.equal(!gone.ok && gone.code, 'WALLETD_SESSION_NOT_FOUND');
});

test('an unanswered prompt expires as Cancel (reason expired)', async () => {
  const { sessions, fire } = harness(asksTwice);
  const s = value(sessions.start(request));
  await tick();
  fire(1000);
  await tick();
  const end = value(sessions.get(s.sessionId));
  assert.deepEqual(end.step === 'cancelled' && end.reason, 'expired');
});

test('stop answers a waiting long poll at once, and later polls do not wait', async () => {
  const { sessions } = harness(asksTwice);
  const s = value(sessions.start(request));
  await tick();
  const at = value(sessions.get(s.sessionId));
  // The harness never fires the 60 s timer: only stop() can end this wait.
  const waiting = sessions.wait(s.sessionId, at.version, 60_000);
  sessions.stop();
  assert.equal(value(await waiting).sessionId, s.sessionId);
  await tick();
  const later = value(sessions.get(s.sessionId));
  assert.equal(value(await sessions.wait(s.sessionId, later.version, 60_000)).version, later.version);
  assert.deepEqual(later.step === 'cancelled' && later.reason, 'closed');
});
