import type { Kysely } from 'kysely';
import type { VerificationCache } from '../protocol/x509/index.ts';
import type { MerchantConfig } from './config.ts';
import type { CrlSource } from './crl.ts';
import type { MerchantDatabase } from './db.ts';
import type { MerchantSigner, PaymentServerRef } from './signer.ts';

/** Everything the merchant server needs, passed in plainly (STYLE: "Servers are thin"). */
export type MerchantDeps = {
  db: Kysely<MerchantDatabase>;
  config: MerchantConfig;
  signer: MerchantSigner;
  /** Absent until the shop names a payment server: then no order can be invoiced. */
  paymentServer?: PaymentServerRef;
  /** The CA root(s) certified orders must chain to: the root of the merchant's own chain. */
  trustAnchors: readonly Uint8Array[];
  crls: CrlSource;
  clock: () => Date;
  /** A fresh transaction id (fig. 11), a ShortId. */
  newTransactionId: () => string;
  /** A fresh repayment permit id (fig. 18), a ShortId `pm-…`; absent: 128 random bits. */
  newPermitId?: () => string;
  /** Catches a unique-constraint violation on either dialect. */
  isUniqueViolation: (e: unknown) => boolean;
  /** Per-process memo of certificate and CRL work; every policy check still runs. */
  verificationCache: VerificationCache;
  /**
   * Asks the payment server about a transaction (settle.ts) or a repayment
   * permit (repayment-state.ts); tests pass one
   * that injects into a test app. Absent: the global fetch.
   */
  fetch?: typeof fetch;
};
