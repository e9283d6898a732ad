// Revocation for certified orders: the CA's current CRL (GET /v1/ca/crl, DER),
// fetched on demand and kept for a minute. A failed refresh keeps the last CRL
// (path validation refuses it once it is stale: fail closed); with no CRL at
// all the order is refused, never accepted unchecked.
import { err, ok, type Result } from '../protocol/result.ts';

export type CrlSet = { readonly crls: readonly Uint8Array[]; readonly required: boolean };
export type CrlSource = () => Promise<Result<CrlSet, 'MERCHANT_CRL_UNAVAILABLE'>>;

/** A CRL older than this (now − thisUpdate) is stale, whatever its nextUpdate says. */
export const CRL_MAX_AGE_SECONDS = 86_400;
const REFRESH_MS = 60_000;
const MAX_CRL_BYTES = 1024 * 1024;

/** No CA configured: certificate paths are checked without revocation (stated in the README). */
export const noRevocationCheck: CrlSource = () => Promise.resolve(ok({ crls: [], required: false }));

export function caCrlSource(caUrl: string, deps: { fetch: typeof fetch; clock: () => Date }): CrlSource {
  let cached: { der: Uint8Array; at: number } | undefined;
  let inflight: Promise<void> | undefined;
  const refresh = async () => {
    try {
      const res = await deps.fetch(new URL('v1/ca/crl', caUrl), { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) return;
      const der = new Uint8Array(await res.arrayBuffer());
      if (der.length > 0 && der.length <= MAX_CRL_BYTES) cached = { der, at: deps.clock().getTime() };
    } catch {
      // Unreachable CA: keep what we have; staleness is judged by path validation.
    }
  };
  return async () => {
    if (!cached || deps.clock().getTime() - cached.at > REFRESH_MS) {
      // One fetch at a time per process, however many orders arrive together.
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      await inflight;
    }
    if (!cached) return err('MERCHANT_CRL_UNAVAILABLE', 'the CA revocation list cannot be fetched; certified orders cannot be checked now');
    return ok({ crls: [cached.der], required: true });
  };
}
