// Revocation for certified orders: the CA's current CRL (GET /v1/ca/crl, DER),
// fetched on demand and kept for a minute. A failed refresh keeps the last CRL
// (path validation refuses it once it is stale: fail closed); with no CRL at
// all the order is refused, never accepted unchecked.
import { fetchedCaCrl } from '../http/crl-source.ts';
import { err, ok, type Result } from '../protocol/result.ts';

export type CrlSet = { readonly crls: readonly Uint8Array[]; readonly required: boolean };
export type CrlSource = () => Promise<Result<CrlSet, 'MERCHANT_CRL_UNAVAILABLE'>>;

export { CRL_MAX_AGE_SECONDS } from '../http/crl-source.ts';

/** No CA configured: certificate paths are checked without revocation (stated in the README). */
export const noRevocationCheck: CrlSource = () => Promise.resolve(ok({ crls: [], required: false }));

export function caCrlSource(caUrl: string, deps: { fetch: typeof fetch; clock: () => Date }): CrlSource {
  const crl = fetchedCaCrl(caUrl, deps);
  return async () => {
    const der = await crl();
    if (der === undefined) return err('MERCHANT_CRL_UNAVAILABLE', 'the CA revocation list cannot be fetched; certified orders cannot be checked now');
    return ok({ crls: [der], required: true });
  };
}
