// What `wallet status`, `balance` and `coins` show; read from the store only,
// so no passphrase is needed to look.
import { formatAmount, makeAmount } from '../protocol/amount.ts';
import { fingerprintSha256, formatFingerprint, pemToDer } from '../protocol/x509/index.ts';
import { sql } from 'kysely';
import type { CoinState } from './db.ts';
import type { OpenedWallet } from './open.ts';
import { readIdentity } from './register.ts';

export type IdentityView = {
  status: 'pending' | 'approved' | 'rejected';
  caUrl: string;
  displayName: string;
  role: 'client';
  registrationId: string;
  partyId: string | null;
  /** SHA-256 of the certificate, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: string | null;
  caFingerprint: string | null;
  notBefore: string | null;
  notAfter: string | null;
  rejectReason: string | null;
};

export type StatusView = { walletId: string; createdAt: string; identity: IdentityView | null };

async function fingerprintOf(pem: string | null): Promise<string | null> {
  const der = pem === null ? undefined : pemToDer(pem, 'CERTIFICATE');
  return der ? formatFingerprint(await fingerprintSha256(der)) : null;
}

export async function walletStatus(wallet: OpenedWallet): Promise<StatusView> {
  const meta = await wallet.db.selectFrom('wallet_meta').selectAll().executeTakeFirstOrThrow();
  const row = await readIdentity(wallet);
  const identity: IdentityView | null = row
    ? {
        status: row.status,
        caUrl: row.ca_url,
        displayName: row.display_name,
        role: 'client',
        registrationId: row.registration_id,
        partyId: row.party_id,
        fingerprint: await fingerprintOf(row.certificate_chain_pem),
        caFingerprint: await fingerprintOf(row.ca_root_pem),
        notBefore: row.not_before,
        notAfter: row.not_after,
        rejectReason: row.reject_reason,
      }
    : null;
  return { walletId: meta.wallet_id, createdAt: meta.created_at, identity };
}

export type BalanceView = { balances: { currency: string; amount: string; coins: number }[] };

function amountString(currency: string, minor: bigint): string {
  const a = makeAmount(currency, minor);
  // The CHECKs keep every coin in range; a sum beyond 2^53-1 would be a corrupt store.
  if (!a.ok) throw new Error(`wallet store: ${currency} balance out of range (${a.code})`);
  return formatAmount(a.value);
}

/** Sum of unspent coins per currency (pending and spent coins are not money the wallet can pay with). */
export async function walletBalance(wallet: OpenedWallet): Promise<BalanceView> {
  const rows = await wallet.db
    .selectFrom('wallet_coins')
    .select(['currency', sql<bigint>`cast(sum(value) as bigint)`.as('total'), sql<bigint>`count(*)`.as('n')])
    .where('state', '=', 'unspent')
    .groupBy('currency')
    .orderBy('currency')
    .execute();
  return { balances: rows.map((r) => ({ currency: r.currency, amount: amountString(r.currency, BigInt(r.total)), coins: Number(r.n) })) };
}

export type CoinView = { coinPub: string; denominationId: string; value: string; state: CoinState; derivationIndex: number; createdAt: string };

export async function walletCoins(wallet: OpenedWallet, opts: { state?: CoinState } = {}): Promise<{ coins: CoinView[] }> {
  let q = wallet.db.selectFrom('wallet_coins').selectAll().orderBy('derivation_index');
  if (opts.state !== undefined) q = q.where('state', '=', opts.state);
  const rows = await q.execute();
  return {
    coins: rows.map((r) => ({
      coinPub: r.coin_pub,
      denominationId: r.denomination_id,
      value: amountString(r.currency, BigInt(r.value)),
      state: r.state,
      derivationIndex: Number(r.derivation_index),
      createdAt: r.created_at,
    })),
  };
}
