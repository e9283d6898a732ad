import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { PaymentConfig } from './config.ts';
import type { PaymentDatabase } from './db.ts';
import type { CaCrl } from '../http/crl-source.ts';
import type { PaymentSigner } from './signer.ts';

/**
 * The payment server's own account(s) at the bank (DIR/bank-link.json, written
 * by `quittance payment link-bank`): where shoppers send money to load a
 * reserve, watched by loader.ts. Absent: the server takes no loads.
 */
export type BankLink = {
  /** The bank's base URL. */
  url: string;
  /** The bank holder token of the payment server (bearer). */
  token: string;
  accounts: { currency: string; accountId: string }[];
};

/** Everything the payment server needs, passed in plainly (STYLE: "Servers are thin"). */
export type PaymentDeps = {
  db: Kysely<PaymentDatabase>;
  config: PaymentConfig;
  signer: PaymentSigner;
  /** AES-256 key wrapping the denomination private keys (key-wrap.ts), derived once at start-up. */
  wrapKey: KeyObject;
  clock: () => Date;
  /** Catches a unique-constraint violation on either dialect. */
  isUniqueViolation: (e: unknown) => boolean;
  /** Per-process caches; shared state lives in the database only. */
  caches: PaymentCaches;
  bankLink?: BankLink;
  /** The CA's current CRL when payment.json names the CA (caUrl); see src/http/crl-source.ts. */
  caCrl?: CaCrl;
};

export type PaymentCaches = {
  /** Unwrapped denomination private keys by id. */
  privateKeys: Map<string, KeyObject>;
  /** The last signed key list and the key set it covers. */
  keyList?: { setId: string; jws: unknown };
};

export function newCaches(): PaymentCaches {
  return { privateKeys: new Map() };
}
