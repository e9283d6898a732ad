// A minimal test wallet for the payment server's e-money API (issue 3):
// verified key list, coins derived from a fixed seed, blinded and unblinded
// with the wallet's RFC 9474 code, withdraw and swap requests signed as the
// wallet signs them. Plus the books checks every money test ends with.
//
// Denomination keys: 2048-bit RSA key generation is the slow part of these
// tests, so each test file makes one key per configured denomination once and
// installs the same keys (wrapped with the harness' wrapping key) into every
// fresh database. The server then finds nothing due and generates none.
import assert from 'node:assert/strict';
import { randomBytes, type KeyObject } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { generateDenominationKey } from '../../src/crypto/blind-signer.ts';
import { denominationVerifyKey, verifyCoinSignature } from '../../src/crypto/coin-verify.ts';
import type { PaymentDatabase } from '../../src/payment/db.ts';
import { denominationsOf, type PaymentConfig } from '../../src/payment/config.ts';
import type { PaymentDeps } from '../../src/payment/deps.ts';
import { wrapPrivateKey } from '../../src/payment/key-wrap.ts';
import { accountBalance, checkLedger, ensureAccount, ledgerAccount, postTransfer } from '../../src/payment/ledger.ts';
import { parseAmount } from '../../src/protocol/amount.ts';
import { decodeBase64url, encodeBase64url } from '../../src/protocol/base64url.ts';
import { checkDenominationKeys, DENOMINATION_KEYS_TYP, denominationIdOf, parseDocument } from '../../src/protocol/documents/index.ts';
import { signEd25519 } from '../../src/protocol/ed25519.ts';
import { verifyDocument, type GeneralJws } from '../../src/protocol/jws.ts';
import {
  BlindSignaturesResponse,
  swapSigningBytes,
  withdrawSigningBytes,
  type Coin,
  type Envelope,
  type SwapRequest,
  type WithdrawRequest,
} from '../../src/protocol/messages/payment.ts';
import { blind, blindingFactorFromSeed, blindRsaPublicKeyFromSpki, finalize, verify, type BlindingResult, type BlindRsaPublicKey } from '../../src/protocol/rfc9474.ts';
import { toBigInt } from '../../src/store/index.ts';
import { deriveCoin, deriveReserve } from '../../src/wallet/derive.ts';
import { CRL_MAX_AGE_SECONDS } from '../fixtures/pki.ts';
import { value } from '../helpers/results.ts';
import { auditPayment } from '../../src/payment/audit.ts';
import { loadTransferId } from '../../src/payment/loader.ts';
import { WRAP_KEY, type TestPayment } from './harness.ts';

type Db = Kysely<PaymentDatabase>;

/** Few denominations (5 keys): JPY 1, 2, 4, 8 and EUR 0.01. */
export const EMONEY_CONFIG: Partial<PaymentConfig> = { currencies: [{ maxValue: 'JPY:8' }, { maxValue: 'EUR:0.01' }] };
export const SEED = new Uint8Array(32).fill(7);

// ---------------------------------------------------------------- denomination keys

type KeyPair = { privateKey: KeyObject; publicKey: KeyObject };
const keyPool = new Map<string, Promise<KeyPair>>();

function pooledKey(name: string): Promise<KeyPair> {
  let k = keyPool.get(name);
  if (k === undefined) {
    k = generateDenominationKey(2048);
    keyPool.set(name, k);
  }
  return k;
}

/** The private key behind `amount`'s denomination ("JPY:4"), e.g. to forge with. */
export async function denominationPrivateKey(amount: string): Promise<KeyObject> {
  const a = value(parseAmount(amount));
  return (await pooledKey(`${a.currency}:${a.minor}`)).privateKey;
}

/** Installs this file's keys for every configured denomination, windows starting at the harness clock. */
export async function installKeys(p: TestPayment): Promise<void> {
  const config = p.deps.config;
  const now = p.clock.now;
  const validFrom = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const day = 86_400_000;
  const wanted = config.currencies.flatMap((c) => {
    const d = denominationsOf(c);
    return d.values.map((v) => ({ currency: d.currency, value: v }));
  });
  const pairs = await Promise.all(wanted.map((w) => pooledKey(`${w.currency}:${w.value}`)));
  for (const [i, w] of wanted.entries()) {
    const spki = new Uint8Array(pairs[i]!.publicKey.export({ type: 'spki', format: 'der' }));
    const id = await denominationIdOf(spki);
    await p.deps.db
      .insertInto('payment_denomination_keys')
      .values({
        denomination_id: id,
        currency: w.currency,
        value: w.value,
        generation: 1,
        public_key: encodeBase64url(spki),
        private_key_wrapped: wrapPrivateKey(WRAP_KEY, pairs[i]!.privateKey, id),
        valid_from: validFrom.toISOString(),
        withdraw_until: new Date(validFrom.getTime() + config.withdrawDays * day).toISOString(),
        deposit_until: new Date(validFrom.getTime() + config.depositDays * day).toISOString(),
        created_at: now.toISOString(),
      })
      .execute();
  }
}

export type WalletKey = {
  denominationId: string;
  currency: string;
  value: bigint;
  publicKey: BlindRsaPublicKey;
  /** The same key for node:crypto (the server's verification). */
  keyObject: KeyObject;
  withdrawUntil: string;
  depositUntil: string;
};

/** GET /v1/keys, accepted only as a document signed by the `payment` party of the test PKI (as the wallet does). */
export async function fetchKeys(p: TestPayment): Promise<WalletKey[]> {
  const res = await p.app.inject({ method: 'GET', url: '/v1/keys' });
  assert.equal(res.statusCode, 200, res.body);
  const v = await verifyDocument(res.json<GeneralJws>(), {
    now: p.clock.now,
    trustAnchors: [p.pki.root.der],
    crls: await p.pki.crls(),
    requireCrl: true,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: DENOMINATION_KEYS_TYP,
    signers: [{ roles: ['payment'] }],
  });
  assert.ok(v.ok, JSON.stringify(v));
  const doc = value(parseDocument(DENOMINATION_KEYS_TYP, v.value.payload));
  value(await checkDenominationKeys(doc, { signerPartyId: 'pay-1' }));
  const out: WalletKey[] = [];
  for (const k of doc.keys) {
    const spki = decodeBase64url(k.publicKey)!;
    const amount = value(parseAmount(k.value));
    out.push({
      denominationId: k.denominationId,
      currency: amount.currency,
      value: amount.minor,
      publicKey: value(await blindRsaPublicKeyFromSpki(spki)),
      keyObject: denominationVerifyKey(spki),
      withdrawUntil: k.withdrawUntil,
      depositUntil: k.depositUntil,
    });
  }
  return out;
}

// ---------------------------------------------------------------- the wallet

export type TestWallet = {
  p: TestPayment;
  seed: Uint8Array;
  keys: WalletKey[];
  /** Next coin derivation index. */
  next: number;
};

/** A payment server with this file's keys installed, and a wallet that has verified them. */
export async function openWallet(p: TestPayment, seed: Uint8Array = SEED): Promise<TestWallet> {
  await installKeys(p);
  return { p, seed, keys: await fetchKeys(p), next: 0 };
}

export function keyFor(w: TestWallet, amount: string): WalletKey {
  const a = value(parseAmount(amount));
  const k = w.keys.find((x) => x.currency === a.currency && x.value === a.minor);
  assert.ok(k, `no key for ${amount}`);
  return k;
}

/** A coin being made: its key pair, the blinding, and the envelope to send. */
export type PendingCoin = {
  index: number;
  key: WalletKey;
  coinPub: Uint8Array<ArrayBuffer>;
  privateKey: CryptoKey;
  blinding: BlindingResult;
  envelope: Envelope;
};

/** A coin the wallet holds: what goes on the wire, and what lets it spend it. */
export type HeldCoin = Coin & { value: bigint; currency: string; privateKey: CryptoKey };

/** Derives, blinds and wraps fresh coins of the given amounts ("JPY:8", …). */
export async function prepareCoins(w: TestWallet, amounts: readonly string[]): Promise<PendingCoin[]> {
  const out: PendingCoin[] = [];
  for (const amount of amounts) {
    const key = keyFor(w, amount);
    const index = w.next++;
    const derived = await deriveCoin(w.seed, index);
    const r = value(blindingFactorFromSeed(key.publicKey, derived.blindingSeed));
    const blinding = value(await blind(key.publicKey, derived.publicKeyBytes, r));
    out.push({
      index,
      key,
      coinPub: derived.publicKeyBytes,
      privateKey: derived.privateKey,
      blinding,
      envelope: { denominationId: key.denominationId, blindedMessage: encodeBase64url(blinding.blindedMsg) },
    });
  }
  return out;
}

export function newRequestId(): string {
  return randomBytes(18).toString('base64url');
}

export async function reserveKeys(w: TestWallet, index = 0): Promise<{ pub: string; privateKey: CryptoKey }> {
  const r = await deriveReserve(w.seed, index);
  return { pub: encodeBase64url(r.publicKeyBytes), privateKey: r.privateKey };
}

/** A withdrawal request signed by the reserve key (envelopes as given, so tests may tamper with them first). */
export async function withdrawRequest(reserve: { pub: string; privateKey: CryptoKey }, requestId: string, envelopes: readonly Envelope[]): Promise<WithdrawRequest> {
  const body = { requestId, reservePub: reserve.pub, envelopes: [...envelopes] };
  return { ...body, reserveSignature: encodeBase64url(await signEd25519(reserve.privateKey, withdrawSigningBytes(body))) };
}

/** A swap request, every coin signing it with its own key. */
export async function swapRequest(swapId: string, coins: readonly HeldCoin[], envelopes: readonly Envelope[]): Promise<SwapRequest> {
  const wire = coins.map((c) => ({ coinPub: c.coinPub, denominationId: c.denominationId, denominationSignature: c.denominationSignature }));
  const bytes = swapSigningBytes({ swapId, coins: wire, envelopes: [...envelopes] });
  const signed = [];
  for (const [i, c] of coins.entries()) signed.push({ ...wire[i]!, coinSignature: encodeBase64url(await signEd25519(c.privateKey, bytes)) });
  return { swapId, coins: signed, envelopes: [...envelopes] };
}

/**
 * Unblinds the server's answer into coins, checking each signature twice:
 * the wallet's RFC 9474 verify and OpenSSL's RSA-PSS (the server's check).
 */
export async function finalizeCoins(pending: readonly PendingCoin[], res: LightMyRequestResponse): Promise<HeldCoin[]> {
  const answer = BlindSignaturesResponse.parse(res.json());
  assert.equal(answer.blindSignatures.length, pending.length);
  const out: HeldCoin[] = [];
  for (const [i, c] of pending.entries()) {
    const sig = value(await finalize(c.key.publicKey, c.coinPub, decodeBase64url(answer.blindSignatures[i]!)!, c.blinding.inv));
    assert.deepEqual(value(await verify(c.key.publicKey, c.coinPub, sig)), true);
    assert.equal(verifyCoinSignature(c.key.keyObject, c.coinPub, sig), true);
    out.push({
      coinPub: encodeBase64url(c.coinPub),
      denominationId: c.key.denominationId,
      denominationSignature: encodeBase64url(sig),
      value: c.key.value,
      currency: c.key.currency,
      privateKey: c.privateKey,
    });
  }
  return out;
}

export function postWithdraw(p: TestPayment, request: unknown, reservePub?: string): Promise<LightMyRequestResponse> {
  const pub = reservePub ?? (request as WithdrawRequest).reservePub;
  return p.app.inject({ method: 'POST', url: `/v1/reserves/${pub}/withdraw`, payload: request as object });
}

export function postSwap(p: TestPayment, request: unknown): Promise<LightMyRequestResponse> {
  return p.app.inject({ method: 'POST', url: '/v1/swap', payload: request as object });
}

/** Credits the reserve with `amount` (loaded the way the loader does it) and withdraws coins of `amounts` from it. */
export async function withdrawCoins(w: TestWallet, amounts: readonly string[], reserveIndex = 0): Promise<HeldCoin[]> {
  const reserve = await reserveKeys(w, reserveIndex);
  const total = amounts.map((a) => value(parseAmount(a))).reduce((s, a) => ({ currency: a.currency, minor: s.minor + a.minor }), { currency: '', minor: 0n });
  await creditReserve(w.p.deps, reserve.pub, total.currency, total.minor);
  const pending = await prepareCoins(w, amounts);
  const res = await postWithdraw(w.p, await withdrawRequest(reserve, newRequestId(), pending.map((c) => c.envelope)));
  assert.equal(res.statusCode, 201, res.body);
  return finalizeCoins(pending, res);
}

// ---------------------------------------------------------------- books

/** The bank account test loads arrive at (one per currency, as a bank link has). */
export const TEST_LOAD_ACCOUNT = (currency: string) => `QB00TEST${currency}LOADS`.slice(0, 16);

/**
 * A load booked exactly as the loader books one (loader.ts): the incoming
 * bank entry with the account's cursor, the reserve, and bank:CUR →
 * reserve:PUB under the loader's transfer id — so `quittance audit` passes.
 */
export async function creditReserve(deps: Pick<PaymentDeps, 'db' | 'clock'>, reservePub: string, currency: string, amountMinor: bigint): Promise<void> {
  const now = deps.clock();
  const account = TEST_LOAD_ACCOUNT(currency);
  await deps.db.transaction().execute(async (trx) => {
    const last = await trx.selectFrom('payment_bank_cursors').select('last_seq').where('bank_account', '=', account).executeTakeFirst();
    const seq = (last?.last_seq ?? 0) + 1;
    await trx
      .insertInto('payment_bank_cursors')
      .values({ bank_account: account, currency, last_seq: seq, updated_at: now.toISOString() })
      .onConflict((oc) => oc.column('bank_account').doUpdateSet({ last_seq: seq }))
      .execute();
    await trx
      .insertInto('payment_bank_incoming')
      .values({ bank_account: account, seq, bank_transfer_id: `test-${seq}`, counterparty: 'QB00TESTSHOPPER0', currency, amount: amountMinor, subject: reservePub, outcome: 'credited', reserve_pub: reservePub, created_at: now.toISOString() })
      .execute();
    await trx.insertInto('payment_reserves').values({ reserve_pub: reservePub, currency, created_at: now.toISOString() }).onConflict((oc) => oc.column('reserve_pub').doNothing()).execute();
    await ensureAccount(trx, ledgerAccount.bank(currency), currency, 'bank', now);
    await ensureAccount(trx, ledgerAccount.reserve(reservePub), currency, 'reserve', now);
    const moved = await postTransfer(trx, { id: loadTransferId(account, seq), debit: ledgerAccount.bank(currency), credit: ledgerAccount.reserve(reservePub), currency, amount: amountMinor, reason: 'load' }, now);
    assert.ok(moved);
  });
}

export async function balanceOf(db: Db, account: string): Promise<bigint> {
  return (await accountBalance(db, account))?.balance ?? 0n;
}

/**
 * For every currency: the float (e-money outstanding) equals the value of the
 * envelopes ever signed minus the value of the coins spent. Problems, or [].
 */
export async function floatMatchesCoins(db: Db): Promise<string[]> {
  const sums = async (table: 'payment_issued_envelopes' | 'payment_spent_coins') =>
    new Map(
      (await db.selectFrom(table).select(['currency', sql<unknown>`cast(sum(value) as bigint)`.as('s')]).groupBy('currency').execute()).map((r) => [r.currency, toBigInt(r.s)]),
    );
  const issued = await sums('payment_issued_envelopes');
  const spent = await sums('payment_spent_coins');
  const floats = await db.selectFrom('payment_ledger_accounts').select(['currency', 'credits_posted', 'debits_posted']).where('kind', '=', 'float').execute();
  const currencies = new Set([...issued.keys(), ...spent.keys(), ...floats.map((f) => f.currency)]);
  const problems: string[] = [];
  for (const c of currencies) {
    const f = floats.find((x) => x.currency === c);
    const float = f ? f.credits_posted - f.debits_posted : 0n;
    const outstanding = (issued.get(c) ?? 0n) - (spent.get(c) ?? 0n);
    if (float !== outstanding) problems.push(`float:${c} is ${float} but issued − spent is ${outstanding}`);
  }
  return problems;
}

/** The ledger is sound, the float matches the coins, and `quittance audit` finds nothing. */
export async function assertBooks(db: Db): Promise<void> {
  assert.deepEqual(await checkLedger(db), []);
  assert.deepEqual(await floatMatchesCoins(db), []);
  const audit = await auditPayment(db);
  assert.deepEqual(audit.checks.filter((c) => !c.ok), []);
}

/** Everything a refused request must leave as it was. */
export async function snapshot(db: Db): Promise<unknown> {
  return {
    accounts: await db.selectFrom('payment_ledger_accounts').selectAll().orderBy('id').execute(),
    transfers: await db.selectFrom('payment_ledger_transfers').select(['id', 'amount']).orderBy('id').execute(),
    reserves: await db.selectFrom('payment_reserves').selectAll().orderBy('reserve_pub').execute(),
    withdrawals: await db.selectFrom('payment_withdrawals').selectAll().orderBy('reserve_pub').orderBy('request_id').execute(),
    swaps: await db.selectFrom('payment_swaps').selectAll().orderBy('swap_id').execute(),
    envelopes: await db.selectFrom('payment_issued_envelopes').selectAll().orderBy('envelope_hash').execute(),
    spent: await db.selectFrom('payment_spent_coins').selectAll().orderBy('coin_pub').execute(),
  };
}

/** Asserts a coded refusal: status and code. */
export function assertRefused(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json<{ code: string }>().code, code, res.body);
}
