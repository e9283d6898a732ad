// A CA's current CRL (GET /v1/ca/crl, DER) for servers that check the
// certificates of the parties they deal with: fetched on demand, kept for a
// minute, one fetch at a time per process. A failed refresh keeps the last
// CRL (path validation refuses it once it is stale: fail closed); with none
// at all the source answers undefined and the caller refuses.

/** A CRL older than this (now − thisUpdate) is stale, whatever its nextUpdate says. */
export const CRL_MAX_AGE_SECONDS = 86_400;
const REFRESH_MS = 60_000;
const MAX_CRL_BYTES = 1024 * 1024;

/** The CA's current CRL (DER), or undefined when none could ever be fetched. */
export type CaCrl = () => Promise<Uint8Array | undefined>;

export function fetchedCaCrl(caUrl: string, deps: { fetch: typeof fetch; clock: () => Date }): CaCrl {
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
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      await inflight;
    }
    return cached?.der;
  };
}
