// The payment server as a client of the bank (src/protocol/messages/bank.ts):
// read its own account, long-poll its incoming history, send money back. Every
// answer is sorted into three kinds, because the loader acts differently on
// each: `ok`; `refused` (the bank said no, with its code); `unavailable`
// (network failure, timeout, 5xx, an answer we cannot read: try again later).
import type { z } from 'zod';
import { AccountView, HistoryResponse, TransferView, type TransferRequest } from '../protocol/messages/bank.ts';

export type Fetch = typeof fetch;

export type BankCall<T> =
  | { kind: 'ok'; status: number; value: T }
  | { kind: 'refused'; status: number; code: string; message: string }
  | { kind: 'unavailable'; message: string };

export type BankEndpoint = { url: string; token: string };

type Request<S extends z.ZodType> = {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  schema: S;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
};

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

export async function bankRequest<S extends z.ZodType>(fetchImpl: Fetch, bank: BankEndpoint, req: Request<S>): Promise<BankCall<z.infer<S>>> {
  const headers: Record<string, string> = { authorization: `Bearer ${bank.token}`, accept: 'application/json' };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  let status: number;
  let text: string;
  try {
    const res = await fetchImpl(joinUrl(bank.url, req.path), {
      method: req.method,
      headers,
      signal,
      redirect: 'error',
      ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    });
    status = res.status;
    text = await res.text();
  } catch (e) {
    const why = timeout.aborted ? `no answer within ${req.timeoutMs} ms` : req.signal?.aborted ? 'stopped' : (e as Error).message;
    return { kind: 'unavailable', message: `the bank at ${bank.url} cannot be reached: ${why}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (status >= 200 && status < 300) {
    const parsed = req.schema.safeParse(body);
    if (!parsed.success) return { kind: 'unavailable', message: `the bank answered ${req.method} ${req.path.split('?')[0]} with a body that is not the expected message` };
    return { kind: 'ok', status, value: parsed.data };
  }
  if (status >= 400 && status < 500) {
    const b = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown; message?: unknown };
    return {
      kind: 'refused',
      status,
      code: typeof b.code === 'string' ? b.code.slice(0, 64) : `HTTP_${status}`,
      message: typeof b.message === 'string' ? b.message.slice(0, 300) : '',
    };
  }
  return { kind: 'unavailable', message: `the bank answered ${status}` };
}

export function getBankAccount(fetchImpl: Fetch, bank: BankEndpoint, accountId: string, signal?: AbortSignal): Promise<BankCall<AccountView>> {
  return bankRequest(fetchImpl, bank, { method: 'GET', path: `/v1/accounts/${encodeURIComponent(accountId)}`, schema: AccountView, timeoutMs: 15_000, signal });
}

/** Incoming entries after `after`; the bank holds the request up to `waitSeconds` (it caps the wait itself) when there is none. */
export function incomingHistory(
  fetchImpl: Fetch,
  bank: BankEndpoint,
  q: { accountId: string; after: number; waitSeconds: number; limit?: number },
  signal?: AbortSignal,
): Promise<BankCall<HistoryResponse>> {
  const query = new URLSearchParams({ direction: 'incoming', after: String(q.after), wait: String(q.waitSeconds), limit: String(q.limit ?? 100) });
  return bankRequest(fetchImpl, bank, {
    method: 'GET',
    path: `/v1/accounts/${encodeURIComponent(q.accountId)}/history?${query}`,
    schema: HistoryResponse,
    timeoutMs: (q.waitSeconds + 15) * 1000,
    signal,
  });
}

/** Idempotent at the bank by (from, transferId): a repeat is answered 200 with the first answer. */
export function sendBankTransfer(fetchImpl: Fetch, bank: BankEndpoint, t: TransferRequest, signal?: AbortSignal): Promise<BankCall<z.infer<typeof TransferView>>> {
  return bankRequest(fetchImpl, bank, { method: 'POST', path: '/v1/transfers', body: t, schema: TransferView, timeoutMs: 15_000, signal });
}
