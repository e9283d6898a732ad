// What the page shows, built from the wallet library's own views so the page
// and the command line show the same things: `wallet status` plus a fresh
// certificate check, and `wallet show TX` plus the order sheet (fig. 14), the
// invoice (fig. 15), the receipt (fig. 16) and each refund's request (fig. 24)
// and permit (fig. 25) as documents, read from the store (verified before they
// were kept).
import { decodeBase64url } from '../protocol/base64url.ts';
import type { Invoice, Order, Receipt, RepaymentPermit, RepaymentRequest } from '../protocol/documents/index.ts';
import type { GeneralJws } from '../protocol/jws.ts';
import { fingerprintSha256, formatFingerprint, pemToDer, validatePath } from '../protocol/x509/index.ts';
import { receiptView, type InvoiceView, type ReceiptView } from '../wallet/buy.ts';
import { getCrl, splitPemChain } from '../wallet/ca-client.ts';
import type { Fetch } from '../wallet/http-client.ts';
import type { OpenedWallet } from '../wallet/open.ts';
import { purchaseDetail, type PurchaseDetail } from '../wallet/purchases.ts';
import { refundsOf } from '../wallet/refund.ts';
import { CRL_MAX_AGE_SECONDS, readIdentity } from '../wallet/register.ts';
import { walletStatus, type StatusView } from '../wallet/views.ts';
import { ok, type Result } from '../protocol/result.ts';

/**
 * The wallet's own certificate as of now: `valid`, `revoked` (on the CA's
 * current CRL), `invalid` (expired, or no longer chaining to the root) or
 * `unknown` (the CA's CRL could not be fetched: the page says so, not "valid").
 */
export type CertificateCheck = { state: 'valid' | 'revoked' | 'invalid' | 'unknown'; code?: string; message?: string };

export type DaemonStatus = StatusView & { certificate: CertificateCheck | null };

function payloadOf<T>(jws: unknown): T {
  return JSON.parse(new TextDecoder().decode(decodeBase64url((jws as GeneralJws).payload))) as T;
}

export async function checkOwnCertificate(wallet: OpenedWallet, deps: { fetch: Fetch; now: () => Date }): Promise<CertificateCheck | null> {
  const row = await readIdentity(wallet);
  if (row?.status !== 'approved' || row.certificate_chain_pem === null || row.ca_root_pem === null) return null;
  const crl = await getCrl(deps.fetch, row.ca_url);
  if (!crl.ok) return { state: 'unknown', code: crl.code, message: `the CA's revocation list could not be fetched: ${crl.message}` };
  const chain = splitPemChain(row.certificate_chain_pem).map((p) => pemToDer(p, 'CERTIFICATE')!);
  const path = await validatePath(chain, {
    trustAnchors: [pemToDer(row.ca_root_pem, 'CERTIFICATE')!],
    now: deps.now(),
    crls: [crl.value],
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedRoles: ['client'],
  });
  if (path.ok) return { state: 'valid' };
  if (path.code === 'PROTO_CERT_CRL_STALE' || path.code === 'PROTO_CERT_CRL_INVALID' || path.code === 'PROTO_CERT_CRL_MISSING') return { state: 'unknown', code: path.code, message: path.message };
  return { state: path.code === 'PROTO_CERT_REVOKED' ? 'revoked' : 'invalid', code: path.code, message: path.message };
}

export async function daemonStatus(wallet: OpenedWallet, deps: { fetch: Fetch; now: () => Date }): Promise<DaemonStatus> {
  return { ...(await walletStatus(wallet)), certificate: await checkOwnCertificate(wallet, deps) };
}

/** The order sheet (fig. 14): what the shopper signed. */
export type OrderSheet = Pick<Order, 'orderId' | 'merchantId' | 'purchaserId' | 'lines' | 'total' | 'paymentMode' | 'time'>;

export type RefundView = PurchaseDetail['refunds'][number] & {
  /** The repayment request as signed (fig. 24). */
  request: RepaymentRequest;
  /** The shop's permit (fig. 25), once given. */
  permit: RepaymentPermit | null;
};

export type PurchaseView = Omit<PurchaseDetail, 'refunds'> & {
  orderSheet: OrderSheet | null;
  invoice: InvoiceView | null;
  receipt: ReceiptView | null;
  refunds: RefundView[];
};

async function invoiceOf(jws: unknown, paymentServerChain: readonly string[]): Promise<InvoiceView> {
  const i = payloadOf<Invoice>(jws);
  const leaf = pemToDer(paymentServerChain[0] ?? '', 'CERTIFICATE');
  return {
    transactionId: i.transactionId,
    purchaserId: i.purchaserId,
    lines: i.lines.map((l) => ({ article: l.article, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice })),
    amount: i.amount,
    paymentMode: i.paymentMode,
    shop: { ...i.shop },
    paymentServer: { id: i.paymentServer.id, name: i.paymentServer.name, fingerprint: leaf ? formatFingerprint(await fingerprintSha256(leaf)) : '' },
    paymentAddress: i.paymentAddress,
    billTime: i.billTime,
    paymentDueTime: i.paymentDueTime,
    refundDeadline: i.refundDeadline,
  };
}

export async function purchaseView(wallet: OpenedWallet, id: string): Promise<Result<PurchaseView, 'WALLET_PURCHASE_NOT_FOUND'>> {
  const found = await purchaseDetail(wallet, id);
  if (!found.ok) return found;
  const p = found.value;
  const rows = new Map((await refundsOf(wallet, p.purchaseId)).map((r) => [r.request_id, r]));
  const refunds = p.refunds.map((f): RefundView => {
    const row = rows.get(f.requestId);
    // Refund rows are never deleted: one listed a moment ago is still there.
    if (!row) throw new Error(`wallet store: refund ${f.requestId} vanished`);
    return { ...f, request: payloadOf<RepaymentRequest>(JSON.parse(row.request_jws)), permit: row.permit_jws === null ? null : payloadOf<RepaymentPermit>(JSON.parse(row.permit_jws)) };
  });
  const order = p.documents.order ? (p.documents.order.payload as Order) : null;
  return ok({
    ...p,
    orderSheet: order ? { orderId: order.orderId, merchantId: order.merchantId, purchaserId: order.purchaserId, lines: order.lines, total: order.total, paymentMode: order.paymentMode, time: order.time } : null,
    invoice: p.documents.invoice ? await invoiceOf(p.documents.invoice.jws, p.paymentServerChain) : null,
    receipt: p.documents.receipt ? receiptView(p.documents.receipt.payload as Receipt) : null,
    refunds,
  });
}
