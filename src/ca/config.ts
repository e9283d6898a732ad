// The CA's configuration file (`DIR/ca.json`), parsed once at start-up with a
// schema: a bad value stops the process with the path of the bad field.
import { z } from 'zod';

export const CaConfig = z.strictObject({
  /** Common name of the root certificate, for display. */
  name: z.string().min(1).max(128),
  /** SHA-256 (hex) of each accepted operator token. Tokens themselves are never stored. */
  adminTokenHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(16),
  certificateLifetimeDays: z.number().int().min(1).max(3650).default(365),
  /** How long a published CRL stays valid; relying parties refuse it after nextUpdate. */
  crlValidityHours: z.number().int().min(1).max(24 * 31).default(24),
  /** Demo only: issue certificates at registration without an operator. */
  autoApprove: z.boolean().default(false),
  /** Database URL; a relative sqlite path is relative to the data directory. */
  db: z.string().min(1).default('sqlite:ca.sqlite'),
  registrationRateLimit: z
    .strictObject({ max: z.number().int().min(1).max(100_000), windowSeconds: z.number().int().min(1).max(86_400) })
    .default({ max: 30, windowSeconds: 60 }),
});
export type CaConfig = z.infer<typeof CaConfig>;
