// The wallet talks to the CA as any client would: fetch() and the wire messages
// of src/protocol/messages/ca.ts, each answer checked against its schema. A CA
// refusal keeps the CA's own code; an unreachable or incoherent CA gets ours.
import { RegistrationView, type RegistrationRequest } from '../protocol/messages/ca.ts';
import { pemToDer } from '../protocol/x509/index.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import type { WalletErrorCode } from './errors.ts';

/** A code the CA server sent (its own CA_… or its HTTP pipeline's HTTP_…). */
export type RemoteCode = `CA_${string}` | `HTTP_${string}`;
export type CaClientCode = Extract<WalletErrorCode, 'WALLET_CA_UNREACHABLE' | 'WALLET_CA_RESPONSE_INVALID'> | RemoteCode;

export type Fetch = typeof globalThis.fetch;

// A CA answer is small; a hostile or broken server must not fill memory.
const MAX_BODY_BYTES = 256 * 1024;

async function request(fetchFn: Fetch, base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Result<{ status: number; bytes: Uint8Array }, CaClientCode>> {
  let res: Response;
  try {
    res = await fetchFn(new URL(path, base), {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      redirect: 'error',
    });
  } catch (e) {
    return err('WALLET_CA_UNREACHABLE', `cannot reach the CA at ${base}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) return err('WALLET_CA_RESPONSE_INVALID', `the CA's answer to ${method} ${path} is too large`);
  return ok({ status: res.status, bytes });
}

function json(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

function refusal(status: number, bytes: Uint8Array, what: string): Result<never, CaClientCode> {
  const body = json(bytes) as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  const code = body?.code;
  if (typeof code === 'string' && /^(CA|HTTP)_[A-Z0-9_]{1,60}$/.test(code)) {
    return err(code as RemoteCode, `the CA refused ${what}: ${typeof body?.message === 'string' ? body.message : ''}`, body?.details);
  }
  return err('WALLET_CA_RESPONSE_INVALID', `the CA answered ${what} with HTTP ${status} and no error code`);
}

async function registrationCall(fetchFn: Fetch, base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Result<RegistrationView, CaClientCode>> {
  const r = await request(fetchFn, base, method, path, body);
  if (!r.ok) return r;
  const what = method === 'POST' ? 'the registration' : 'the registration query';
  if (r.value.status < 200 || r.value.status > 299) return refusal(r.value.status, r.value.bytes, what);
  const view = RegistrationView.safeParse(json(r.value.bytes));
  if (!view.success) return err('WALLET_CA_RESPONSE_INVALID', `the CA's answer to ${what} is not a RegistrationView`);
  return ok(view.data);
}

export function postRegistration(fetchFn: Fetch, base: string, req: RegistrationRequest): Promise<Result<RegistrationView, CaClientCode>> {
  return registrationCall(fetchFn, base, 'POST', '/v1/registrations', req);
}

export function getRegistration(fetchFn: Fetch, base: string, id: string): Promise<Result<RegistrationView, CaClientCode>> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new TypeError('id: expected a registration id');
  return registrationCall(fetchFn, base, 'GET', `/v1/registrations/${id}`);
}

/** PEM blocks of a chain, in order. */
export function splitPemChain(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

/** GET /v1/ca/chain: the CA's certificates (PEM, the root last). */
export async function getCaChain(fetchFn: Fetch, base: string): Promise<Result<string[], CaClientCode>> {
  const r = await request(fetchFn, base, 'GET', '/v1/ca/chain');
  if (!r.ok) return r;
  if (r.value.status !== 200) return refusal(r.value.status, r.value.bytes, 'the CA chain request');
  const pems = splitPemChain(new TextDecoder().decode(r.value.bytes));
  if (pems.length === 0 || pems.some((p) => pemToDer(p, 'CERTIFICATE') === undefined)) return err('WALLET_CA_RESPONSE_INVALID', 'the CA chain is not PEM certificates');
  return ok(pems);
}

/** GET /v1/ca/crl: the current CRL, DER (parsed and checked by validatePath). */
export async function getCrl(fetchFn: Fetch, base: string): Promise<Result<Uint8Array, CaClientCode>> {
  const r = await request(fetchFn, base, 'GET', '/v1/ca/crl');
  if (!r.ok) return r;
  if (r.value.status !== 200) return refusal(r.value.status, r.value.bytes, 'the CRL request');
  return ok(r.value.bytes);
}
