// The purchase from the shopper's side (DESIGN §2, EP 0 848 343 figs. 5–16):
//
//   110/120  hello: a fresh nonce; the merchant's signed answer must chain to
//            our CA root as a `merchant`, unrevoked, echoing the nonce. The
//            shopper sees the CERTIFIED identity and says OK or stops.
//   130/140  order from the catalogue (or a shop API offer's lines, GET
//            /v1/offers/:offerId, ordered exactly), signed with the identity key (x5c) or a
//            per-order key derived from the seed (jwk, anonymous); the invoice
//            must be the same merchant's answer to exactly this order, and its
//            payment server chain must validate as that `payment` party. The
//            shopper sees the invoice (fig. 15) and says OK or stops.
//            → the purchase is stored (INVOICED) before any payment message.
//   150/160  the invoice countersigned with the order's key and a money
//            reception request, both stored before they are sent (ACCEPTED).
//   170/180  coins of that payment server given to this purchase (marked
//            spent, once) and change coins stored pending, the signed request
//            stored, then sent (PAYING); the receipt must come from the
//            invoice's payment server and match the invoice; change unblinded
//            and verified; one transaction makes the purchase PAID.
//   210/190  the receipt copy to the merchant; its signed completion is kept
//            (COMPLETED). A merchant without the endpoint (404) leaves it PAID.
//
// Every step is recorded before the next and every request is stored before
// it is sent, so `resumePurchases` repeats the identical requests after a
// crash or a lost answer; the servers answer repeats with the same signed
// documents and charge once.
import { randomBytes } from 'node:crypto';
import type { CryptoErrorCode } from '../crypto/index.ts';
import { formatAmount, multiplyAmount, parseAmount, sumAmounts, type Amount } from '../protocol/amount.ts';
import { decodeBase64url, encodeBase64url } from '../protocol/base64url.ts';
import { INVOICE_TYP, JwsGeneral, MONEY_RECEPTION_REQUEST_TYP, ORDER_TYP, type Line, type MoneyReceptionRequest, type Order, type Receipt } from '../protocol/documents/index.ts';
import { signEd25519 } from '../protocol/ed25519.ts';
import { countersign, documentHash, signDocument, type GeneralJws, type SignerOptions } from '../protocol/jws.ts';
import { CatalogueView, CompletionResponse, PaymentRequest, PaymentStateAnswer } from '../protocol/messages/merchant.ts';
import { OfferView } from '../protocol/messages/shop.ts';
import { accountPaymentSigningBytes, AccountPaymentResponse, CoinStateView, ecashPaymentSigningBytes, EcashPaymentResponse, MAX_COINS, MAX_ENVELOPES, type AccountPaymentBody, type AccountPaymentRequest, type EcashPaymentBody, type EcashPaymentRequest } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { blind, blindingFactorFromSeed, finalize, type BlindRsaErrorCode } from '../protocol/rfc9474.ts';
import { pemToDer } from '../protocol/x509/index.ts';
import { getCrl, type CaClientCode } from './ca-client.ts';
import type { PurchaseState, WalletPurchaseTable } from './db.ts';
import { certifiedSigner } from './certified.ts';
import { chooseCoins, consolidateFor, resumeConsolidation, spendableCoins } from './consolidate.ts';
import { deriveCoin, derivePurse } from './derive.ts';
import type { WalletErrorCode } from './errors.ts';
import { callJson, type ClientCode, type Fetch } from './http-client.ts';
import { denominationKey, serverUrl } from './key-list.ts';
import type { OpenedWallet } from './open.ts';
import { allocateOrderKey, deriveOrderKey } from './order-key.ts';
import { checkCompletion, checkHello, checkInvoice, checkReceipt, checkReception, partyView, type CheckCode, type CheckedInvoice, type PartyView, type Trust } from './purchase-checks.ts';
import { storePendingCoins } from './pending-coins.ts';
import { purseBalance, registerPurse } from './purse.ts';
import { readIdentity } from './register.ts';
import { planCoins, withdrawableKeys } from './withdraw.ts';

export type BuyCode = ClientCode | CaClientCode | CheckCode | CryptoErrorCode | BlindRsaErrorCode | WalletErrorCode;

/** What the shopper is asked to accept; `confirm` answers true for OK. */
export type BuyPrompt = { kind: 'merchant'; merchant: PartyView; merchantUrl: string } | { kind: 'invoice'; invoice: InvoiceView };

export type BuyEvent =
  | { kind: 'stored'; purchaseId: string; transactionId: string }
  | { kind: 'accepted'; transactionId: string }
  /** Mode ecash: coins given and change asked for; mode account: the purse debited (coins 0). */
  | { kind: 'paying'; transactionId: string; coins: number; change: string; purseKey?: string }
  | { kind: 'receipt'; receipt: ReceiptView }
  | { kind: 'completion'; transactionId: string; state: 'stored' | 'not-offered' | 'failed'; code?: string; message?: string };

export type BuyDeps = {
  now: () => Date;
  fetch: Fetch;
  /** The unlocked wallet seed: coin, change and anonymous order keys. */
  seed: Uint8Array;
  /** Opens identity-key.pem for a certified purchase. */
  passphrase: string;
  /** The trusted display: the shopper's OK (true) or Cancel (false). */
  confirm: (p: BuyPrompt) => Promise<boolean>;
  display?: (e: BuyEvent) => void;
};

export type BuyItem = { article: string; quantity: number };

/** The payment modes the wallet pays in. */
export type PayMode = 'ecash' | 'account';

export type BuyParams = {
  merchantUrl: string;
  items: readonly BuyItem[];
  /**
   * A shop API offer (payment URI `offer=`) instead of items: its lines, as the
   * shop priced them, are read from GET /v1/offers/:offerId and ordered exactly.
   */
  offer?: string;
  anonymous: boolean;
  mode: string;
};

/** The invoice as fig. 15 shows it: every field from the verified, signed invoice. */
export type InvoiceView = {
  transactionId: string;
  purchaserId: string;
  lines: { article: string; name: string; quantity: number; unitPrice: string }[];
  amount: string;
  paymentMode: string;
  shop: { id: string; name: string };
  paymentServer: { id: string; name: string; fingerprint: string };
  paymentAddress: string;
  billTime: string;
  paymentDueTime: string;
  refundDeadline: string;
};

/** The receipt as fig. 16 shows it. */
export type ReceiptView = {
  transactionId: string;
  purchaserId: string;
  amountReceived: string;
  mode: string;
  shop: { id: string; name: string };
  recipient: { id: string; name: string };
  time: string;
  invoiceHash: string;
};

export type PurchaseOutcome = {
  purchaseId: string;
  transactionId: string;
  state: PurchaseState;
  receipt: ReceiptView;
  /** Change received as fresh coins. */
  change: string;
  completion: 'stored' | 'not-offered' | 'failed';
};

/** Parses one `--item "NAME:QTY"` (the name may itself contain colons; QTY defaults to 1). */
export function parseItem(raw: string): Result<BuyItem, 'WALLET_ARTICLE_UNKNOWN'> {
  const m = /^(.+?)(?::(\d{1,7}))?$/.exec(raw.trim());
  const quantity = m?.[2] === undefined ? 1 : Number(m[2]);
  if (!m || m[1]!.trim() === '' || !Number.isSafeInteger(quantity) || quantity < 1) return err('WALLET_ARTICLE_UNKNOWN', `--item must be "ARTICLE:QUANTITY", got ${JSON.stringify(raw)}`);
  return ok({ article: m[1]!.trim(), quantity });
}

function parseJws(text: string): GeneralJws {
  return JSON.parse(text) as GeneralJws;
}

function payloadOf<T>(jws: GeneralJws): { value: T; bytes: Uint8Array } {
  const bytes = decodeBase64url(jws.payload)!;
  return { value: JSON.parse(new TextDecoder().decode(bytes)) as T, bytes };
}

function invoiceView(c: CheckedInvoice): InvoiceView {
  const i = c.invoice;
  return {
    transactionId: i.transactionId,
    purchaserId: i.purchaserId,
    lines: i.lines.map((l) => ({ article: l.article, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice })),
    amount: i.amount,
    paymentMode: i.paymentMode,
    shop: { ...i.shop },
    paymentServer: { id: c.paymentServer.partyId, name: c.paymentServer.displayName, fingerprint: partyView(c.paymentServer).fingerprint },
    paymentAddress: i.paymentAddress,
    billTime: i.billTime,
    paymentDueTime: i.paymentDueTime,
    refundDeadline: i.refundDeadline,
  };
}

export function receiptView(r: Receipt): ReceiptView {
  return { transactionId: r.transactionId, purchaserId: r.purchaserId, amountReceived: r.amountReceived, mode: r.mode, shop: { ...r.shop }, recipient: { ...r.recipient }, time: r.time, invoiceHash: r.invoiceHash };
}

// ---------------------------------------------------------------- trust and keys

async function trustOf(wallet: OpenedWallet, deps: Pick<BuyDeps, 'fetch'>): Promise<Result<Trust, BuyCode>> {
  const identity = await readIdentity(wallet);
  const rootDer = identity?.ca_root_pem == null ? undefined : pemToDer(identity.ca_root_pem, 'CERTIFICATE');
  if (!identity || !rootDer) return err('WALLET_NOT_REGISTERED', 'the wallet trusts no CA yet: run `quittance wallet register` first (the shop and the payment server are checked against its CA)');
  // Fresh for every purchase: a merchant revoked since yesterday must be refused today.
  const crl = await getCrl(deps.fetch, identity.ca_url);
  if (!crl.ok) return crl;
  return ok({ root: rootDer, crls: [crl.value] });
}

export type Purchaser = { id: string; kind: 'certified' | 'anonymous'; orderKeyIndex: number | null; signer: (typ: string) => SignerOptions };

async function certifiedPurchaser(wallet: OpenedWallet, deps: Pick<BuyDeps, 'passphrase'>): Promise<Result<Purchaser, BuyCode>> {
  const c = await certifiedSigner(wallet, deps.passphrase, 'register it first, or buy with --anonymous');
  if (!c.ok) return c;
  return ok({ id: c.value.partyId, kind: 'certified', orderKeyIndex: null, signer: c.value.signer });
}

async function anonymousPurchaser(seed: Uint8Array, index: number): Promise<Purchaser> {
  const k = await deriveOrderKey(seed, index);
  return { id: k.thumbprint, kind: 'anonymous', orderKeyIndex: index, signer: (typ) => ({ typ, privateKey: k.privateKey, alg: 'EdDSA', jwk: k.jwk }) };
}

/** The key that signed the order of `row`: the same key must countersign its invoice (and later ask for refunds). */
async function purchaserOf(wallet: OpenedWallet, row: WalletPurchaseTable, deps: Pick<BuyDeps, 'seed' | 'passphrase'>): Promise<Result<Purchaser, BuyCode>> {
  if (row.purchaser_kind === 'anonymous') return ok(await anonymousPurchaser(deps.seed, row.order_key_index!));
  const p = await certifiedPurchaser(wallet, deps);
  if (p.ok && p.value.id !== row.purchaser_id) return err('WALLET_IDENTITY_EXISTS', `this purchase was made as ${row.purchaser_id}, the wallet is now ${p.value.id}`);
  return p;
}

// ---------------------------------------------------------------- funds

function total(coins: readonly { value: bigint }[]): bigint {
  return coins.reduce((s, c) => s + c.value, 0n);
}

// ---------------------------------------------------------------- 110 → 140

function randomNonce(): string {
  return encodeBase64url(new Uint8Array(randomBytes(16)));
}

function orderLines(catalogue: CatalogueView, items: readonly BuyItem[]): Result<{ lines: Line[]; total: Amount }, BuyCode> {
  const lines: Line[] = [];
  const priced: Amount[] = [];
  for (const item of items) {
    const a = catalogue.articles.find((x) => x.id === item.article) ?? catalogue.articles.find((x) => x.name === item.article);
    if (!a) return err('WALLET_ARTICLE_UNKNOWN', `the shop sells no article called ${JSON.stringify(item.article)} (see its catalogue)`);
    const price = parseAmount(a.unitPrice);
    if (!price.ok) return err('WALLET_MERCHANT_RESPONSE_INVALID', `the catalogue price of ${a.id} is not an amount`);
    const line = multiplyAmount(price.value, item.quantity);
    if (!line.ok) return err('WALLET_ARTICLE_UNKNOWN', `${item.quantity} × ${a.unitPrice} is too large an amount`);
    lines.push({ article: a.id, name: a.name, quantity: item.quantity, unitPrice: a.unitPrice });
    priced.push(line.value);
  }
  const currency = priced[0]!.currency;
  const sum = sumAmounts(currency, priced);
  if (!sum.ok) return err('WALLET_MERCHANT_RESPONSE_INVALID', `the articles cannot be paid together: ${sum.message}`);
  return ok({ lines, total: sum.value });
}

/** The lines of a shop API offer, as shown in the invoice prompt like catalogue lines; only an open offer of this shop. */
async function offerLines(deps: Pick<BuyDeps, 'fetch'>, merchantUrl: string, offerId: string, merchantId: string): Promise<Result<{ lines: Line[]; total: Amount }, BuyCode>> {
  const got = await callJson(deps.fetch, 'merchant', merchantUrl, { method: 'GET', path: `/v1/offers/${encodeURIComponent(offerId)}`, schema: OfferView, what: 'the offer request' });
  if (!got.ok) return got;
  const offer = got.value.value;
  if (offer.offerId !== offerId || offer.merchant.id !== merchantId) {
    return err('WALLET_MERCHANT_MISMATCH', `the offer answered is ${offer.offerId} of shop ${offer.merchant.id}, not ${offerId} of the certified merchant ${merchantId}`);
  }
  // The shop's own word on the offer; the order would be refused with the same code.
  if (offer.state !== 'open') return err(offer.state === 'taken' ? 'MERCHANT_OFFER_TAKEN' : 'MERCHANT_OFFER_EXPIRED', `the shop says offer ${offerId} is ${offer.state}; nothing was ordered`);
  const total = parseAmount(offer.amount);
  if (!total.ok) return err('WALLET_MERCHANT_RESPONSE_INVALID', 'the offer amount is not an amount');
  return ok({ lines: offer.lines.map((l) => ({ article: l.article, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice })), total: total.value });
}

function purchaseId(merchantId: string, transactionId: string): string {
  return `${merchantId}/${transactionId}`;
}

/** Runs 110–190 for a new purchase. */
export async function buy(wallet: OpenedWallet, params: BuyParams, deps: BuyDeps): Promise<Result<PurchaseOutcome, BuyCode>> {
  if (params.mode !== 'ecash' && params.mode !== 'account') return err('WALLET_PAYMENT_MODE_UNAVAILABLE', `unknown payment mode ${params.mode}: use ecash or account`);
  const mode: PayMode = params.mode;
  if (mode === 'account' && params.anonymous) {
    return err('WALLET_PAYMENT_MODE_UNAVAILABLE', 'an account payment names you (the purse is registered to your certified identity); pay anonymous purchases with e-money (--mode ecash)');
  }
  if (params.offer === undefined && params.items.length === 0) return err('WALLET_ARTICLE_UNKNOWN', 'name at least one --item');
  if (params.offer !== undefined && params.items.length > 0) return err('WALLET_ARTICLE_UNKNOWN', 'an offer is bought as the shop made it: no items with it');
  const merchantUrl = serverUrl(params.merchantUrl, 'merchant URL');
  const trust = await trustOf(wallet, deps);
  if (!trust.ok) return trust;

  // 110/120.
  const nonce = randomNonce();
  const hello = await callJson(deps.fetch, 'merchant', merchantUrl, { method: 'POST', path: '/v1/hello', body: { nonce }, schema: JwsGeneral, what: 'the hello' });
  if (!hello.ok) return hello;
  const helloJws = hello.value.value;
  const checkedHello = await checkHello(helloJws, nonce, trust.value, deps.now());
  if (!checkedHello.ok) return checkedHello;
  const merchant = checkedHello.value.merchant;
  if (!(await deps.confirm({ kind: 'merchant', merchant: partyView(merchant), merchantUrl }))) return err('WALLET_CANCELLED', 'you did not accept the merchant; nothing was ordered');

  // 130: the order, from the catalogue.
  const catalogue = await callJson(deps.fetch, 'merchant', merchantUrl, { method: 'GET', path: '/v1/catalogue', schema: CatalogueView, what: 'the catalogue request' });
  if (!catalogue.ok) return catalogue;
  if (catalogue.value.value.merchant.id !== merchant.partyId) {
    return err('WALLET_MERCHANT_MISMATCH', `the catalogue is of shop ${catalogue.value.value.merchant.id}, the certified merchant here is ${merchant.partyId}`);
  }
  if (!catalogue.value.value.paymentModes.includes(mode)) return err('WALLET_PAYMENT_MODE_UNAVAILABLE', `the shop does not take payment mode ${mode} (it takes ${catalogue.value.value.paymentModes.join(', ')})`);
  const priced = params.offer !== undefined ? await offerLines(deps, merchantUrl, params.offer, merchant.partyId) : orderLines(catalogue.value.value, params.items);
  if (!priced.ok) return priced;
  if (mode === 'ecash') {
    // Coins in an unfinished swap are not spendable until the swap is finished.
    const swaps = await resumeConsolidation(wallet, deps);
    if (!swaps.ok) return swaps;
    // Refused before the order is signed: nothing is sent that the wallet cannot pay.
    const held = total(await spendableCoins(wallet, priced.value.total.currency, deps.now()));
    if (held < priced.value.total.minor) {
      return err('WALLET_INSUFFICIENT_FUNDS', `the order costs ${formatAmount(priced.value.total)} but the wallet holds ${formatAmount({ currency: priced.value.total.currency, minor: held })}; load more first`);
    }
  }
  // (Mode account: the purse is at the payment server the invoice names, checked once the invoice is here.)

  let purchaser: Purchaser;
  if (params.anonymous) {
    const index = await wallet.db.transaction().execute((tx) => allocateOrderKey(tx, deps.now()));
    purchaser = await anonymousPurchaser(deps.seed, index);
  } else {
    const p = await certifiedPurchaser(wallet, deps);
    if (!p.ok) return p;
    purchaser = p.value;
  }
  const order: Order = {
    typ: ORDER_TYP,
    orderId: randomNonce(),
    merchantId: merchant.partyId,
    purchaserId: purchaser.id,
    lines: priced.value.lines,
    total: formatAmount(priced.value.total),
    paymentMode: mode,
    sellingConditionsHash: catalogue.value.value.sellingConditions.hash,
    time: deps.now().toISOString(),
    ...(params.offer !== undefined ? { offerId: params.offer } : {}),
  };
  const orderJws = await signDocument({ payload: order, ...purchaser.signer(ORDER_TYP) });
  const orderHash = await documentHash(decodeBase64url(orderJws.payload)!);

  // 140.
  const answer = await callJson(deps.fetch, 'merchant', merchantUrl, { method: 'POST', path: '/v1/orders', body: { order: orderJws }, schema: PaymentRequest, what: 'the order' });
  if (!answer.ok) return answer;
  const pr = answer.value.value;
  const checked = await checkInvoice({ invoiceJws: pr.invoice, paymentServerChain: pr.paymentServerChain, order, orderHash, merchantId: merchant.partyId }, trust.value, deps.now(), true);
  if (!checked.ok) return checked;
  if (pr.transactionId !== checked.value.invoice.transactionId) return err('WALLET_INVOICE_MISMATCH', 'the payment request names another transaction than its invoice', { field: 'transactionId' });
  const amount = parseAmount(checked.value.invoice.amount);
  if (!amount.ok || amount.value.minor <= 0n) return err('WALLET_INVOICE_MISMATCH', 'the invoice amount is not a positive amount', { field: 'amount' });
  if (mode === 'ecash' && total(await spendableCoins(wallet, amount.value.currency, deps.now(), checked.value.paymentServer.partyId)) < amount.value.minor) {
    return err('WALLET_INSUFFICIENT_FUNDS', `the wallet holds less than ${checked.value.invoice.amount} in coins of payment server ${checked.value.paymentServer.partyId}; nothing was paid`);
  }
  if (mode === 'account') {
    const funded = await purseCovers(wallet, checked.value.invoice.paymentAddress, checked.value.paymentServer.partyId, amount.value, deps);
    if (!funded.ok) return funded;
  }
  if (!(await deps.confirm({ kind: 'invoice', invoice: invoiceView(checked.value) }))) return err('WALLET_CANCELLED', 'you did not accept the invoice; nothing was paid');

  // Stored before the first payment message: from here on the purchase can be resumed.
  const now = deps.now().toISOString();
  const row: WalletPurchaseTable = {
    purchase_id: purchaseId(merchant.partyId, checked.value.invoice.transactionId),
    transaction_id: checked.value.invoice.transactionId,
    merchant_url: merchantUrl,
    merchant_id: merchant.partyId,
    merchant_name: merchant.displayName,
    merchant_fingerprint: merchant.fingerprint,
    payment_url: checked.value.invoice.paymentAddress,
    payment_party_id: checked.value.paymentServer.partyId,
    payment_chain: JSON.stringify(pr.paymentServerChain),
    purchaser_id: purchaser.id,
    purchaser_kind: purchaser.kind,
    order_key_index: purchaser.orderKeyIndex,
    currency: amount.value.currency,
    amount: amount.value.minor,
    payment_mode: mode,
    hello_jws: JSON.stringify(helloJws),
    order_jws: JSON.stringify(orderJws),
    invoice_jws: JSON.stringify(pr.invoice),
    invoice_hash: checked.value.invoiceHash,
    countersigned_invoice_jws: null,
    reception_request_jws: null,
    reception_response_jws: null,
    payment_request: null,
    change_request_id: null,
    receipt_jws: null,
    completion_jws: null,
    state: 'INVOICED',
    last_error: null,
    created_at: now,
    updated_at: now,
  };
  await wallet.db.insertInto('wallet_purchases').values(row).execute();
  deps.display?.({ kind: 'stored', purchaseId: row.purchase_id, transactionId: row.transaction_id });
  return continuePurchase(wallet, row, { checked: checked.value, purchaser, trust: trust.value }, deps);
}

// ---------------------------------------------------------------- 150 → 190

/** A stored purchase, verified again: its invoice, the key that signed its order, the trust of now. */
export type Context = { checked: CheckedInvoice; purchaser: Purchaser; trust: Trust };

async function reload(wallet: OpenedWallet, id: string): Promise<WalletPurchaseTable> {
  return wallet.db.selectFrom('wallet_purchases').selectAll().where('purchase_id', '=', id).executeTakeFirstOrThrow();
}

async function update(wallet: OpenedWallet, id: string, set: Partial<WalletPurchaseTable>, now: Date): Promise<void> {
  await wallet.db.updateTable('wallet_purchases').set({ ...set, updated_at: now.toISOString() }).where('purchase_id', '=', id).execute();
}

/** Records why an open purchase stopped (shown by `history`, cleared by the next success) and returns the failure. */
async function stopped<T extends { ok: false; code: string }>(wallet: OpenedWallet, id: string, failure: T, now: Date): Promise<T> {
  await update(wallet, id, { last_error: failure.code }, now);
  return failure;
}

/** 150 → 160. */
async function acceptAtPaymentServer(wallet: OpenedWallet, row: WalletPurchaseTable, ctx: Context, deps: BuyDeps): Promise<Result<void, BuyCode>> {
  if (row.countersigned_invoice_jws === null || row.reception_request_jws === null) {
    const invoiceJws = parseJws(row.invoice_jws);
    const countersigned = await countersign(invoiceJws, ctx.purchaser.signer(INVOICE_TYP));
    const request: MoneyReceptionRequest = {
      typ: MONEY_RECEPTION_REQUEST_TYP,
      transactionId: row.transaction_id,
      invoiceHash: row.invoice_hash,
      purchaserId: row.purchaser_id,
      paymentServerId: row.payment_party_id,
      time: deps.now().toISOString(),
    };
    const requestJws = await signDocument({ payload: request, ...ctx.purchaser.signer(MONEY_RECEPTION_REQUEST_TYP) });
    await update(wallet, row.purchase_id, { countersigned_invoice_jws: JSON.stringify(countersigned), reception_request_jws: JSON.stringify(requestJws) }, deps.now());
    row = await reload(wallet, row.purchase_id);
  }
  const answer = await callJson(deps.fetch, 'payment', row.payment_url, {
    method: 'POST',
    path: '/v1/money-reception',
    body: { invoice: parseJws(row.countersigned_invoice_jws!), request: parseJws(row.reception_request_jws!) },
    schema: JwsGeneral,
    what: 'the money reception request',
  });
  if (!answer.ok) return stopped(wallet, row.purchase_id, answer, deps.now());
  const checked = await checkReception(answer.value.value, ctx.checked, ctx.trust, deps.now());
  if (!checked.ok) return stopped(wallet, row.purchase_id, checked, deps.now());
  await update(wallet, row.purchase_id, { reception_response_jws: JSON.stringify(answer.value.value), state: 'ACCEPTED', last_error: null }, deps.now());
  deps.display?.({ kind: 'accepted', transactionId: row.transaction_id });
  return ok(undefined);
}

class CoinTaken extends Error {}

/**
 * 170, prepared: coins of this payment server covering the amount are marked
 * spent in this purchase (a conditional update: a coin goes to one payment
 * only), change coins are stored pending, and the request every coin signed
 * is stored — one wallet transaction, before anything is sent.
 */
async function preparePayment(wallet: OpenedWallet, row: WalletPurchaseTable, deps: BuyDeps): Promise<Result<void, BuyCode>> {
  const now = deps.now();
  const coins = chooseCoins(await spendableCoins(wallet, row.currency, now, row.payment_party_id), row.amount);
  const amount = formatAmount({ currency: row.currency, minor: row.amount });
  if (!coins) return err('WALLET_INSUFFICIENT_FUNDS', `the wallet holds less than ${amount} in coins of payment server ${row.payment_party_id}; nothing was paid`);
  if (coins.length > MAX_COINS) return err('WALLET_TOO_MANY_COINS', `${amount} needs ${coins.length} coins, more than the ${MAX_COINS} one payment may carry`);
  const change = total(coins) - row.amount;
  const keys = await wallet.db.selectFrom('wallet_denominations').selectAll().where('payment_party_id', '=', row.payment_party_id).execute();
  const signing = withdrawableKeys(keys, row.currency, now);
  const changeValues = change === 0n ? [] : planCoins(change, [...signing.keys()], MAX_ENVELOPES);
  if (!changeValues) return err('WALLET_NO_DENOMINATION', `the payment server signs no set of at most ${MAX_ENVELOPES} coins worth the change ${formatAmount({ currency: row.currency, minor: change })} now`);
  const changeRequestId = encodeBase64url(new Uint8Array(randomBytes(18)));
  try {
    await wallet.db.transaction().execute(async (tx) => {
      for (const c of coins) {
        const taken = await tx
          .updateTable('wallet_coins')
          .set({ state: 'spent', spent_in: row.purchase_id, updated_at: now.toISOString() })
          .where('coin_pub', '=', c.coin_pub)
          .where('state', '=', 'unspent')
          .executeTakeFirst();
        if (taken.numUpdatedRows !== 1n) throw new CoinTaken();
      }
      const envelopes: EcashPaymentBody['change'] = [];
      for (const { key, derived } of await storePendingCoins(tx, deps.seed, changeValues.map((v) => signing.get(v)!), changeRequestId, now)) {
        const pk = await denominationKey(key);
        if (!pk.ok) throw new Error(`a stored denomination key does not parse: ${pk.message}`);
        const r = blindingFactorFromSeed(pk.value, derived.blindingSeed);
        if (!r.ok) throw new Error(r.message);
        const b = await blind(pk.value, derived.publicKeyBytes, r.value);
        if (!b.ok) throw new Error(b.message);
        envelopes.push({ denominationId: key.denomination_id, blindedMessage: encodeBase64url(b.value.blindedMsg) });
      }
      const body: EcashPaymentBody = {
        invoiceHash: row.invoice_hash,
        transactionId: row.transaction_id,
        merchantId: row.merchant_id,
        amount,
        coins: coins.map((c) => ({ coinPub: c.coin_pub, denominationId: c.denomination_id, denominationSignature: c.signature })),
        change: envelopes,
      };
      const bytes = ecashPaymentSigningBytes(body);
      const signed: EcashPaymentRequest['coins'] = [];
      for (const [i, c] of coins.entries()) {
        const k = await deriveCoin(deps.seed, c.derivation_index);
        signed.push({ ...body.coins[i]!, coinSignature: encodeBase64url(await signEd25519(k.privateKey, bytes)) });
      }
      const request: EcashPaymentRequest = { ...body, coins: signed };
      const moved = await tx
        .updateTable('wallet_purchases')
        .set({ state: 'PAYING', payment_request: JSON.stringify(request), change_request_id: changeRequestId, updated_at: now.toISOString() })
        .where('purchase_id', '=', row.purchase_id)
        .where('state', '=', 'ACCEPTED')
        .executeTakeFirst();
      if (moved.numUpdatedRows !== 1n) throw new CoinTaken();
    });
  } catch (e) {
    if (e instanceof CoinTaken) return err('WALLET_INSUFFICIENT_FUNDS', 'another payment took some of these coins at the same moment; nothing was sent, try again');
    throw e;
  }
  deps.display?.({ kind: 'paying', transactionId: row.transaction_id, coins: coins.length, change: formatAmount({ currency: row.currency, minor: change }) });
  return ok(undefined);
}

// ---------------------------------------------------------------- a refused 170

/**
 * Refusals of a payment (170) that the payment server gives only when this
 * request did not pay and, repeated, never will (a request that paid is
 * answered with its receipt before any of these checks). Anything else
 * (unreachable, 5xx, a garbled answer) proves nothing: the request stays
 * stored and --resume repeats it.
 */
const PAYMENT_NOT_MADE: ReadonlySet<string> = new Set([
  'PAY_INVOICE_MISMATCH',
  'PAY_PAYMENT_MODE_UNSUPPORTED',
  'PAY_MERCHANT_NOT_ACCEPTED',
  'PAY_INVOICE_EXPIRED',
  'PAY_DENOMINATION_UNKNOWN',
  'PAY_DENOMINATION_NOT_DEPOSITABLE',
  'PAY_COIN_FORGED',
  'PAY_COIN_SIGNATURE_INVALID',
  'PAY_COIN_SPENT',
  'PAY_CURRENCY_MISMATCH',
  'PAY_ENVELOPE_INVALID',
  'PAY_ENVELOPE_REUSED',
  'PAY_PAYMENT_UNBALANCED',
  'PAY_REQUEST_CONFLICT',
  'PAY_PURCHASER_MISMATCH',
  'PAY_PURSE_UNKNOWN',
  'PAY_PURSE_SIGNATURE_INVALID',
  'PAY_PURSE_INSUFFICIENT',
]);

/**
 * The payment server refused the stored 170 for good: nothing may stay locked
 * in it. But a refusal is only about the copy it answers: an identical copy
 * sent earlier (a timeout, then --resume; two processes) may still have paid.
 * So first the transaction's state and every coin given to the request:
 *  - every coin spent at the server (mode ecash), or the transaction PAID
 *    (mode account, not yet asked again): our own request may have paid —
 *    'ask-again': the caller repeats it once, and a replay answers with the
 *    receipt and the change;
 *  - PAID by another request (a restored copy of this wallet): its signed
 *    receipt is checked like our own and the purchase is PAID; coins the
 *    server reports spent stay spent (lost), the others are unspent again,
 *    the planned change is dropped;
 *  - not paid: the same with the coins, and the purchase goes back to
 *    ACCEPTED (a new request may pay it, if it is not past due); `refusal`
 *    is returned with what was released.
 * When the states cannot be learned, nothing changes (--resume asks again).
 */
async function releaseRefusedPayment<F extends { ok: false; code: string; message: string }>(
  wallet: OpenedWallet,
  row: WalletPurchaseTable,
  ctx: Context,
  refusal: F,
  deps: BuyDeps,
  askedAgain: boolean,
): Promise<Result<'paid', BuyCode> | F | 'ask-again'> {
  const state = await callJson(deps.fetch, 'payment', row.payment_url, {
    method: 'GET',
    path: `/v1/payments/${encodeURIComponent(row.merchant_id)}/${encodeURIComponent(row.transaction_id)}`,
    schema: PaymentStateAnswer,
    what: 'the payment state request',
  });
  if (!state.ok) return stopped(wallet, row.purchase_id, refusal, deps.now());
  const paidReceipt = state.value.value.state === 'PAID' || state.value.value.state === 'REPAYMENT_COMPLETION' ? state.value.value.receipt : undefined;

  const given = await wallet.db.selectFrom('wallet_coins').select(['coin_pub', 'value']).where('spent_in', '=', row.purchase_id).where('state', '=', 'spent').execute();
  const lost = new Set<string>();
  for (const c of given) {
    const s = await callJson(deps.fetch, 'payment', row.payment_url, { method: 'GET', path: `/v1/coins/${c.coin_pub}`, schema: CoinStateView, what: 'the coin state request' });
    if (!s.ok || s.value.value.coinPub !== c.coin_pub) return stopped(wallet, row.purchase_id, refusal, deps.now());
    if (s.value.value.state === 'spent') lost.add(c.coin_pub);
  }
  // A payment spends all its coins or none: all spent may be our own payment.
  // (Mode account: PAID, and our identical request, asked again, still refused
  // means another request paid.)
  if (given.length > 0 ? lost.size === given.length : paidReceipt !== undefined) {
    if (!askedAgain) return 'ask-again';
    if (given.length > 0) return stopped(wallet, row.purchase_id, refusal, deps.now());
  }

  const receipt = paidReceipt ? await checkReceipt(paidReceipt, ctx.checked, ctx.trust, deps.now()) : undefined;
  const at = deps.now().toISOString();
  await wallet.db.transaction().execute(async (tx) => {
    for (const c of given) {
      if (!lost.has(c.coin_pub)) await tx.updateTable('wallet_coins').set({ state: 'unspent', spent_in: null, updated_at: at }).where('coin_pub', '=', c.coin_pub).where('spent_in', '=', row.purchase_id).execute();
    }
    if (row.change_request_id !== null) await tx.deleteFrom('wallet_coins').where('request_id', '=', row.change_request_id).where('state', '=', 'pending').execute();
    const done = receipt?.ok
      ? { state: 'PAID' as const, receipt_jws: JSON.stringify(paidReceipt), change_request_id: null, last_error: null }
      : { state: 'ACCEPTED' as const, payment_request: null, change_request_id: null, last_error: refusal.code };
    await tx.updateTable('wallet_purchases').set({ ...done, updated_at: at }).where('purchase_id', '=', row.purchase_id).where('state', '=', 'PAYING').execute();
  });
  if (receipt?.ok) {
    deps.display?.({ kind: 'receipt', receipt: receiptView(receipt.value.receipt) });
    return ok('paid');
  }
  const lostValue = total(given.filter((c) => lost.has(c.coin_pub)).map((c) => ({ value: BigInt(c.value) })));
  const released = given.length - lost.size;
  const what = given.length === 0 ? 'nothing was paid' : `nothing was paid; ${released} coin(s) are unspent again${lost.size > 0 ? `, ${lost.size} worth ${formatAmount({ currency: row.currency, minor: lostValue })} were already spent elsewhere and are lost` : ''}`;
  return { ...refusal, message: `${refusal.message} (${what})` };
}

/**
 * Sends the stored 170 and, when it is refused for good, settles what the
 * refusal means (releaseRefusedPayment), asking once more when our own
 * request may have paid. Undefined: `answer` is the one to go on with.
 */
async function payOrRelease<T>(
  wallet: OpenedWallet,
  row: WalletPurchaseTable,
  ctx: Context,
  deps: BuyDeps,
  send: () => Promise<Result<{ value: T }, BuyCode>>,
): Promise<{ answer: Result<{ value: T }, BuyCode> } | { settled: Result<void, BuyCode> }> {
  let answer = await send();
  for (let askedAgain = false; !answer.ok && PAYMENT_NOT_MADE.has(answer.code); askedAgain = true) {
    const verdict = await releaseRefusedPayment(wallet, row, ctx, answer, deps, askedAgain);
    if (verdict !== 'ask-again') return { settled: verdict.ok ? ok(undefined) : verdict };
    answer = await send();
  }
  return { answer };
}

/** 170 → 180: sends the stored request (the identical bytes on every repeat), checks the receipt, keeps the change. */
async function sendPayment(wallet: OpenedWallet, row: WalletPurchaseTable, ctx: Context, deps: BuyDeps): Promise<Result<void, BuyCode>> {
  const request = JSON.parse(row.payment_request!) as EcashPaymentRequest;
  const sent = await payOrRelease(wallet, row, ctx, deps, () =>
    callJson(deps.fetch, 'payment', row.payment_url, { method: 'POST', path: '/v1/payments/ecash', body: request, schema: EcashPaymentResponse, what: 'the e-money payment', timeoutMs: 120_000 }),
  );
  if ('settled' in sent) return sent.settled;
  const answer = sent.answer;
  if (!answer.ok) return stopped(wallet, row.purchase_id, answer, deps.now());
  const receipt = await checkReceipt(answer.value.value.receipt, ctx.checked, ctx.trust, deps.now());
  if (!receipt.ok) return stopped(wallet, row.purchase_id, receipt, deps.now());

  const change = await wallet.db
    .selectFrom('wallet_coins as c')
    .innerJoin('wallet_denominations as d', 'd.denomination_id', 'c.denomination_id')
    .select(['c.coin_pub', 'c.derivation_index', 'c.state', 'd.public_key'])
    .where('c.request_id', '=', row.change_request_id!)
    .orderBy('c.derivation_index')
    .execute();
  const sigs = answer.value.value.changeSignatures;
  if (sigs.length !== request.change.length || change.length !== request.change.length) {
    return stopped(wallet, row.purchase_id, err('WALLET_PAYMENT_RESPONSE_INVALID', 'the payment answer carries another number of change signatures than envelopes were sent'), deps.now());
  }
  const finals: string[] = [];
  for (const [i, c] of change.entries()) {
    const pk = await denominationKey(c);
    if (!pk.ok) return pk;
    const derived = await deriveCoin(deps.seed, c.derivation_index);
    const r = blindingFactorFromSeed(pk.value, derived.blindingSeed);
    if (!r.ok) return r;
    const b = await blind(pk.value, derived.publicKeyBytes, r.value);
    if (!b.ok) return b;
    const sig = await finalize(pk.value, derived.publicKeyBytes, decodeBase64url(sigs[i]!)!, b.value.inv);
    if (!sig.ok) return stopped(wallet, row.purchase_id, err('WALLET_BLIND_SIGNATURE_INVALID', `the change signature ${i + 1} does not verify; the change stays pending and --resume asks again`), deps.now());
    finals.push(encodeBase64url(sig.value));
  }
  const now = deps.now().toISOString();
  await wallet.db.transaction().execute(async (tx) => {
    for (const [i, c] of change.entries()) {
      await tx.updateTable('wallet_coins').set({ signature: finals[i]!, state: 'unspent', updated_at: now }).where('coin_pub', '=', c.coin_pub).where('state', '=', 'pending').execute();
    }
    await tx
      .updateTable('wallet_purchases')
      .set({ state: 'PAID', receipt_jws: JSON.stringify(answer.value.value.receipt), last_error: null, updated_at: now })
      .where('purchase_id', '=', row.purchase_id)
      .where('state', '=', 'PAYING')
      .execute();
  });
  deps.display?.({ kind: 'receipt', receipt: receiptView(receipt.value.receipt) });
  return ok(undefined);
}

// ---------------------------------------------------------------- 170 → 180 in mode account

/**
 * The purse at the invoice's payment server holds at least `amount`: checked
 * before the shopper is asked to accept the invoice. The payment server at the
 * invoice's address must be the one the invoice names (the purse is
 * registered there, and that is where the money goes).
 */
async function purseCovers(wallet: OpenedWallet, paymentUrl: string, paymentPartyId: string, amount: Amount, deps: BuyDeps): Promise<Result<void, BuyCode>> {
  const balance = await purseBalance(wallet, paymentUrl, deps, { currency: amount.currency });
  if (!balance.ok) return balance;
  if (balance.value.paymentPartyId !== paymentPartyId) {
    return err('WALLET_PAYMENT_SERVER_MISMATCH', `the invoice names payment server ${paymentPartyId}, but ${paymentUrl} is ${balance.value.paymentPartyId}`);
  }
  const held = parseAmount(balance.value.view.balance);
  if (!held.ok || held.value.currency !== amount.currency || held.value.minor < amount.minor) {
    return err('WALLET_INSUFFICIENT_FUNDS', `the invoice is for ${formatAmount(amount)} but your purse at ${paymentPartyId} holds ${balance.value.view.balance}; load it first (quittance wallet load --into purse); nothing was paid`);
  }
  return ok(undefined);
}

/**
 * ACCEPTED → PAYING in mode account: the purse (registered at the invoice's
 * payment server, once) signs the payment of this invoice; the request is
 * stored before it is sent, so a repeat is byte for byte the same and pays once.
 */
async function prepareAccountPayment(wallet: OpenedWallet, row: WalletPurchaseTable, deps: BuyDeps): Promise<Result<void, BuyCode>> {
  const purse = await registerPurse(wallet, row.payment_url, deps);
  if (!purse.ok) return purse;
  if (purse.value.paymentPartyId !== row.payment_party_id) {
    return err('WALLET_PAYMENT_SERVER_MISMATCH', `the invoice names payment server ${row.payment_party_id}, but ${row.payment_url} is ${purse.value.paymentPartyId}`);
  }
  const keys = await derivePurse(deps.seed);
  const body: AccountPaymentBody = {
    invoiceHash: row.invoice_hash,
    transactionId: row.transaction_id,
    merchantId: row.merchant_id,
    amount: formatAmount({ currency: row.currency, minor: row.amount }),
    purseKey: purse.value.purseKey,
  };
  const request: AccountPaymentRequest = { ...body, purseSignature: encodeBase64url(await signEd25519(keys.privateKey, accountPaymentSigningBytes(body))) };
  await wallet.db
    .updateTable('wallet_purchases')
    .set({ state: 'PAYING', payment_request: JSON.stringify(request), updated_at: deps.now().toISOString() })
    .where('purchase_id', '=', row.purchase_id)
    .where('state', '=', 'ACCEPTED')
    .execute();
  deps.display?.({ kind: 'paying', transactionId: row.transaction_id, coins: 0, change: formatAmount({ currency: row.currency, minor: 0n }), purseKey: purse.value.purseKey });
  return ok(undefined);
}

/** 170 → 180 in mode account: sends the stored request, checks the receipt. */
async function sendAccountPayment(wallet: OpenedWallet, row: WalletPurchaseTable, ctx: Context, deps: BuyDeps): Promise<Result<void, BuyCode>> {
  const request = JSON.parse(row.payment_request!) as AccountPaymentRequest;
  const sent = await payOrRelease(wallet, row, ctx, deps, () =>
    callJson(deps.fetch, 'payment', row.payment_url, { method: 'POST', path: '/v1/payments/account', body: request, schema: AccountPaymentResponse, what: 'the account payment' }),
  );
  if ('settled' in sent) return sent.settled;
  const answer = sent.answer;
  if (!answer.ok) return stopped(wallet, row.purchase_id, answer, deps.now());
  const receipt = await checkReceipt(answer.value.value.receipt, ctx.checked, ctx.trust, deps.now());
  if (!receipt.ok) return stopped(wallet, row.purchase_id, receipt, deps.now());
  await wallet.db
    .updateTable('wallet_purchases')
    .set({ state: 'PAID', receipt_jws: JSON.stringify(answer.value.value.receipt), last_error: null, updated_at: deps.now().toISOString() })
    .where('purchase_id', '=', row.purchase_id)
    .where('state', '=', 'PAYING')
    .execute();
  deps.display?.({ kind: 'receipt', receipt: receiptView(receipt.value.receipt) });
  return ok(undefined);
}

/** 210 → 190. Never fails the purchase: it is paid; the completion is extra evidence. */
async function sendReceiptCopy(wallet: OpenedWallet, row: WalletPurchaseTable, ctx: Context, deps: BuyDeps): Promise<'stored' | 'not-offered' | 'failed'> {
  const receipt = parseJws(row.receipt_jws!);
  const answer = await callJson(deps.fetch, 'merchant', row.merchant_url, {
    method: 'POST',
    path: `/v1/orders/${encodeURIComponent(row.transaction_id)}/receipt`,
    body: { receipt },
    schema: CompletionResponse,
    what: 'the receipt copy',
    allowNotFound: true,
  });
  const report = (state: 'stored' | 'not-offered' | 'failed', f?: { code: string; message: string }) => {
    deps.display?.({ kind: 'completion', transactionId: row.transaction_id, state, ...(f ? { code: f.code, message: f.message } : {}) });
    return state;
  };
  if (!answer.ok) {
    await update(wallet, row.purchase_id, { last_error: answer.code }, deps.now());
    return report('failed', answer);
  }
  if (answer.value.value === undefined) return report('not-offered');
  const jws = answer.value.value.completion;
  const receiptHash = await documentHash(decodeBase64url(receipt.payload)!);
  const c = await checkCompletion(jws, { merchantId: row.merchant_id, transactionId: row.transaction_id, receiptHash }, ctx.trust, deps.now());
  if (!c.ok) {
    await update(wallet, row.purchase_id, { last_error: c.code }, deps.now());
    return report('failed', c);
  }
  await update(wallet, row.purchase_id, { completion_jws: JSON.stringify(jws), state: 'COMPLETED', last_error: null }, deps.now());
  return report('stored');
}

/** From any stored state to PAID (and COMPLETED when the merchant answers 210). */
async function continuePurchase(wallet: OpenedWallet, row: WalletPurchaseTable, ctx: Context, deps: BuyDeps): Promise<Result<PurchaseOutcome, BuyCode>> {
  if (row.state === 'INVOICED') {
    const r = await acceptAtPaymentServer(wallet, row, ctx, deps);
    if (!r.ok) return r;
    row = await reload(wallet, row.purchase_id);
  }
  if (row.state === 'ACCEPTED') {
    // Past due, the payment server refuses a first 170: do not lock coins into a payment that cannot happen.
    const due = ctx.checked.invoice.paymentDueTime;
    if (deps.now().getTime() > Date.parse(due)) {
      return stopped(wallet, row.purchase_id, err('WALLET_INVOICE_EXPIRED', `the invoice was due by ${due}; nothing was paid (order again)`), deps.now());
    }
    if (row.payment_mode === 'account') {
      const r = await prepareAccountPayment(wallet, row, deps);
      if (!r.ok) return stopped(wallet, row.purchase_id, r, deps.now());
    } else {
      // More than one payment can carry: swap small coins for larger ones first.
      const c = await consolidateFor(wallet, { paymentUrl: row.payment_url, paymentPartyId: row.payment_party_id, currency: row.currency, amount: row.amount }, deps);
      if (!c.ok) return stopped(wallet, row.purchase_id, c, deps.now());
      const r = await preparePayment(wallet, row, deps);
      if (!r.ok) return stopped(wallet, row.purchase_id, r, deps.now());
    }
    row = await reload(wallet, row.purchase_id);
  }
  if (row.state === 'PAYING') {
    const r = row.payment_mode === 'account' ? await sendAccountPayment(wallet, row, ctx, deps) : await sendPayment(wallet, row, ctx, deps);
    if (!r.ok) return r;
    row = await reload(wallet, row.purchase_id);
  }
  const completion = row.state === 'PAID' ? await sendReceiptCopy(wallet, row, ctx, deps) : 'stored';
  row = await reload(wallet, row.purchase_id);
  const receipt = payloadOf<Receipt>(parseJws(row.receipt_jws!)).value;
  const changeRows = row.change_request_id === null ? [] : await wallet.db.selectFrom('wallet_coins').select('value').where('request_id', '=', row.change_request_id).execute();
  return ok({
    purchaseId: row.purchase_id,
    transactionId: row.transaction_id,
    state: row.state,
    receipt: receiptView(receipt),
    change: formatAmount({ currency: row.currency, minor: total(changeRows.map((c) => ({ value: BigInt(c.value) }))) }),
    completion,
  });
}

/** Rebuilds the verified context of a stored purchase: its documents are checked again, as of now. */
export async function contextOf(wallet: OpenedWallet, row: WalletPurchaseTable, deps: Pick<BuyDeps, 'now' | 'fetch' | 'seed' | 'passphrase'>): Promise<Result<Context, BuyCode>> {
  const trust = await trustOf(wallet, deps);
  if (!trust.ok) return trust;
  const orderJws = parseJws(row.order_jws);
  const order = payloadOf<Order>(orderJws);
  const checked = await checkInvoice(
    { invoiceJws: parseJws(row.invoice_jws), paymentServerChain: JSON.parse(row.payment_chain) as string[], order: order.value, orderHash: await documentHash(order.bytes), merchantId: row.merchant_id },
    trust.value,
    deps.now(),
    // A stored purchase may be past due: the payment server still answers a repeated 170.
    false,
  );
  if (!checked.ok) return checked;
  const purchaser = await purchaserOf(wallet, row, deps);
  if (!purchaser.ok) return purchaser;
  return ok({ checked: checked.value, purchaser: purchaser.value, trust: trust.value });
}

export type ResumeOutcome = { resumed: PurchaseOutcome[]; failed: { purchaseId: string; code: string; message: string }[] };

/**
 * Finishes the purchases a crash, a lost answer or a refused document left
 * open (INVOICED, ACCEPTED, PAYING; PAID ones send the receipt copy again),
 * or only `transactionId` — repeating each stored request as it was.
 */
export async function resumePurchases(wallet: OpenedWallet, deps: BuyDeps, transactionId?: string): Promise<Result<ResumeOutcome, BuyCode>> {
  let q = wallet.db.selectFrom('wallet_purchases').selectAll().where('state', 'in', ['INVOICED', 'ACCEPTED', 'PAYING', 'PAID']);
  if (transactionId !== undefined) q = q.where('transaction_id', '=', transactionId);
  const rows = await q.orderBy('created_at').execute();
  if (transactionId !== undefined && rows.length === 0) return err('WALLET_PURCHASE_NOT_FOUND', `no unfinished purchase with transaction id ${transactionId}`);
  const out: ResumeOutcome = { resumed: [], failed: [] };
  for (const row of rows) {
    const ctx = await contextOf(wallet, row, deps);
    const r = ctx.ok ? await continuePurchase(wallet, row, ctx.value, deps) : ctx;
    if (r.ok) out.resumed.push(r.value);
    else out.failed.push({ purchaseId: row.purchase_id, code: r.code, message: r.message });
  }
  return ok(out);
}

