// JSON over fetch for every page. Errors come back in the servers' one shape
// { code, message } and are thrown as ApiError, shown as "code: message".

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

export type ApiOptions = {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Sent as `Authorization: Bearer …`. */
  token?: string | null;
  signal?: AbortSignal;
};

/** Fetches `url` (relative to the page) and returns its JSON; a non-2xx answer throws ApiError. */
export async function api<T>(url: string, opts: ApiOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(url, { method: opts.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK_ERROR', `the server could not be reached (${(e as Error).message})`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok) {
    const e = (json ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
    throw new ApiError(res.status, typeof e.code === 'string' ? e.code : `HTTP_${res.status}`, typeof e.message === 'string' ? e.message : res.statusText || 'request failed', e.details);
  }
  return json as T;
}

/** How an error is shown on every page. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** POST with an empty JSON body (the servers accept only application/json). */
export function post<T>(url: string, body: unknown = {}, token?: string | null): Promise<T> {
  return api<T>(url, { method: 'POST', body, token: token ?? null });
}
