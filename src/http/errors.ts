// Codes every server can answer with, before any party-specific rule runs:
// the fixed request pipeline of STYLE.md ("size → content type → JSON → schema
// → auth → business rules"). Party modules add their own unions.

export const HTTP_ERROR_CODES = [
  'HTTP_BODY_TOO_LARGE',
  'HTTP_UNSUPPORTED_MEDIA_TYPE',
  'HTTP_JSON_MALFORMED',
  'HTTP_SCHEMA_INVALID',
  'HTTP_NOT_FOUND',
  'HTTP_METHOD_NOT_ALLOWED',
  'HTTP_RATE_LIMITED',
  'HTTP_AUTH_REQUIRED',
  'HTTP_AUTH_INVALID',
  'HTTP_FORBIDDEN',
  'HTTP_INTERNAL',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

export const HTTP_STATUS: Record<HttpErrorCode, number> = {
  HTTP_BODY_TOO_LARGE: 413,
  HTTP_UNSUPPORTED_MEDIA_TYPE: 415,
  HTTP_JSON_MALFORMED: 400,
  HTTP_SCHEMA_INVALID: 400,
  HTTP_NOT_FOUND: 404,
  HTTP_METHOD_NOT_ALLOWED: 405,
  HTTP_RATE_LIMITED: 429,
  HTTP_AUTH_REQUIRED: 401,
  HTTP_AUTH_INVALID: 401,
  HTTP_FORBIDDEN: 403,
  HTTP_INTERNAL: 500,
};

/** The one error shape on the wire (STYLE: "One wire shape"). */
export type ErrorBody = { code: string; message: string; details?: unknown };

/**
 * Thrown inside a route to end the request with a coded error. Routes return
 * business failures as values; this exists so that shared pipeline steps
 * (body parsing, auth) can stop a request from deep inside a helper.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function httpError(code: HttpErrorCode, message: string, details?: unknown): HttpError {
  return new HttpError(HTTP_STATUS[code], code, message, details);
}
