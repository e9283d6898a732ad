// Messages 130 → 140 (EP 0 848 343 figs. 6, 11, 12): the shopper's signed
// order becomes a stored order and a signed invoice.
//
// Pipeline: payment server configured → signature, certificate path and role
// (a certified `client` of our CA, or an anonymous per-order key) → the
// authenticated payload is an order → purchaserId is the signer → earlier
// order with this (purchaser, orderId): the same order answers its invoice
// again, another order is a conflict → business rules (this shop, mode,
// selling conditions, every line against the catalogue, stock — or, for an
// order with `offerId`, exactly the shop API offer's lines, offers.ts) →
// invoice signed (CPU, no transaction open) → ONE transaction: the order row
// (fig. 11), its lines (fig. 12) and the offer taken. A refusal anywhere
// writes nothing.
//
// Idempotency: (purchaser_id, order_id) is unique. Two copies of one order
// racing each other both reach the transaction; the loser's insert fails, its
// transaction rolls back, and it answers the winner's invoice.
import type { Kysely } from 'kysely';
import { parseAmount } from '../protocol/amount.ts';
import { decodeBase64url } from '../protocol/base64url.ts';
import { INVOICE_TYP, ORDER_TYP, parseDocument, type Invoice, type JwsGeneral, type Order } from '../protocol/documents/index.ts';
import { documentHash, signDocument, verifyDocument } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import { sellingConditionsHash, type Article } from './config.ts';
import { CRL_MAX_AGE_SECONDS } from './crl.ts';
import type { MerchantDatabase } from './db.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';
import type { OrderRequest, PaymentRequest } from '../protocol/messages/merchant.ts';
import { offerForOrder, OfferTakenMeanwhile, takeOffer } from './offers.ts';

type Db = Kysely<MerchantDatabase>;

/** The payment modes this shop takes (fig. 6); `card` is not offered yet. */
export const ACCEPTED_MODES = ['ecash', 'account'] as const;

export type OrderOutcome = { response: PaymentRequest; replay: boolean };

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

async function earlierOrder(db: Db, purchaserId: string, orderId: string, orderHash: string): Promise<Result<OrderOutcome, MerchantHttpErrorCode> | undefined> {
  const row = await db
    .selectFrom('merchant_orders')
    .select(['transaction_id', 'order_hash', 'invoice_jws', 'payment_server_chain'])
    .where('purchaser_id', '=', purchaserId)
    .where('order_id', '=', orderId)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.order_hash !== orderHash) return err('MERCHANT_ORDER_CONFLICT', 'this order id was already used by this purchaser for another order');
  return ok({
    response: {
      transactionId: row.transaction_id,
      invoice: JSON.parse(row.invoice_jws) as JwsGeneral,
      paymentServerChain: JSON.parse(row.payment_server_chain) as string[],
    },
    replay: true,
  });
}

/** Units of these articles in paid orders (merchant_stock_sold). */
export async function soldUnits(db: Db, articles: readonly string[]): Promise<Map<string, bigint>> {
  const unique = [...new Set(articles)];
  if (unique.length === 0) return new Map();
  const rows = await db.selectFrom('merchant_stock_sold').select(['article', 'sold']).where('article', 'in', unique).execute();
  return new Map(rows.map((r) => [r.article, BigInt(r.sold)]));
}

/** Every line must be a catalogue article as listed (name, unit price), and stock must cover the ordered quantities. */
function checkLines(order: Order, articles: readonly Article[], sold: ReadonlyMap<string, bigint>): Result<void, MerchantHttpErrorCode> {
  const byId = new Map(articles.map((a) => [a.id, a]));
  const wanted = new Map<string, number>();
  for (const [i, line] of order.lines.entries()) {
    const article = byId.get(line.article);
    if (!article) return err('MERCHANT_ARTICLE_UNKNOWN', `line ${i}: the shop sells no article ${line.article}`, { line: i, article: line.article });
    if (line.name !== article.name) {
      return err('MERCHANT_ARTICLE_NAME_MISMATCH', `line ${i}: article ${line.article} is called "${article.name}"`, { line: i, article: line.article, name: article.name });
    }
    // Compared as amounts, not strings: "JPY:1000" is the only spelling, but
    // the comparison must not depend on that.
    const ordered = parseAmount(line.unitPrice);
    const listed = parseAmount(article.unitPrice);
    if (!ordered.ok || !listed.ok || ordered.value.currency !== listed.value.currency || ordered.value.minor !== listed.value.minor) {
      return err('MERCHANT_PRICE_MISMATCH', `line ${i}: article ${line.article} costs ${article.unitPrice}, not ${line.unitPrice}`, {
        line: i,
        article: line.article,
        unitPrice: article.unitPrice,
      });
    }
    wanted.set(line.article, (wanted.get(line.article) ?? 0) + line.quantity);
  }
  for (const [id, quantity] of wanted) {
    const limit = byId.get(id)!.stock;
    if (limit === undefined) continue;
    const left = BigInt(limit) - (sold.get(id) ?? 0n);
    const stock = Number(left > 0n ? left : 0n);
    if (quantity > stock) return err('MERCHANT_OUT_OF_STOCK', `article ${id}: ${quantity} ordered, ${stock} in stock`, { article: id, stock });
  }
  return ok(undefined);
}

/** Whether any signature's protected header carries x5c (or cannot be read: then assume it does). */
export function claimsCertificate(jws: JwsGeneral): boolean {
  return jws.signatures.some((s) => {
    try {
      const header: unknown = JSON.parse(new TextDecoder().decode(decodeBase64url(s.protected)));
      return typeof header !== 'object' || header === null || 'x5c' in header;
    } catch {
      return true;
    }
  });
}

function plusMs(t: Date, ms: number): string {
  return new Date(t.getTime() + ms).toISOString();
}

/** POST /v1/orders, after the body schema. */
export async function acceptOrder(deps: MerchantDeps, request: OrderRequest): Promise<Result<OrderOutcome, MerchantHttpErrorCode>> {
  const paymentServer = deps.paymentServer;
  if (!paymentServer) return err('MERCHANT_PAYMENT_SERVER_UNSET', 'this shop names no payment server yet, so it cannot invoice');
  // Anonymous orders need no CRL, so an unreachable CA does not stop them. The
  // peek decides only whether to fetch: a certified signature found by
  // verifyDocument without CRLs still fails closed (requireCrl).
  const crls = claimsCertificate(request.order) ? await deps.crls() : ok({ crls: [], required: true });
  if (!crls.ok) return crls;
  const now = deps.clock();

  // 1. Who signed, and that the payload is theirs unaltered.
  const verified = await verifyDocument(request.order, {
    now,
    trustAnchors: deps.trustAnchors,
    crls: crls.value.crls,
    requireCrl: crls.value.required,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: ORDER_TYP,
    signers: [{ roles: ['client'], orAnonymous: true }],
    cache: deps.verificationCache,
  });
  if (!verified.ok) {
    const extra = verified.details && typeof verified.details === 'object' ? verified.details : {};
    return err('MERCHANT_ORDER_SIGNATURE_INVALID', `the order's signature is not accepted: ${verified.message}`, { ...extra, code: verified.code });
  }
  const parsed = parseDocument(ORDER_TYP, verified.value.payload);
  if (!parsed.ok) return err('MERCHANT_ORDER_INVALID', 'the signed order is not a valid order', parsed.details);
  const order = parsed.value;
  const orderHash = verified.value.documentHash;

  // 2. The purchaser id names the key that signed (DESIGN §2: a thumbprint for an anonymous key).
  const signer = verified.value.signers[0]!;
  const signerId = signer.kind === 'certified' ? signer.partyId : signer.thumbprint;
  if (order.purchaserId !== signerId) {
    return err('MERCHANT_PURCHASER_MISMATCH', `purchaserId ${order.purchaserId} is not the signer (${signer.kind} ${signerId})`);
  }

  // 3. Seen before: before the business rules, so that a repeat still gets its
  //    invoice after the catalogue changed.
  const earlier = await earlierOrder(deps.db, order.purchaserId, order.orderId, orderHash);
  if (earlier) return earlier;

  // 4. Business rules.
  if (order.merchantId !== deps.signer.partyId) {
    return err('MERCHANT_NOT_THIS_SHOP', `the order is addressed to ${order.merchantId}, this shop is ${deps.signer.partyId}`);
  }
  if (!(ACCEPTED_MODES as readonly string[]).includes(order.paymentMode)) {
    return err('MERCHANT_PAYMENT_MODE_UNSUPPORTED', `payment mode ${order.paymentMode} is not offered; use ${ACCEPTED_MODES.join(' or ')}`);
  }
  const conditionsHash = sellingConditionsHash(deps.config.catalogue.sellingConditions);
  if (order.sellingConditionsHash !== conditionsHash) {
    return err('MERCHANT_SELLING_CONDITIONS_MISMATCH', 'the order was made under other selling conditions than those in force (fetch GET /v1/catalogue)', { sellingConditionsHash: conditionsHash });
  }
  // An order for a shop API offer repeats the offer's lines (offers.ts); any other order is priced from the catalogue.
  const offer = order.offerId !== undefined ? await offerForOrder(deps, order, now) : undefined;
  if (offer && !offer.ok) return offer;
  if (!offer) {
    const lines = checkLines(order, deps.config.catalogue.articles, await soldUnits(deps.db, order.lines.map((l) => l.article)));
    if (!lines.ok) return lines;
  }

  // 5. The invoice (fig. 6), signed outside the transaction.
  const transactionId = deps.newTransactionId();
  const invoice: Invoice = {
    typ: INVOICE_TYP,
    transactionId,
    purchaserId: order.purchaserId,
    lines: order.lines,
    amount: order.total,
    paymentMode: order.paymentMode,
    shop: { id: deps.signer.partyId, name: deps.signer.displayName },
    paymentServer: { id: paymentServer.partyId, name: paymentServer.displayName },
    paymentAddress: paymentServer.url,
    billTime: now.toISOString(),
    paymentDueTime: plusMs(now, deps.config.paymentDueMinutes * MINUTE_MS),
    refundDeadline: plusMs(now, deps.config.refundDays * DAY_MS),
    sellingConditionsHash: conditionsHash,
    orderHash,
  };
  // What we sign must be a document our own verifiers accept: a failure is a bug.
  const self = parseDocument(INVOICE_TYP, invoice);
  if (!self.ok) throw new Error(`merchant made an invalid invoice: ${JSON.stringify(self.details)}`);
  const jws = await signDocument({ payload: invoice, typ: INVOICE_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
  const invoiceHash = await documentHash(decodeBase64url(jws.payload)!);
  const total = parseAmount(order.total);
  if (!total.ok) throw new Error('order total passed the schema but does not parse');
  const chain = [...paymentServer.chainPem];

  // 6. One transaction: the order and its lines, or nothing.
  try {
    await withRetry(() =>
      deps.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('merchant_orders')
          .values({
            transaction_id: transactionId,
            purchaser_id: order.purchaserId,
            order_id: order.orderId,
            order_hash: orderHash,
            purchaser_kind: signer.kind,
            currency: total.value.currency,
            total: total.value.minor,
            payment_mode: order.paymentMode,
            payment_state: 'UNPAID',
            order_jws: JSON.stringify({ payload: request.order.payload, signatures: request.order.signatures }),
            invoice_jws: JSON.stringify(jws),
            invoice_hash: invoiceHash,
            payment_server_id: paymentServer.partyId,
            payment_server_chain: JSON.stringify(chain),
            bill_time: invoice.billTime,
            payment_due_time: invoice.paymentDueTime,
            refund_deadline: invoice.refundDeadline,
            created_at: now.toISOString(),
          })
          .execute();
        await trx
          .insertInto('merchant_order_lines')
          .values(
            order.lines.map((l, i) => {
              const price = parseAmount(l.unitPrice);
              if (!price.ok) throw new Error('unit price passed the schema but does not parse');
              return { transaction_id: transactionId, line_no: i, article: l.article, name: l.name, quantity: l.quantity, currency: price.value.currency, unit_price: price.value.minor };
            }),
          )
          .execute();
        // Of two orders racing for one offer, this conditional update lets exactly one commit.
        if (offer && !(await takeOffer(trx, offer.value, transactionId, now))) throw new OfferTakenMeanwhile();
      }),
    );
  } catch (e) {
    if (e instanceof OfferTakenMeanwhile) {
      // A twin of this very order may be what took it: then answer with its invoice.
      const twin = await earlierOrder(deps.db, order.purchaserId, order.orderId, orderHash);
      return twin ?? err('MERCHANT_OFFER_TAKEN', `offer ${order.offerId ?? ''} was bought by another order`);
    }
    if (!deps.isUniqueViolation(e)) throw e;
    // A twin of this order committed first: answer with its invoice.
    const twin = await earlierOrder(deps.db, order.purchaserId, order.orderId, orderHash);
    if (twin) return twin;
    throw e;
  }
  const signed: JwsGeneral = { payload: jws.payload, signatures: jws.signatures.map((x) => ({ protected: x.protected, signature: x.signature })) };
  return ok({ response: { transactionId, invoice: signed, paymentServerChain: chain }, replay: false });
}
