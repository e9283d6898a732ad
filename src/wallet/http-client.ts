// JSON over HTTP to the bank, the payment server and merchants, as any client would:
// fetch(), the wire schemas of src/protocol/messages, every answer checked
// against its schema. A refusal keeps the server's own code (BANK_…, PAY_…,
// HTTP_…); an unreachable or incoherent server gets the wallet's code.
import type { z } from 'zod';
import { err, ok, type Result } from '../protocol/result.ts';
import type { WalletErrorCode } from './errors.ts';

export type Fetch = typeof globalThis.fetch;

export type Server = 'bank' | 'payment' | 'merchant';

/** A code the server sent: its own prefix or its HTTP pipeline's. */
export type RemoteCode = `BANK_${string}` | `PAY_${string}` | `MERCHANT_${string}` | `HTTP_${string}`;

export type ClientCode =
  | Extract<
      WalletErrorCode,
      'WALLET_BANK_UNREACHABLE' | 'WALLET_BANK_RESPONSE_INVALID' | 'WALLET_PAYMENT_UNREACHABLE' | 'WALLET_PAYMENT_RESPONSE_INVALID' | 'WALLET_MERCHANT_UNREACHABLE' | 'WALLET_MERCHANT_RESPONSE_INVALID'
    >
  | RemoteCode;

const CODES = {
  bank: { unreachable: 'WALLET_BANK_UNREACHABLE', invalid: 'WALLET_BANK_RESPONSE_INVALID', remote: /^(BANK|HTTP)_[A-Z0-9_]{1,60}$/, name: 'the bank' },
  payment: { unreachable: 'WALLET_PAYMENT_UNREACHABLE', invalid: 'WALLET_PAYMENT_RESPONSE_INVALID', remote: /^(PAY|HTTP)_[A-Z0-9_]{1,60}$/, name: 'the payment server' },
  merchant: { unreachable: 'WALLET_MERCHANT_UNREACHABLE', invalid: 'WALLET_MERCHANT_RESPONSE_INVALID', remote: /^(MERCHANT|HTTP)_[A-Z0-9_]{1,60}$/, name: 'the merchant' },
} as const;

// Answers are small; a hostile or broken server must not fill memory.
const MAX_BODY_BYTES = 1024 * 1024;

export type Call<S extends z.ZodType> = {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Bearer token (the bank's holder token). */
  token?: string;
  schema: S;
  /** For messages: "the transfer", "the withdrawal". */
  what: string;
  /** Gives up after this long (a long poll passes its wait plus a margin). Default 30 s. */
  timeoutMs?: number;
  /**
   * Answer a 404 with `ok({ status: 404, value: undefined })` instead of a
   * refusal: for an endpoint the other side may not offer yet.
   */
  allowNotFound?: boolean;
};

export type Answer<T> = { status: number; value: T };

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

function causeOf(e: unknown): string {
  const c = (e as Error).cause;
  return c instanceof Error ? c.message : (e as Error).message;
}

export function callJson<S extends z.ZodType>(fetchFn: Fetch, server: Server, base: string, call: Call<S> & { allowNotFound?: false }): Promise<Result<Answer<z.infer<S>>, ClientCode>>;
export function callJson<S extends z.ZodType>(fetchFn: Fetch, server: Server, base: string, call: Call<S> & { allowNotFound: true }): Promise<Result<Answer<z.infer<S> | undefined>, ClientCode>>;
export async function callJson<S extends z.ZodType>(fetchFn: Fetch, server: Server, base: string, call: Call<S>): Promise<Result<Answer<z.infer<S> | undefined>, ClientCode>> {
  const c = CODES[server];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  if (call.token !== undefined) headers.authorization = `Bearer ${call.token}`;
  let res: Response;
  let bytes: Uint8Array;
  try {
    res = await fetchFn(new URL(call.path, base), {
      method: call.method,
      headers,
      ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(call.timeoutMs ?? 30_000),
    });
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    return err(c.unreachable, `cannot reach ${c.name} at ${base} (${call.what}): ${causeOf(e)}`);
  }
  if (bytes.length > MAX_BODY_BYTES) return err(c.invalid, `${c.name}'s answer to ${call.what} is too large`);
  const json = parseJson(bytes);
  if (res.status === 404 && call.allowNotFound === true) return ok({ status: 404, value: undefined });
  if (res.status < 200 || res.status > 299) {
    const body = json as { code?: unknown; message?: unknown; details?: unknown } | undefined;
    if (typeof body?.code === 'string' && c.remote.test(body.code)) {
      return err(body.code as RemoteCode, `${c.name} refused ${call.what}: ${typeof body.message === 'string' ? body.message : ''}`, body.details);
    }
    return err(c.invalid, `${c.name} answered ${call.what} with HTTP ${res.status} and no error code`);
  }
  const parsed = call.schema.safeParse(json);
  if (!parsed.success) return err(c.invalid, `${c.name}'s answer to ${call.what} is not the documented message`);
  return ok({ status: res.status, value: parsed.data });
}
