// Loading the purse (SEMPER "registering with the bank, loading"; DESIGN §4):
//
//   1. a fresh reserve key (derived from the seed, index stored first);
//   2. a bank transfer from the shopper's account to the payment server's
//      (the account named in its signed key list), subject = the reserve key;
//   3. wait until the payment server has seen the transfer and credited the
//      reserve (it long-polls its own bank account; we long-poll the reserve);
//   4. withdraw coins for the whole amount (withdraw.ts).
//
// Every step is recorded in the reserve's row before the next one, and each
// is idempotent at the server (bank transfer id derived from the reserve key,
// withdrawal request ids stored with the pending coins), so `resumeLoads`
// finishes any load a crash, a timeout or a closed laptop interrupted.
import { formatAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import { encodeBase64url } from '../protocol/base64url.ts';
import { TransferView } from '../protocol/messages/bank.ts';
import { ReserveView } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { WalletReserveTable } from './db.ts';
import { deriveReserve } from './derive.ts';
import type { WalletErrorCode } from './errors.ts';
import { callJson, type ClientCode, type Fetch } from './http-client.ts';
import { fetchKeyList, serverUrl, type KeyListCode } from './key-list.ts';
import type { OpenedWallet } from './open.ts';
import { allocateIndices, withdrawReserve, type WithdrawCode } from './withdraw.ts';

export type LoadCode = KeyListCode | WithdrawCode | Extract<WalletErrorCode, 'WALLET_LOADING_UNAVAILABLE' | 'WALLET_LOAD_TIMEOUT'>;

export type LoadProgress =
  | { phase: 'transferred'; reservePub: string; amount: string; bankAccount: string }
  | { phase: 'waiting'; reservePub: string; waitedSeconds: number }
  | { phase: 'credited'; reservePub: string }
  | { phase: 'withdrawn'; reservePub: string; coins: number; amount: string };

export type LoadDeps = {
  now: () => Date;
  fetch: Fetch;
  /** The unlocked wallet seed. */
  seed: Uint8Array;
  progress?: (p: LoadProgress) => void;
  /** How long to wait for the credit before giving up (the load can be resumed). Default 5 minutes. */
  waitTimeoutMs?: number;
  /** Seconds per long poll; default 20. */
  pollSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
};

/** The shortest time between two reserve queries, whatever the server does with `wait`. */
const MIN_POLL_INTERVAL_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Bank refusals that prove no transfer with this id exists: the bank checks
 * the id (and answers a repeat with the first result) before these rules.
 * Anything else (authentication, rate limit, an outage, "no such account" —
 * also what another holder's token sees) proves nothing: the load stays open
 * and `--resume` tries again.
 */
const NO_TRANSFER_CODES: ReadonlySet<string> = new Set([
  'BANK_INSUFFICIENT_FUNDS',
  'BANK_CURRENCY_MISMATCH',
  'BANK_CREDITOR_NOT_FOUND',
  'BANK_SAME_ACCOUNT',
  'BANK_AMOUNT_NOT_POSITIVE',
  'BANK_BALANCE_OVERFLOW',
]);

export type BankCredentials = {
  bankUrl: string;
  /** The shopper's account that pays. */
  account: string;
  /** The shopper's bank holder token. */
  token: string;
};

export type LoadOutcome = { reservePub: string; amount: string; coins: number };

/** The bank transfer id of a reserve's load: a repeat after a crash is the same transfer. */
export function loadTransferId(reservePub: string): string {
  return `load-${reservePub}`;
}

async function setState(wallet: OpenedWallet, reservePub: string, state: WalletReserveTable['state'], now: Date): Promise<void> {
  await wallet.db.updateTable('wallet_reserves').set({ state, updated_at: now.toISOString() }).where('reserve_pub', '=', reservePub).execute();
}

async function reserveRow(wallet: OpenedWallet, reservePub: string): Promise<WalletReserveTable> {
  return wallet.db.selectFrom('wallet_reserves').selectAll().where('reserve_pub', '=', reservePub).executeTakeFirstOrThrow();
}

/** A reserve (or purse) and the total `credited` it must reach at the payment server. */
export type CreditTarget = {
  paymentUrl: string;
  /** The reserve (or purse) key. */
  key: string;
  currency: string;
  /** Minor units. */
  credited: bigint;
  /** How messages name it. */
  what: 'reserve' | 'purse';
};

export type CreditWaitDeps = Pick<LoadDeps, 'fetch' | 'waitTimeoutMs' | 'pollSeconds' | 'sleep'>;

export type CreditCode = ClientCode | Extract<WalletErrorCode, 'WALLET_LOAD_TIMEOUT' | 'WALLET_PAYMENT_RESPONSE_INVALID'>;

/**
 * Step 3: long-polls GET /v1/reserves/:key until the payment server has
 * credited at least `target.credited`; answers the last view. `onWait` hears
 * of every poll that ended short.
 */
export async function waitForCredit(target: CreditTarget, deps: CreditWaitDeps, onWait?: (waitedSeconds: number) => void): Promise<Result<ReserveView, CreditCode>> {
  const started = performance.now();
  const limit = deps.waitTimeoutMs ?? 300_000;
  const credited = formatAmount({ currency: target.currency, minor: target.credited });
  for (;;) {
    const waited = performance.now() - started;
    const wait = Math.max(0, Math.min(deps.pollSeconds ?? 20, Math.ceil((limit - waited) / 1000)));
    const r = await callJson(deps.fetch, 'payment', target.paymentUrl, {
      method: 'GET',
      path: `/v1/reserves/${target.key}?wait=${wait}&credited=${encodeURIComponent(credited)}`,
      schema: ReserveView,
      what: `the ${target.what} query`,
      timeoutMs: (wait + 15) * 1000,
    });
    if (r.ok) {
      const got = parseAmount(r.value.value.credited);
      if (!got.ok || got.value.currency !== target.currency) {
        // Reserve keys are fresh and a purse is checked before each load: another currency means a server we cannot follow.
        return err('WALLET_PAYMENT_RESPONSE_INVALID', `the payment server shows ${target.what} ${target.key} in ${r.value.value.currency}, not ${target.currency}`);
      }
      if (got.value.minor >= target.credited) return ok(r.value.value);
    } else if (r.code !== 'PAY_RESERVE_UNKNOWN' && r.code !== 'WALLET_PAYMENT_UNREACHABLE') {
      return r;
    }
    // A server that answers at once (or not at all) must not turn this into a busy loop.
    const pollStarted = started + waited;
    const pause = MIN_POLL_INTERVAL_MS - (performance.now() - pollStarted);
    if (pause > 0) await (deps.sleep ?? sleep)(pause);
    const elapsed = performance.now() - started;
    if (elapsed >= limit) {
      return err('WALLET_LOAD_TIMEOUT', `the payment server has not credited ${target.what} ${target.key} yet; the money is on its way — finish later with \`quittance wallet load --resume\``);
    }
    onWait?.(Math.round(elapsed / 1000));
  }
}

/** What step 2 sends to the bank. */
export type LoadTransfer = { transferId: string; to: string; amount: string; subject: string };

/**
 * Step 2: the bank transfer to the payment server's loading account. A
 * refusal with `neverMade` proves no transfer with this id exists (the load
 * can be closed); any other failure proves nothing and the load stays open.
 */
export async function sendLoadTransfer(fetchFn: Fetch, bank: BankCredentials, t: LoadTransfer): Promise<Result<void, ClientCode> & { neverMade?: boolean }> {
  const r = await callJson(fetchFn, 'bank', bank.bankUrl, {
    method: 'POST',
    path: '/v1/transfers',
    token: bank.token,
    body: { transferId: t.transferId, from: bank.account, to: t.to, amount: t.amount, subject: t.subject },
    schema: TransferView,
    what: 'the transfer',
  });
  if (!r.ok) return { ...r, neverMade: NO_TRANSFER_CODES.has(r.code) };
  return ok(undefined);
}

/** Steps 2–4 for a reserve in any unfinished state. */
async function continueLoad(wallet: OpenedWallet, reserve: WalletReserveTable, bank: BankCredentials | undefined, deps: LoadDeps): Promise<Result<LoadOutcome, LoadCode>> {
  const amount = formatAmount({ currency: reserve.currency, minor: reserve.amount });
  if (reserve.state === 'created') {
    const keys = await fetchKeyList(wallet, reserve.payment_url!, deps);
    if (!keys.ok) return keys;
    const to = keys.value.loading.find((l) => l.currency === reserve.currency);
    if (!to) return err('WALLET_LOADING_UNAVAILABLE', `the payment server names no bank account for ${reserve.currency} in its signed key list`);
    if (!bank) return err('WALLET_LOADING_UNAVAILABLE', 'this load has not reached the bank yet: give the bank account and token to resume it');
    const t = await sendLoadTransfer(deps.fetch, bank, { transferId: reserve.bank_transfer_id!, to: to.bankAccount, amount, subject: reserve.reserve_pub });
    if (!t.ok) {
      // Refused for good, and provably never made: this reserve will never be funded.
      if (t.neverMade === true) await setState(wallet, reserve.reserve_pub, 'closed', deps.now());
      return err(t.code, t.message, t.details);
    }
    await setState(wallet, reserve.reserve_pub, 'transferred', deps.now());
    deps.progress?.({ phase: 'transferred', reservePub: reserve.reserve_pub, amount, bankAccount: to.bankAccount });
    reserve = await reserveRow(wallet, reserve.reserve_pub);
  }
  if (reserve.state === 'transferred') {
    const target = { paymentUrl: reserve.payment_url!, key: reserve.reserve_pub, currency: reserve.currency, credited: reserve.amount, what: 'reserve' } as const;
    const w = await waitForCredit(target, deps, (waitedSeconds) => deps.progress?.({ phase: 'waiting', reservePub: reserve.reserve_pub, waitedSeconds }));
    if (!w.ok) return w;
    await setState(wallet, reserve.reserve_pub, 'credited', deps.now());
    deps.progress?.({ phase: 'credited', reservePub: reserve.reserve_pub });
    reserve = await reserveRow(wallet, reserve.reserve_pub);
  }
  if (reserve.state === 'credited') {
    // Fresh keys: a rotation may have happened while we waited.
    const keys = await fetchKeyList(wallet, reserve.payment_url!, deps);
    if (!keys.ok) return keys;
    const w = await withdrawReserve(wallet, reserve, keys.value.keys, deps);
    if (!w.ok) return w;
    await setState(wallet, reserve.reserve_pub, 'withdrawn', deps.now());
    const coins = await wallet.db.selectFrom('wallet_coins').select('coin_pub').where('reserve_pub', '=', reserve.reserve_pub).execute();
    deps.progress?.({ phase: 'withdrawn', reservePub: reserve.reserve_pub, coins: coins.length, amount });
    return ok({ reservePub: reserve.reserve_pub, amount, coins: coins.length });
  }
  return ok({ reservePub: reserve.reserve_pub, amount, coins: 0 });
}

/** Loads `amount` from the shopper's bank account into coins held by this wallet. */
export async function loadMoney(wallet: OpenedWallet, params: { paymentUrl: string; amount: Amount; bank: BankCredentials }, deps: LoadDeps): Promise<Result<LoadOutcome, LoadCode>> {
  const paymentUrl = serverUrl(params.paymentUrl, 'payment URL');
  const bankUrl = serverUrl(params.bank.bankUrl, 'bank URL');
  // Checked before any money moves: the key list must verify and name a bank account.
  const keys = await fetchKeyList(wallet, paymentUrl, deps);
  if (!keys.ok) return keys;
  if (!keys.value.loading.some((l) => l.currency === params.amount.currency)) {
    return err('WALLET_LOADING_UNAVAILABLE', `the payment server takes no loads in ${params.amount.currency}`);
  }
  const now = deps.now();
  const reservePub = await wallet.db.transaction().execute(async (tx) => {
    const [idx] = await allocateIndices(tx, 'reserve', 1, now);
    const keys = await deriveReserve(deps.seed, idx!);
    const pub = encodeBase64url(keys.publicKeyBytes);
    await tx
      .insertInto('wallet_reserves')
      .values({
        reserve_pub: pub,
        derivation_index: idx!,
        currency: params.amount.currency,
        amount: params.amount.minor,
        payment_url: paymentUrl,
        bank_transfer_id: loadTransferId(pub),
        bank_url: bankUrl,
        bank_account: params.bank.account,
        state: 'created',
        created_at: now.toISOString(),
        updated_at: now.toISOString(),
      })
      .execute();
    return pub;
  });
  return continueLoad(wallet, await reserveRow(wallet, reservePub), { ...params.bank, bankUrl }, deps);
}

export type ResumeOutcome = { resumed: LoadOutcome[]; failed: { reservePub: string; code: string; message: string }[] };

/**
 * Finishes every load left unfinished (oldest first). The bank token is
 * needed only for a load whose transfer may not have reached the bank.
 */
export async function resumeLoads(wallet: OpenedWallet, bankToken: string | undefined, deps: LoadDeps): Promise<ResumeOutcome> {
  const open = await wallet.db.selectFrom('wallet_reserves').selectAll().where('state', 'in', ['created', 'transferred', 'credited']).orderBy('derivation_index').execute();
  const out: ResumeOutcome = { resumed: [], failed: [] };
  for (const r of open) {
    const creds = bankToken !== undefined && r.bank_url !== null && r.bank_account !== null ? { bankUrl: r.bank_url, account: r.bank_account, token: bankToken } : undefined;
    const done = await continueLoad(wallet, r, creds, deps);
    if (done.ok) out.resumed.push(done.value);
    else out.failed.push({ reservePub: r.reserve_pub, code: done.code, message: done.message });
  }
  return out;
}
