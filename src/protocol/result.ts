// Expected failures are values, not exceptions (STYLE: "Errors are codes").
// A `Result` either carries the value or a stable code plus a human message.

export type Ok<T> = { readonly ok: true; readonly value: T };
export type Err<C extends string> = {
  readonly ok: false;
  readonly code: C;
  readonly message: string;
  readonly details?: unknown;
};
export type Result<T, C extends string> = Ok<T> | Err<C>;

export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

export function err<C extends string>(code: C, message: string, details?: unknown): Err<C> {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}
