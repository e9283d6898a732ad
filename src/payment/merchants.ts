// Merchants accepted by contract (issue 4): the payment server pays only
// merchants its operator added (`quittance payment add-merchant`), with the
// `merchant` certificate the CA issued them and the bank account their
// takings go to. Invoices signed by anyone else are refused (PAY_MERCHANT_NOT_ACCEPTED),
// and so are those of a suspended merchant.
//
// A contract is keyed by the certificate's party id, not by one certificate:
// the CA binds the party id, so a merchant whose certificate was renewed stays
// accepted; the chain added is kept as the record of what was checked.
import type { Kysely } from 'kysely';
import { err, ok, type Result } from '../protocol/result.ts';
import { validatePath, x509, type PathCode } from '../protocol/x509/index.ts';
import type { MerchantStatus, PaymentDatabase, PaymentMerchantTable } from './db.ts';
import type { PaySetupErrorCode } from './errors.ts';

type Db = Kysely<PaymentDatabase>;

/** The ledger account collecting a merchant's takings in one currency (kind 'merchant'). */
export function merchantAccount(merchantId: string, currency: string): string {
  return `merchant:${merchantId}:${currency}`;
}

/**
 * The CA this payment server trusts for merchants and purchasers: the last
 * certificate of its own chain (payment-chain.pem is the leaf, then the CA
 * root, as `quittance ca issue` writes it).
 */
export function trustAnchorOf(x5c: readonly Uint8Array[]): Uint8Array {
  const top = x5c[x5c.length - 1];
  if (top === undefined) throw new TypeError('x5c: the payment server has no certificate chain');
  return top;
}

export type MerchantView = {
  merchantId: string;
  displayName: string;
  fingerprint: string;
  payoutAccount: string | null;
  notifyUrl: string | null;
  status: MerchantStatus;
  createdAt: string;
  updatedAt: string;
};

function view(r: PaymentMerchantTable): MerchantView {
  return {
    merchantId: r.merchant_id,
    displayName: r.display_name,
    fingerprint: r.fingerprint,
    payoutAccount: r.payout_account,
    notifyUrl: r.notify_url,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export type CheckedMerchant = { merchantId: string; displayName: string; fingerprint: string };

function certificatesOf(chainPem: string): Uint8Array[] | undefined {
  try {
    return x509.PemConverter.decodeWithHeaders(chainPem)
      .filter((b) => b.type === 'CERTIFICATE')
      .map((b) => new Uint8Array(b.rawData));
  } catch {
    return undefined;
  }
}

/**
 * A `merchant` certificate chain (PEM, leaf first) that validates to
 * `trustAnchor` at `now`. Revocation is not checked here (the operator adds a
 * merchant the CA just certified); it is at every money reception when the
 * server is given CRLs.
 */
export async function checkMerchantChain(chainPem: string, trustAnchor: Uint8Array, now: Date): Promise<Result<CheckedMerchant, PaySetupErrorCode>> {
  const chain = certificatesOf(chainPem);
  if (chain === undefined) return err('PAY_CERT_INVALID', 'the certificate file is not PEM');
  if (chain.length === 0 || chain.length > 5) return err('PAY_CERT_INVALID', `expected 1 to 5 certificates (leaf first), found ${chain.length}`);
  const path = await validatePath(chain, { trustAnchors: [trustAnchor], now, crls: [], requireCrl: false, crlMaxAgeSeconds: 0, expectedRoles: ['merchant'] });
  if (!path.ok) {
    const code: PathCode = path.code;
    return err('PAY_MERCHANT_CERT_INVALID', `not a merchant certificate of this payment server's CA: ${path.message}`, { code });
  }
  const id = path.value.identity;
  return ok({ merchantId: id.partyId, displayName: id.displayName, fingerprint: id.fingerprint });
}

export async function addMerchant(
  db: Db,
  p: { chainPem: string; payoutAccount: string | null; notifyUrl?: string | null; trustAnchor: Uint8Array; now: Date },
): Promise<Result<MerchantView, PaySetupErrorCode>> {
  const checked = await checkMerchantChain(p.chainPem, p.trustAnchor, p.now);
  if (!checked.ok) return checked;
  const { merchantId } = checked.value;
  const existing = await db.selectFrom('payment_merchants').select('status').where('merchant_id', '=', merchantId).executeTakeFirst();
  if (existing) return err('PAY_MERCHANT_EXISTS', `merchant ${merchantId} already has a contract (${existing.status})`);
  const at = p.now.toISOString();
  const row: PaymentMerchantTable = {
    merchant_id: merchantId,
    display_name: checked.value.displayName,
    certificate_chain: p.chainPem,
    fingerprint: checked.value.fingerprint,
    payout_account: p.payoutAccount,
    notify_url: p.notifyUrl ?? null,
    status: 'active',
    created_at: at,
    updated_at: at,
  };
  await db.insertInto('payment_merchants').values(row).execute();
  return ok(view(row));
}

export async function listMerchants(db: Db): Promise<MerchantView[]> {
  return (await db.selectFrom('payment_merchants').selectAll().orderBy('merchant_id').execute()).map(view);
}

export async function setMerchantStatus(db: Db, merchantId: string, status: MerchantStatus, now: Date): Promise<Result<MerchantView, 'PAY_MERCHANT_UNKNOWN'>> {
  await db.updateTable('payment_merchants').set({ status, updated_at: now.toISOString() }).where('merchant_id', '=', merchantId).execute();
  const row = await db.selectFrom('payment_merchants').selectAll().where('merchant_id', '=', merchantId).executeTakeFirst();
  if (!row) return err('PAY_MERCHANT_UNKNOWN', `no contract with merchant ${merchantId}`);
  return ok(view(row));
}

/**
 * Where the merchant server is notified of payments and repayments
 * (notifications.ts), or null: it only asks. Notifications already enqueued
 * go to the URL current when they are sent.
 */
export async function setMerchantNotifyUrl(db: Db, merchantId: string, notifyUrl: string | null, now: Date): Promise<Result<MerchantView, 'PAY_MERCHANT_UNKNOWN'>> {
  await db.updateTable('payment_merchants').set({ notify_url: notifyUrl, updated_at: now.toISOString() }).where('merchant_id', '=', merchantId).execute();
  const row = await db.selectFrom('payment_merchants').selectAll().where('merchant_id', '=', merchantId).executeTakeFirst();
  if (!row) return err('PAY_MERCHANT_UNKNOWN', `no contract with merchant ${merchantId}`);
  return ok(view(row));
}

/** Whether invoices of `merchantId` are accepted now. */
export async function isActiveMerchant(db: Db, merchantId: string): Promise<boolean> {
  const row = await db.selectFrom('payment_merchants').select('status').where('merchant_id', '=', merchantId).executeTakeFirst();
  return row?.status === 'active';
}
