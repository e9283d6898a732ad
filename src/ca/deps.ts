import type { Kysely } from 'kysely';
import type { Authority } from './authority.ts';
import type { CaConfig } from './config.ts';
import type { CaDatabase } from './db.ts';

/** Everything the CA needs, passed in plainly (STYLE: "Servers are thin"). */
export type CaDeps = {
  db: Kysely<CaDatabase>;
  authority: Authority;
  config: CaConfig;
  clock: () => Date;
  random: (bytes: number) => Uint8Array;
  /** Catches a unique-constraint violation on either dialect. */
  isUniqueViolation: (e: unknown) => boolean;
};
