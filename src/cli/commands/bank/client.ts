// The bank commands that talk to a running bank do so over HTTP (fetch), as
// any other client would; they never open its database.
import { UsageError, requireString } from '../../command.ts';

export const URL_OPT = { type: 'string', description: 'base URL of the bank (e.g. http://127.0.0.1:7002)', valueName: 'URL' } as const;
export const TOKEN = { type: 'string', description: 'account holder token (printed by open-account)', valueName: 'T' } as const;
export const OPERATOR_TOKEN = { type: 'string', description: "the bank operator's token (printed by bank init)", valueName: 'T' } as const;
export { JSON_OUT } from '../../output.ts';

export type BankReply = { status: number; body: Record<string, unknown> };

export function baseUrl(values: Record<string, unknown>): URL {
  const raw = requireString(values, 'url');
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: ${raw}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError('--url must be http:// or https://');
  return u;
}

/** The bearer token from --token or --operator-token (exactly one when `required`). */
export function token(values: Record<string, unknown>, required = true): string | undefined {
  const t = values.token;
  const o = values['operator-token'];
  if (typeof t === 'string' && typeof o === 'string') throw new UsageError('give --token or --operator-token, not both');
  const v = typeof t === 'string' ? t : typeof o === 'string' ? o : undefined;
  if (v === undefined && required) throw new UsageError('--token (or --operator-token) is required');
  return v;
}

export async function call(base: URL, method: 'GET' | 'POST', path: string, bearer: string | undefined, body?: unknown): Promise<BankReply> {
  const headers: Record<string, string> = {};
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, base), { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`the bank answered ${res.status} with a body that is not JSON`);
  }
  return { status: res.status, body: parsed };
}

/** Prints a coded error the way every quittance command does and returns exit 1. */
export function refused(io: { out: (t: string) => void; err: (t: string) => void }, json: boolean, reply: BankReply): number {
  const code = String(reply.body.code ?? `HTTP_${reply.status}`);
  const message = String(reply.body.message ?? '');
  if (json) io.out(JSON.stringify({ ok: false, code, message, ...(reply.body.details !== undefined ? { details: reply.body.details } : {}) }) + '\n');
  else io.err(`${code}: ${message}\n`);
  return 1;
}
