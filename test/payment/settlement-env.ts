// What the settlement tests share: the purchase world of purchase-env.ts plus
// a real bank on an ephemeral port where the payment server has its account
// (linked, funded as the loads the ledger books) and the shop its payout
// account, and the settlement routes on their own app.
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { hashToken } from '../../src/http/admin-auth.ts';
import { createBaseApp } from '../../src/http/app.ts';
import { auditPayment } from '../../src/payment/audit.ts';
import { settlementRoutes } from '../../src/payment/routes/settlements.ts';
import { SETTLEMENT_QUERY_TYP, SETTLEMENT_REPORT_TYP, SettlementReportsAnswer, type SettlementQuery, type SettlementReport } from '../../src/protocol/documents/index.ts';
import { signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import type { LeafHandle } from '../fixtures/pki.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { balance, fundAccount, open, startTestBank, type TestBank } from '../bank/harness.ts';
import { certifiedSigner, PAY, setUpPurchase, SHOP, verifyPaymentDocument, type Env } from './purchase-env.ts';

export const ADMIN_TOKEN = 'qt_settlement-test-operator-token-0123';

export type SettleEnv = Env & { bank: TestBank; bankUrl: string; payAccount: string; shopAccount: string; settleApp: FastifyInstance };

export async function setUpSettlement(t: TestDatabase, ctx: { after: (fn: () => Promise<void>) => void }): Promise<SettleEnv> {
  const env = await setUpPurchase(t, ctx);
  const bank = await startTestBank(t);
  ctx.after(() => bank.close());
  const bankUrl = await bank.app.listen({ port: 0, host: '127.0.0.1' });
  const pay = await open(bank, PAY.id, 'JPY', { kind: 'payment' });
  const shop = await open(bank, SHOP.id, 'JPY', { kind: 'merchant' });
  // The loads the tests book directly in the ledger (creditReserve) stand for money that arrived here.
  await fundAccount(bank, pay.id, 'JPY:100000');
  env.p.deps.bankLink = { url: bankUrl, token: pay.token, accounts: [{ currency: 'JPY', accountId: pay.id }] };
  env.p.deps.config = { ...env.p.deps.config, adminTokenHashes: [hashToken(ADMIN_TOKEN)] };
  await env.p.deps.db.updateTable('payment_merchants').set({ payout_account: shop.id }).where('merchant_id', '=', SHOP.id).execute();
  const settleApp = createBaseApp({ bodyLimit: 64 * 1024 });
  settlementRoutes(settleApp, env.p.deps);
  await settleApp.ready();
  ctx.after(() => settleApp.close());
  return { ...env, bank, bankUrl, payAccount: pay.id, shopAccount: shop.id, settleApp };
}

export const shopBalance = (env: SettleEnv) => balance(env.bank, env.shopAccount);

/** The settlement query (signed by `signer`, the shop's key unless told otherwise). */
export async function settlementQuery(env: SettleEnv, over: Partial<SettlementQuery> = {}, signer: LeafHandle = env.merchant): Promise<GeneralJws> {
  const payload: SettlementQuery = { typ: SETTLEMENT_QUERY_TYP, shopId: SHOP.id, paymentServerId: PAY.id, time: env.p.clock.now.toISOString(), ...over };
  return signDocument({ payload, ...certifiedSigner(signer, SETTLEMENT_QUERY_TYP) });
}

export function postQuery(env: SettleEnv, request: unknown): Promise<LightMyRequestResponse> {
  return env.settleApp.inject({ method: 'POST', url: '/v1/settlements/query', payload: { request } as object });
}

/** The shop's reports as the payment server answers them, each verified as the payment server's. */
export async function reports(env: SettleEnv): Promise<SettlementReport[]> {
  const res = await postQuery(env, await settlementQuery(env));
  assert.equal(res.statusCode, 200, res.body);
  const answer = SettlementReportsAnswer.parse(res.json());
  const out: SettlementReport[] = [];
  for (const jws of answer.reports) out.push((await verifyPaymentDocument(env, jws, SETTLEMENT_REPORT_TYP)) as SettlementReport);
  return out;
}

export async function assertAudit(env: Env): Promise<void> {
  const r = await auditPayment(env.p.deps.db);
  assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.problems.join('; ')}`), []);
}
