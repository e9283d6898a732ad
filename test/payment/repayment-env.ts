// What the refund tests share (messages 1150 → 1220 at the payment server):
// purchases paid as the wallet pays them, repayment permits signed by a
// merchant and countersigned by a recipient, remittance requests, repayment
// receipts, and the fresh coins unblinded from the answer.
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import {
  PURSE_REGISTRATION_TYP,
  REMITTANCE_REQUEST_TYP,
  REPAYMENT_PERMIT_TYP,
  REPAYMENT_RECEIPT_TYP,
  type Invoice,
  type RemittanceRequest,
  type RepaymentPermit,
  type RepaymentReceipt,
} from '../../src/protocol/documents/index.ts';
import { signEd25519 } from '../../src/protocol/ed25519.ts';
import { countersign, signDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import { accountPaymentSigningBytes, purseRegistrationSigningBytes, remittanceEnvelopesHash, type Envelope } from '../../src/protocol/messages/payment.ts';
import { finalize, verify } from '../../src/protocol/rfc9474.ts';
import { value } from '../helpers/results.ts';
import type { LeafHandle } from '../fixtures/pki.ts';
import { creditReserve, newRequestId, prepareCoins, reserveKeys, withdrawCoins, type HeldCoin, type PendingCoin } from './emoney-client.ts';
import { accept, certifiedSigner, ecashRequest, hashOf, HOUR, PAY, post170, SHOP, type Env, type Purchaser } from './purchase-env.ts';

export const DAY = 24 * HOUR;

/** Powers of two (the test denominations 1, 2, 4, 8) summing to `yen`. */
export function coinsOf(yen: number): string[] {
  const out: string[] = [];
  for (let left = yen, v = 8; left > 0; ) {
    if (v <= left) {
      out.push(`JPY:${v}`);
      left -= v;
    } else v /= 2;
  }
  return out;
}

/** One line of `yen` articles at JPY:1: the invoice amount is the lines' sum. */
export function linesOf(yen: number): Partial<Invoice> {
  return { amount: `JPY:${yen}`, lines: [{ article: 'A', name: 'ARTICLE A', quantity: yen, unitPrice: 'JPY:1' }] };
}

/** A purchase of `yen` accepted (150) and paid with coins (170), as the wallet does it. */
export async function paidWithCoins(env: Env, purchaser: Purchaser, yen: number, over: Partial<Invoice> = {}): Promise<{ invoice: Invoice; hash: string }> {
  const coins = await withdrawCoins(env.w, coinsOf(yen));
  const { invoice, hash } = await accept(env, purchaser, { ...linesOf(yen), ...over });
  const res = await post170(env, await ecashRequest({ invoiceHash: hash, transactionId: invoice.transactionId, amount: invoice.amount }, coins, []));
  assert.equal(res.statusCode, 201, res.body);
  return { invoice, hash };
}

export type PurseKey = { pub: string; privateKey: CryptoKey };

/** POST /v1/purses for `purchaser` (certified) with purse key number `index`; loaded with `load` yen when given. */
export async function registeredPurse(env: Env, purchaser: Purchaser, index: number, load?: number): Promise<PurseKey> {
  const purse = await reserveKeys(env.w, index);
  const doc = { typ: PURSE_REGISTRATION_TYP, partyId: purchaser.id, purseKey: purse.pub, paymentServerId: PAY.id, time: env.p.clock.now.toISOString() } as const;
  const registration = await signDocument({ payload: doc, ...purchaser.signer, typ: PURSE_REGISTRATION_TYP });
  const purseSignature = encodeBase64url(await signEd25519(purse.privateKey, purseRegistrationSigningBytes(doc)));
  const res = await env.app.inject({ method: 'POST', url: '/v1/purses', payload: { registration, purseSignature } });
  assert.equal(res.statusCode, 201, res.body);
  if (load !== undefined) await creditReserve(env.p.deps, purse.pub, 'JPY', BigInt(load));
  return purse;
}

/** A purchase of `yen` in mode account, paid from `purse`. */
export async function paidFromPurse(env: Env, purchaser: Purchaser, purse: PurseKey, yen: number): Promise<{ invoice: Invoice; hash: string }> {
  const { invoice, hash } = await accept(env, purchaser, { ...linesOf(yen), paymentMode: 'account' });
  const body = { invoiceHash: hash, transactionId: invoice.transactionId, merchantId: SHOP.id, amount: invoice.amount, purseKey: purse.pub };
  const purseSignature = encodeBase64url(await signEd25519(purse.privateKey, accountPaymentSigningBytes(body)));
  const res = await env.app.inject({ method: 'POST', url: '/v1/payments/account', payload: { ...body, purseSignature } });
  assert.equal(res.statusCode, 201, res.body);
  return { invoice, hash };
}

/** The permit (fig. 18) the merchant would issue for `invoice`, for its whole amount unless told otherwise. */
export function permitFor(env: Env, invoice: Invoice, over: Partial<RepaymentPermit> = {}): RepaymentPermit {
  const now = env.p.clock.now;
  return {
    typ: REPAYMENT_PERMIT_TYP,
    permitId: `pm-${newRequestId().slice(0, 16)}`,
    transactionId: invoice.transactionId,
    recipientId: invoice.purchaserId,
    amount: invoice.amount,
    mode: invoice.paymentMode,
    shop: SHOP,
    repayer: { id: PAY.id, name: PAY.name, address: 'http://127.0.0.1:7003/' },
    permissionTime: now.toISOString(),
    dueTime: new Date(now.getTime() + 7 * DAY).toISOString(),
    ...over,
  };
}

/** Signed by `merchant` (1140) and countersigned by `recipient` (1150) when given. */
export async function signedPermit(permit: RepaymentPermit, merchant: LeafHandle, recipient: Purchaser | undefined): Promise<GeneralJws> {
  const jws = await signDocument({ payload: permit, ...certifiedSigner(merchant, REPAYMENT_PERMIT_TYP) });
  return recipient ? countersign(jws, { ...recipient.signer, typ: REPAYMENT_PERMIT_TYP }) : jws;
}

/** The remittance request for a countersigned permit, signed by `signer`, naming `envelopes` (mode ecash) or `purseKey`. */
export async function remittanceRequest(
  env: Env,
  signer: Purchaser,
  permitJws: GeneralJws,
  where: { envelopes: readonly Envelope[] } | { purseKey: string },
  over: Partial<RemittanceRequest> = {},
): Promise<GeneralJws> {
  const permit = JSON.parse(new TextDecoder().decode(decodeBase64url(permitJws.payload))) as RepaymentPermit;
  const payload: RemittanceRequest = {
    typ: REMITTANCE_REQUEST_TYP,
    permitId: permit.permitId,
    permitHash: await hashOf(permitJws),
    transactionId: permit.transactionId,
    recipientId: permit.recipientId,
    paymentServerId: PAY.id,
    amount: permit.amount,
    mode: permit.mode,
    ...('envelopes' in where ? { envelopesHash: await remittanceEnvelopesHash(where.envelopes) } : { purseKey: where.purseKey }),
    time: env.p.clock.now.toISOString(),
    ...over,
  };
  return signDocument({ payload, ...signer.signer, typ: REMITTANCE_REQUEST_TYP });
}

export type Claim = { permit: RepaymentPermit; body: { permit: GeneralJws; request: GeneralJws; envelopes: Envelope[] }; pending: PendingCoin[] };

/** The whole 1150 + 1170 call of `recipient` for `permit`: fresh envelopes worth the amount (mode ecash) or `purse`. */
export async function claimOf(env: Env, permit: RepaymentPermit, recipient: Purchaser, purse?: PurseKey): Promise<Claim> {
  const permitJws = await signedPermit(permit, env.merchant, recipient);
  if (purse) return { permit, body: { permit: permitJws, request: await remittanceRequest(env, recipient, permitJws, { purseKey: purse.pub }), envelopes: [] }, pending: [] };
  const yen = Number(permit.amount.slice(4));
  const pending = await prepareCoins(env.w, coinsOf(yen));
  const envelopes = pending.map((c) => c.envelope);
  return { permit, body: { permit: permitJws, request: await remittanceRequest(env, recipient, permitJws, { envelopes }), envelopes }, pending };
}

export function postRepayment(env: Env, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: '/v1/repayments', payload: body as object });
}

export function postReceipt(env: Env, permitId: string, body: unknown): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'POST', url: `/v1/repayments/${permitId}/receipt`, payload: body as object });
}

export function getRepayment(env: Env, shopId: string, permitId: string): Promise<LightMyRequestResponse> {
  return env.app.inject({ method: 'GET', url: `/v1/repayments/${shopId}/${permitId}` });
}

/** The recipient's repayment receipt (fig. 19) for a paid permit. */
export async function repaymentReceipt(env: Env, signer: Purchaser, permitJws: GeneralJws, over: Partial<RepaymentReceipt> = {}): Promise<GeneralJws> {
  const permit = JSON.parse(new TextDecoder().decode(decodeBase64url(permitJws.payload))) as RepaymentPermit;
  const payload: RepaymentReceipt = {
    typ: REPAYMENT_RECEIPT_TYP,
    permitId: permit.permitId,
    permitHash: await hashOf(permitJws),
    transactionId: permit.transactionId,
    recipientId: permit.recipientId,
    amount: permit.amount,
    time: env.p.clock.now.toISOString(),
    ...over,
  };
  return signDocument({ payload, ...signer.signer, typ: REPAYMENT_RECEIPT_TYP });
}

/** Unblinds the fresh coins of a refund (1180), each verified as the wallet verifies it. */
export async function unblindCoins(pending: readonly PendingCoin[], signatures: readonly string[]): Promise<HeldCoin[]> {
  assert.equal(signatures.length, pending.length);
  const out: HeldCoin[] = [];
  for (const [i, c] of pending.entries()) {
    const sig = value(await finalize(c.key.publicKey, c.coinPub, decodeBase64url(signatures[i]!)!, c.blinding.inv));
    assert.equal(value(await verify(c.key.publicKey, c.coinPub, sig)), true);
    out.push({ coinPub: encodeBase64url(c.coinPub), denominationId: c.key.denominationId, denominationSignature: encodeBase64url(sig), value: c.key.value, currency: c.key.currency, privateKey: c.privateKey });
  }
  return out;
}
