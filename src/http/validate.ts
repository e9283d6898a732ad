import type { z } from 'zod';
import { httpError } from './errors.ts';

export type SchemaIssue = { path: string; message: string };

/** Renders zod issues as `{ path: "lines.0.quantity", message }` for a 400 answer. */
export function describeIssues(error: z.ZodError): SchemaIssue[] {
  return error.issues.slice(0, 20).map((i) => ({
    path: i.path.map(String).join('.') || '(root)',
    message: i.message,
  }));
}

/** Parses untrusted input with a strict schema or throws a 400 HTTP_SCHEMA_INVALID. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw httpError('HTTP_SCHEMA_INVALID', `${what} does not match the schema`, describeIssues(r.error));
  return r.data;
}
