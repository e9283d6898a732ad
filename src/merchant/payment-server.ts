// Talking to the payment server an order's invoice names, and telling its key
// from any other: shared by settling orders (settle.ts, receipts.ts) and
// learning the state of refunds (repayment-state.ts). Nothing the payment
// server says is believed unsigned; these helpers only fetch and compare keys.
import { decodeBase64url } from '../protocol/base64url.ts';
import { INVOICE_TYP, parseDocument, type JwsGeneral } from '../protocol/documents/index.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { parseCertificateDer, x509 } from '../protocol/x509/index.ts';
import type { MerchantDeps } from './deps.ts';
import type { MerchantHttpErrorCode } from './errors.ts';

const FETCH_TIMEOUT_MS = 5_000;
const MAX_ANSWER_CHARS = 256 * 1024;

/** Where to ask: the configured address while the order's payment server is still ours, else the invoice's paymentAddress. */
export function paymentServerUrl(deps: MerchantDeps, paymentServerId: string, invoiceJws: string): string {
  if (deps.paymentServer && deps.paymentServer.partyId === paymentServerId) return deps.paymentServer.url;
  const jws = JSON.parse(invoiceJws) as JwsGeneral;
  const invoice = parseDocument(INVOICE_TYP, JSON.parse(new TextDecoder().decode(decodeBase64url(jws.payload))) as unknown);
  if (!invoice.ok) throw new Error('stored invoice does not parse');
  return invoice.value.paymentAddress;
}

export type Fetched = { status: number; body: unknown };

/** GET `path` (relative, already encoded) at `base`: the status and the JSON body, or MERCHANT_PAYMENT_SERVER_UNREACHABLE. */
export async function getJson(deps: MerchantDeps, base: string, path: string): Promise<Result<Fetched, MerchantHttpErrorCode>> {
  const url = new URL(path, base);
  let status: number;
  let text: string;
  try {
    const res = await (deps.fetch ?? fetch)(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    status = res.status;
    text = await res.text();
  } catch (e) {
    return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', `the payment server at ${url.origin} cannot be reached: ${e instanceof Error ? e.name : 'error'}`);
  }
  if (text.length > MAX_ANSWER_CHARS) return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', 'the payment server answered too much', { status });
  try {
    return ok({ status, body: JSON.parse(text) as unknown });
  } catch {
    return err('MERCHANT_PAYMENT_SERVER_UNREACHABLE', `the payment server answered ${status} without JSON`, { status });
  }
}

/** The `code` of an error body, if it has one. */
export function codeOf(body: unknown): string | undefined {
  const code = typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** SubjectPublicKeyInfo of the first certificate in the first signature's x5c (verifyDocument has checked it exists). */
export function signingKeyOf(jws: JwsGeneral): Uint8Array | undefined {
  try {
    const header = JSON.parse(new TextDecoder().decode(decodeBase64url(jws.signatures[0]!.protected))) as { x5c?: unknown };
    const first = Array.isArray(header.x5c) ? header.x5c[0] : undefined;
    if (typeof first !== 'string') return undefined;
    const cert = parseCertificateDer(Uint8Array.from(atob(first), (c) => c.charCodeAt(0)));
    return cert.ok ? new Uint8Array(cert.value.publicKey.rawData) : undefined;
  } catch {
    return undefined;
  }
}

/** The public key of the payment server certificate stored with an order (payment_server_chain, JSON array of PEM, leaf first). */
export function storedLeafKey(paymentServerChain: string): Uint8Array {
  const pems = JSON.parse(paymentServerChain) as string[];
  const cert = new x509.X509Certificate(pems[0]!);
  return new Uint8Array(cert.publicKey.rawData);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
