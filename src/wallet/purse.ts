// The wallet's purse (payment mode `account`, DESIGN §2 "a prepaid purse
// account at the payment server"): a reserve that is identified. Its key is
// derived from the seed (derive.ts derivePurse, one per wallet) and bound to
// the wallet's certified identity at a payment server by a registration both
// keys sign (POST /v1/purses, src/payment/purses.ts). It is loaded through the
// bank exactly like a reserve — a transfer to the payment server's loading
// account with the purse key as subject — but the money stays at the payment
// server: `wallet buy --mode account` spends it against an invoice of this
// shopper, and nothing is withdrawn.
//
// A load is crash-safe like a coin load (load.ts): its row (wallet_purse_loads)
// is written before the bank transfer, with a transfer id derived from the
// load id and the payment server's account from its signed key list, so
// `resumePurseLoads` repeats the identical transfer (the bank answers a repeat
// with the first result) and waits for the credit again. A purse's `credited`
// only grows, so a load is done once it reaches the total before the load
// plus the amount.
import type { CryptoErrorCode } from '../crypto/index.ts';
import { formatAmount, makeAmount, parseAmount, type Amount } from '../protocol/amount.ts';
import { encodeBase64url } from '../protocol/base64url.ts';
import { PURSE_REGISTRATION_TYP, type PurseRegistration } from '../protocol/documents/index.ts';
import { signEd25519 } from '../protocol/ed25519.ts';
import { signDocument } from '../protocol/jws.ts';
import { purseRegistrationSigningBytes, PurseView, ReserveView } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { certifiedSigner, type CertifiedSigner } from './certified.ts';
import type { PurseLoadState, WalletPurseLoadTable, WalletPurseTable } from './db.ts';
import { derivePurse } from './derive.ts';
import type { WalletErrorCode } from './errors.ts';
import { callJson, type ClientCode, type Fetch } from './http-client.ts';
import { fetchKeyList, serverUrl, type KeyListCode, type VerifiedKeyList } from './key-list.ts';
import { sendLoadTransfer, waitForCredit, type BankCredentials } from './load.ts';
import type { OpenedWallet } from './open.ts';

/** What registering (and asking the balance) may answer. */
export type RegisterPurseCode = KeyListCode | ClientCode | CryptoErrorCode | Extract<WalletErrorCode, 'WALLET_NOT_REGISTERED' | 'WALLET_PAYMENT_RESPONSE_INVALID'>;

export type PurseCode =
  | RegisterPurseCode
  | 'PROTO_AMOUNT_OVERFLOW'
  | Extract<WalletErrorCode, 'WALLET_LOADING_UNAVAILABLE' | 'WALLET_LOAD_TIMEOUT' | 'WALLET_PAYMENT_PARTY_CHANGED' | 'WALLET_PURSE_CURRENCY_MISMATCH' | 'WALLET_PURSE_LOAD_OPEN'>;

export type PurseProgress =
  | { phase: 'registered'; purseKey: string; paymentUrl: string; paymentPartyId: string }
  | { phase: 'transferred'; purseKey: string; amount: string; bankAccount: string }
  | { phase: 'waiting'; purseKey: string; waitedSeconds: number }
  | { phase: 'credited'; purseKey: string; amount: string; balance: string };

export type PurseDeps = {
  now: () => Date;
  fetch: Fetch;
  /** The unlocked wallet seed (the purse key is derived from it). */
  seed: Uint8Array;
  /** Opens identity-key.pem: the registration is signed by the wallet's certified key. */
  passphrase: string;
  progress?: (p: PurseProgress) => void;
  /** How long to wait for the credit before giving up (the load can be resumed). Default 5 minutes. */
  waitTimeoutMs?: number;
  /** Seconds per long poll; default 20. */
  pollSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
};

/** What registering needs (BuyDeps has it all). */
export type RegisterPurseDeps = Pick<PurseDeps, 'now' | 'fetch' | 'seed' | 'passphrase' | 'progress'>;

/** What finishing a stored load needs: no secret (the row names the purse key and both accounts). */
export type ResumePurseDeps = Omit<PurseDeps, 'seed' | 'passphrase'>;

export type RegisteredPurse = { purseKey: string; paymentUrl: string; paymentPartyId: string };

function registered(row: WalletPurseTable): RegisteredPurse {
  return { purseKey: row.purse_key, paymentUrl: row.payment_url, paymentPartyId: row.payment_party_id };
}

function findPurse(wallet: OpenedWallet, paymentUrl: string): Promise<WalletPurseTable | undefined> {
  return wallet.db.selectFrom('wallet_purses').selectAll().where('payment_url', '=', paymentUrl).executeTakeFirst();
}

/** The purses this wallet registered, oldest first. */
export function listPurses(wallet: OpenedWallet): Promise<WalletPurseTable[]> {
  return wallet.db.selectFrom('wallet_purses').selectAll().orderBy('registered_at').orderBy('payment_url').execute();
}

async function purseKeyOf(seed: Uint8Array): Promise<string> {
  return encodeBase64url((await derivePurse(seed)).publicKeyBytes);
}

// ---------------------------------------------------------------- registration

/** POST /v1/purses with a registration signed by `signer` and the purse key, for the party that signed `keys`. */
async function registerAt(wallet: OpenedWallet, signer: CertifiedSigner, keys: VerifiedKeyList, deps: RegisterPurseDeps): Promise<Result<RegisteredPurse, RegisterPurseCode>> {
  const purse = await derivePurse(deps.seed);
  const purseKey = encodeBase64url(purse.publicKeyBytes);
  const doc: PurseRegistration = { typ: PURSE_REGISTRATION_TYP, partyId: signer.partyId, purseKey, paymentServerId: keys.partyId, time: deps.now().toISOString() };
  const registration = await signDocument({ payload: doc, ...signer.signer(PURSE_REGISTRATION_TYP) });
  const purseSignature = encodeBase64url(await signEd25519(purse.privateKey, purseRegistrationSigningBytes(doc)));
  const answer = await callJson(deps.fetch, 'payment', keys.paymentUrl, {
    method: 'POST',
    path: '/v1/purses',
    body: { registration, purseSignature },
    schema: PurseView,
    what: 'the purse registration',
  });
  if (!answer.ok) return answer;
  const view = answer.value.value;
  if (view.purseKey !== purseKey || view.partyId !== signer.partyId) {
    return err('WALLET_PAYMENT_RESPONSE_INVALID', `the payment server answered the purse registration with purse ${view.purseKey} of ${view.partyId}, not ours (${purseKey} of ${signer.partyId})`);
  }
  // Two processes registering at once both get the server's 200/201: the first row stays.
  await wallet.db
    .insertInto('wallet_purses')
    .values({ payment_url: keys.paymentUrl, payment_party_id: keys.partyId, purse_key: purseKey, party_id: signer.partyId, registered_at: view.registeredAt })
    .onConflict((oc) => oc.column('payment_url').doNothing())
    .execute();
  const row = (await findPurse(wallet, keys.paymentUrl))!;
  deps.progress?.({ phase: 'registered', purseKey: row.purse_key, paymentUrl: row.payment_url, paymentPartyId: row.payment_party_id });
  return ok(registered(row));
}

const NOT_REGISTERED_WHY = 'a purse is registered to your certified identity — run `quittance wallet register` first';

/**
 * The wallet's purse at `paymentUrl`, registered there first if it is not yet
 * (the server is verified through its signed key list, and the URL stays bound
 * to the party that signed it). Already registered: the stored row, without
 * any network call or passphrase.
 */
export async function registerPurse(wallet: OpenedWallet, paymentUrl: string, deps: RegisterPurseDeps): Promise<Result<RegisteredPurse, RegisterPurseCode>> {
  const url = serverUrl(paymentUrl, 'payment URL');
  const row = await findPurse(wallet, url);
  if (row) return ok(registered(row));
  // The identity first: an unregistered wallet is refused before anything is sent.
  const signer = await certifiedSigner(wallet, deps.passphrase, NOT_REGISTERED_WHY);
  if (!signer.ok) return signer;
  const keys = await fetchKeyList(wallet, url, deps);
  if (!keys.ok) return keys;
  return registerAt(wallet, signer.value, keys.value, deps);
}

// ---------------------------------------------------------------- balance

export type PurseBalance = RegisteredPurse & {
  /** Whether the purse is registered at this payment server yet (`wallet load --into purse` or `wallet buy --mode account` registers it). */
  registered: boolean;
  /** False while no load has reached the purse: `view` is then all zeros. */
  loaded: boolean;
  view: ReserveView;
};

export type PurseBalanceDeps = {
  now: () => Date;
  fetch: Fetch;
  /** Needed only for a purse not registered at this payment server yet (its key is derived). */
  seed?: Uint8Array;
  /** Gives up on the payment server after this long; default 30 s. */
  timeoutMs?: number;
};

/** GET /v1/reserves/:key now: the view, or undefined when no load has reached it. */
async function reserveNow(fetchFn: Fetch, paymentUrl: string, key: string, timeoutMs?: number): Promise<Result<ReserveView | undefined, ClientCode>> {
  const r = await callJson(fetchFn, 'payment', paymentUrl, { method: 'GET', path: `/v1/reserves/${key}?wait=0`, schema: ReserveView, what: 'the purse query', ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  if (r.ok) return r.value.value.reservePub === key ? ok(r.value.value) : err('WALLET_PAYMENT_RESPONSE_INVALID', `the payment server answered the query of purse ${key} with reserve ${r.value.value.reservePub}`);
  return r.code === 'PAY_RESERVE_UNKNOWN' ? ok(undefined) : r;
}

/** Which currency an empty purse is shown in: the caller's, else its last load's, else the server's first. */
async function emptyCurrency(wallet: OpenedWallet, paymentUrl: string, wanted: string | undefined): Promise<string | undefined> {
  if (wanted !== undefined) return wanted;
  const load = await wallet.db.selectFrom('wallet_purse_loads').select('currency').where('payment_url', '=', paymentUrl).orderBy('created_at', 'desc').executeTakeFirst();
  if (load) return load.currency;
  const key = await wallet.db.selectFrom('wallet_denominations').select('currency').where('payment_url', '=', paymentUrl).orderBy('currency').executeTakeFirst();
  return key?.currency;
}

/**
 * What the purse at `paymentUrl` holds, as the payment server says
 * (GET /v1/reserves/:purseKey: credited, withdrawn, paid, balance). A purse
 * nothing has reached yet is a zero view in `opts.currency` (else the currency
 * of its last load, else the first the server's keys are in), `loaded: false`.
 * A purse that holds another currency than `opts.currency` is shown as it is:
 * compare `view.currency`.
 */
export async function purseBalance(wallet: OpenedWallet, paymentUrl: string, deps: PurseBalanceDeps, opts: { currency?: string } = {}): Promise<Result<PurseBalance, RegisterPurseCode>> {
  const url = serverUrl(paymentUrl, 'payment URL');
  const row = await findPurse(wallet, url);
  let purse: RegisteredPurse;
  if (row) purse = registered(row);
  else {
    if (deps.seed === undefined) throw new TypeError('seed: needed for a purse not registered at this payment server');
    const keys = await fetchKeyList(wallet, url, deps);
    if (!keys.ok) return keys;
    purse = { purseKey: await purseKeyOf(deps.seed), paymentUrl: url, paymentPartyId: keys.value.partyId };
  }
  const r = await reserveNow(deps.fetch, url, purse.purseKey, deps.timeoutMs);
  if (!r.ok) return r;
  if (r.value) return ok({ ...purse, registered: row !== undefined, loaded: true, view: r.value });
  const currency = await emptyCurrency(wallet, url, opts.currency);
  const zero = currency === undefined ? undefined : makeAmount(currency, 0n);
  if (!zero?.ok) return err('WALLET_PAYMENT_RESPONSE_INVALID', `the payment server at ${url} names no currency this wallet knows for an empty purse`);
  const z = formatAmount(zero.value);
  const view: ReserveView = { reservePub: purse.purseKey, currency: zero.value.currency, credited: z, withdrawn: z, paid: z, balance: z, createdAt: row?.registered_at ?? deps.now().toISOString() };
  return ok({ ...purse, registered: row !== undefined, loaded: false, view });
}

// ---------------------------------------------------------------- loading

export type PurseLoadOutcome = { loadId: string; purseKey: string; paymentUrl: string; amount: string; state: PurseLoadState; balance?: string };

/** The bank transfer id of a purse load: a repeat after a crash is the same transfer. */
export function purseLoadTransferId(loadId: string): string {
  return `purse-load-${loadId}`;
}

async function setLoadState(wallet: OpenedWallet, loadId: string, state: PurseLoadState, now: Date): Promise<void> {
  await wallet.db.updateTable('wallet_purse_loads').set({ state, updated_at: now.toISOString() }).where('load_id', '=', loadId).execute();
}

function loadRow(wallet: OpenedWallet, loadId: string): Promise<WalletPurseLoadTable> {
  return wallet.db.selectFrom('wallet_purse_loads').selectAll().where('load_id', '=', loadId).executeTakeFirstOrThrow();
}

/** Steps 2 and 3 for a load in any state; the bank token is needed only while the transfer may not have reached the bank. */
async function continuePurseLoad(wallet: OpenedWallet, load: WalletPurseLoadTable, token: string | undefined, deps: ResumePurseDeps): Promise<Result<PurseLoadOutcome, PurseCode>> {
  const amount = formatAmount({ currency: load.currency, minor: load.amount });
  const outcome = (balance?: string): PurseLoadOutcome => ({ loadId: load.load_id, purseKey: load.purse_key, paymentUrl: load.payment_url, amount, state: load.state, ...(balance !== undefined ? { balance } : {}) });
  if (load.state === 'created') {
    if (token === undefined) return err('WALLET_LOADING_UNAVAILABLE', 'this purse load has not reached the bank yet: give the bank token to resume it');
    // Byte for byte what was (maybe) sent before: same id, same accounts, same amount and subject.
    const t = await sendLoadTransfer(deps.fetch, { bankUrl: load.bank_url, account: load.bank_account, token }, { transferId: load.bank_transfer_id, to: load.payment_bank_account, amount, subject: load.purse_key });
    if (!t.ok) {
      // Unlike a coin load, closing a purse load loses nothing even if the
      // transfer was made after all (an earlier answer lost, a token now
      // wrong): the money lands in the purse anyway, only the wait ends. So a
      // debited account the bank does not know (a wrong --account) closes it
      // too, instead of blocking every later load of this purse.
      if (t.neverMade === true || t.code === 'BANK_ACCOUNT_NOT_FOUND') await setLoadState(wallet, load.load_id, 'closed', deps.now());
      return err(t.code, t.message, t.details);
    }
    await setLoadState(wallet, load.load_id, 'transferred', deps.now());
    deps.progress?.({ phase: 'transferred', purseKey: load.purse_key, amount, bankAccount: load.payment_bank_account });
    load = await loadRow(wallet, load.load_id);
  }
  if (load.state === 'transferred') {
    const target = { paymentUrl: load.payment_url, key: load.purse_key, currency: load.currency, credited: load.target_credited, what: 'purse' } as const;
    const w = await waitForCredit(target, deps, (waitedSeconds) => deps.progress?.({ phase: 'waiting', purseKey: load.purse_key, waitedSeconds }));
    if (!w.ok) return w;
    await setLoadState(wallet, load.load_id, 'credited', deps.now());
    deps.progress?.({ phase: 'credited', purseKey: load.purse_key, amount, balance: w.value.balance });
    load = await loadRow(wallet, load.load_id);
    return ok(outcome(w.value.balance));
  }
  return ok(outcome());
}

function newLoadId(): string {
  return `pl_${encodeBase64url(crypto.getRandomValues(new Uint8Array(16)))}`;
}

/**
 * Loads `amount` from the shopper's bank account into the wallet's purse at
 * `paymentUrl` (registered there first if needed): the money stays at the
 * payment server, for `wallet buy --mode account`.
 */
export async function loadPurse(wallet: OpenedWallet, params: { paymentUrl: string; amount: Amount; bank: BankCredentials }, deps: PurseDeps): Promise<Result<PurseLoadOutcome, PurseCode>> {
  const paymentUrl = serverUrl(params.paymentUrl, 'payment URL');
  const bankUrl = serverUrl(params.bank.bankUrl, 'bank URL');
  const currency = params.amount.currency;
  if (params.amount.minor <= 0n) throw new TypeError('amount: must be positive');
  const stored = await findPurse(wallet, paymentUrl);
  // An unregistered wallet is refused before anything is sent.
  const signer = stored ? undefined : await certifiedSigner(wallet, deps.passphrase, NOT_REGISTERED_WHY);
  if (signer && !signer.ok) return signer;
  // Checked before any money moves: the key list must verify (the same party as at registration) and name a bank account.
  const keys = await fetchKeyList(wallet, paymentUrl, deps);
  if (!keys.ok) return keys;
  if (stored && stored.payment_party_id !== keys.value.partyId) {
    return err('WALLET_PAYMENT_PARTY_CHANGED', `the key list at ${paymentUrl} is signed by payment party ${keys.value.partyId}, but your purse there is registered with ${stored.payment_party_id}; refusing it`);
  }
  const to = keys.value.loading.find((l) => l.currency === currency);
  if (!to) return err('WALLET_LOADING_UNAVAILABLE', `the payment server takes no loads in ${currency}`);
  const open = await wallet.db.selectFrom('wallet_purse_loads').select(['load_id', 'currency', 'amount']).where('payment_url', '=', paymentUrl).where('state', 'in', ['created', 'transferred']).executeTakeFirst();
  if (open) {
    // Its credit would count toward this load's target: finish it first.
    return err('WALLET_PURSE_LOAD_OPEN', `a load of ${formatAmount({ currency: open.currency, minor: open.amount })} into this purse (${open.load_id}) is not finished: run \`quittance wallet load --resume\` first`);
  }
  let purse: RegisteredPurse;
  if (stored) purse = registered(stored);
  else {
    const r = await registerAt(wallet, signer!.value, keys.value, deps);
    if (!r.ok) return r;
    purse = r.value;
  }
  const now = await reserveNow(deps.fetch, paymentUrl, purse.purseKey);
  if (!now.ok) return now;
  let before = 0n;
  if (now.value) {
    const credited = parseAmount(now.value.credited);
    if (!credited.ok) return err('WALLET_PAYMENT_RESPONSE_INVALID', `the payment server shows purse ${purse.purseKey} credited with ${now.value.credited}`);
    if (credited.value.currency !== currency) {
      return err('WALLET_PURSE_CURRENCY_MISMATCH', `your purse at ${paymentUrl} holds ${credited.value.currency}; a load in ${currency} would be sent back. Pay in ${credited.value.currency}, or load ${currency} as coins`);
    }
    before = credited.value.minor;
  }
  const target = makeAmount(currency, before + params.amount.minor);
  if (!target.ok) return err('PROTO_AMOUNT_OVERFLOW', `the purse would hold more than the largest amount (credited so far: ${now.value?.credited ?? '0'})`);
  const loadId = newLoadId();
  const at = deps.now().toISOString();
  // Stored before the transfer: from here on a crash is finished by `resumePurseLoads`.
  await wallet.db
    .insertInto('wallet_purse_loads')
    .values({
      load_id: loadId,
      purse_key: purse.purseKey,
      payment_url: paymentUrl,
      currency,
      amount: params.amount.minor,
      target_credited: target.value.minor,
      bank_transfer_id: purseLoadTransferId(loadId),
      bank_url: bankUrl,
      bank_account: params.bank.account,
      payment_bank_account: to.bankAccount,
      state: 'created',
      created_at: at,
      updated_at: at,
    })
    .execute();
  return continuePurseLoad(wallet, await loadRow(wallet, loadId), params.bank.token, deps);
}

export type PurseResumeOutcome = { resumed: PurseLoadOutcome[]; failed: { loadId: string; purseKey: string; paymentUrl: string; code: string; message: string }[] };

/**
 * Finishes every purse load left unfinished (oldest first). The bank token is
 * needed only for a load whose transfer may not have reached the bank.
 */
export async function resumePurseLoads(wallet: OpenedWallet, bankToken: string | undefined, deps: ResumePurseDeps): Promise<PurseResumeOutcome> {
  const open = await wallet.db.selectFrom('wallet_purse_loads').selectAll().where('state', 'in', ['created', 'transferred']).orderBy('created_at').orderBy('load_id').execute();
  const out: PurseResumeOutcome = { resumed: [], failed: [] };
  for (const load of open) {
    const done = await continuePurseLoad(wallet, load, bankToken, deps);
    if (done.ok) out.resumed.push(done.value);
    else out.failed.push({ loadId: load.load_id, purseKey: load.purse_key, paymentUrl: load.payment_url, code: done.code, message: done.message });
  }
  return out;
}

// ---------------------------------------------------------------- every purse, for `wallet balance`

/** One registered purse as `wallet balance` shows it: its amounts, or why the payment server could not say. */
export type PurseBalanceEntry = { paymentUrl: string; paymentPartyId: string; purseKey: string; registeredAt: string } & (
  | { loaded: boolean; currency: string; credited: string; withdrawn: string; paid: string; balance: string }
  | { error: { code: string; message: string } }
);

/**
 * Asks each payment server where this wallet has a purse what it holds. A
 * server that cannot answer is reported in its own entry; the others still are.
 */
export async function registeredPurseBalances(wallet: OpenedWallet, deps: Omit<PurseBalanceDeps, 'seed'>): Promise<PurseBalanceEntry[]> {
  const out: PurseBalanceEntry[] = [];
  for (const row of await listPurses(wallet)) {
    const head = { paymentUrl: row.payment_url, paymentPartyId: row.payment_party_id, purseKey: row.purse_key, registeredAt: row.registered_at };
    const b = await purseBalance(wallet, row.payment_url, deps);
    if (!b.ok) {
      out.push({ ...head, error: { code: b.code, message: b.message } });
      continue;
    }
    const v = b.value.view;
    out.push({ ...head, loaded: b.value.loaded, currency: v.currency, credited: v.credited, withdrawn: v.withdrawn, paid: v.paid ?? formatAmount({ currency: v.currency, minor: 0n }), balance: v.balance });
  }
  return out;
}
