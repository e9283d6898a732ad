// The wallet daemon's API as the page uses it: the session token comes from the
// URL fragment (#token=…, which browsers never send to any server), is kept in
// sessionStorage for this tab and removed from the address bar at once.
import { api, type ApiOptions } from '../../shared/api.ts';

const KEY = 'quittance.walletToken';

/** Takes `token` out of the fragment (keeping the rest, e.g. `pay=…`) and returns the token to use. */
export function takeToken(): string | null {
  const params = new URLSearchParams(location.hash.slice(1));
  const fresh = params.get('token');
  if (fresh !== null) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    try {
      sessionStorage.setItem(KEY, fresh);
    } catch {
      // Storage refused: the token lives as long as the page.
    }
    return fresh;
  }
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
}

export type WalletApi = <T>(path: string, opts?: Omit<ApiOptions, 'token'>) => Promise<T>;

export function walletApi(token: string): WalletApi {
  return <T>(path: string, opts: Omit<ApiOptions, 'token'> = {}) => api<T>(`api/${path}`, { ...opts, token });
}

// Shapes of the daemon's answers (README "Wallet daemon"), as far as the page reads them.
export type Party = { displayName: string; partyId: string; role: string; issuer: string; fingerprint: string; notBefore: string; notAfter: string };
export type TrustedShop = Party & { verified: true; url: string; ca: { issuer: string; rootFingerprint: string | null } };
export type Line = { article: string; name: string; quantity: number; unitPrice: string };
export type Invoice = {
  transactionId: string;
  purchaserId: string;
  lines: Line[];
  amount: string;
  paymentMode: string;
  shop: { id: string; name: string };
  paymentServer: { id: string; name: string; fingerprint: string };
  paymentAddress: string;
  billTime: string;
  paymentDueTime: string;
  refundDeadline: string;
};
export type Receipt = { transactionId: string; purchaserId: string; amountReceived: string; mode: string; shop: { id: string; name: string }; recipient: { id: string; name: string }; time: string; invoiceHash: string };
export type Outcome = { purchaseId: string; transactionId: string; state: string; receipt: Receipt; change: string; completion: string };

export type Session = { sessionId: string; version: number; createdAt: string; transactionId: string | null; request: { shop: string; mode: string; anonymous: boolean } } & (
  | { step: 'checking' }
  | { step: 'merchant'; merchant: TrustedShop; expiresAt: string }
  | { step: 'invoice'; merchant: TrustedShop; invoice: Invoice; expiresAt: string }
  | { step: 'paying'; merchant: TrustedShop; invoice: Invoice }
  | { step: 'done'; merchant: TrustedShop | null; outcome: Outcome }
  | { step: 'cancelled'; reason: string; message: string }
  | { step: 'failed'; code: string; message: string; details?: unknown }
);

export type Identity = {
  status: 'pending' | 'approved' | 'rejected';
  caUrl: string;
  displayName: string;
  partyId: string | null;
  fingerprint: string | null;
  caFingerprint: string | null;
  notBefore: string | null;
  notAfter: string | null;
  rejectReason: string | null;
};
export type Status = { walletId: string; createdAt: string; identity: Identity | null; certificate: { state: string; code?: string; message?: string } | null };

export type PurchaseSummary = { purchaseId: string; transactionId: string; shop: { id: string; name: string }; paymentServer: string; purchaser: { id: string; kind: string }; amount: string; mode: string; state: string; lastError: string | null; createdAt: string };

export type OrderSheet = { orderId: string; merchantId: string; purchaserId: string; lines: Line[]; total: string; paymentMode: string; time: string };
export type RefundView = {
  requestId: string;
  state: string;
  amount: string;
  reason: string;
  permitId: string | null;
  lastError: string | null;
  createdAt: string;
  request: { requestId: string; transactionId: string; amount: string; reason: string; time: string; [k: string]: unknown };
  permit: { permitId: string; transactionId: string; recipientId: string; amount: string; mode: string; shop: { id: string; name: string }; repayer: { id: string; name: string; address: string }; permissionTime: string; dueTime: string; [k: string]: unknown } | null;
};
export type PurchaseView = PurchaseSummary & {
  merchantUrl: string;
  merchantFingerprint: string;
  paymentUrl: string;
  change: string;
  coinsSpent: number;
  orderSheet: OrderSheet | null;
  invoice: Invoice | null;
  receipt: Receipt | null;
  refunds: RefundView[];
};
export type RefundOutcome = { requestId: string; transactionId: string; state: string; amount: string; permitId?: string; coins?: number };
