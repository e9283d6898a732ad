import type { Kysely } from 'kysely';
import type { BankConfig } from './config.ts';
import type { BankDatabase } from './db.ts';

/** Everything the bank needs, passed in plainly (STYLE: "Servers are thin"). */
export type BankDeps = {
  db: Kysely<BankDatabase>;
  config: BankConfig;
  clock: () => Date;
  random: (bytes: number) => Uint8Array;
  /** Catches a unique-constraint violation on either dialect. */
  isUniqueViolation: (e: unknown) => boolean;
  /** Waits between long-poll looks at the database (tests may shorten it). */
  sleep: (ms: number) => Promise<unknown>;
};
