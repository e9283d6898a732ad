// The bank's configuration file (`DIR/bank.json`), parsed once at start-up
// with a schema: a bad value stops the process with the path of the bad field.
import { z } from 'zod';

export const BankConfig = z.strictObject({
  name: z.string().min(1).max(128),
  /** SHA-256 (hex) of each accepted operator token. Tokens themselves are never stored. */
  adminTokenHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(16),
  /** Demo only: anyone may open an account (and gets its holder token). */
  selfService: z.boolean().default(false),
  /** Database URL; a relative sqlite path is relative to the data directory. */
  db: z.string().min(1).default('sqlite:bank.sqlite'),
  /** Upper bound for `wait` on the history endpoint (long polling), seconds. */
  maxWaitSeconds: z.number().int().min(0).max(300).default(30),
  /** How often a long poll looks at the database; the database is the only shared state. */
  pollIntervalMs: z.number().int().min(10).max(5000).default(150),
  selfServiceRateLimit: z
    .strictObject({ max: z.number().int().min(1).max(100_000), windowSeconds: z.number().int().min(1).max(86_400) })
    .default({ max: 30, windowSeconds: 60 }),
});
export type BankConfig = z.infer<typeof BankConfig>;
