// The daemon listens on loopback with an unlocked wallet behind it. Every web
// page the user visits can make the browser send requests to it, so:
//
//   - Host must be the daemon's own host:port (or localhost:port). A page on
//     evil.example whose DNS name is rebound to 127.0.0.1 sends
//     `Host: evil.example` — refused (403), whatever it asks.
//   - Origin, when the browser sends one, must be the daemon's own origin: a
//     cross-site fetch or form post always carries its page's origin (403).
//     No CORS headers are ever sent, so no other origin can read an answer.
//   - /api needs `Authorization: Bearer <token>` (401): a fresh random token
//     per run, printed in the URL fragment (#token=…), which browsers never
//     send to any server; a page that cannot read the URL cannot guess it.
//     The comparison is constant-time (on SHA-256 digests of equal length).
//   - Pages and answers may not be framed (clickjacking the OK of the trusted
//     display) nor cached.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors.ts';
import { WALLETD_STATUS, type WalletdErrorCode } from './errors.ts';

export type Listening = {
  /** The configured listen address (a loopback address or `localhost`). */
  host: string;
  /** The port actually listened on (0 before listening: then the configured one). */
  port: () => number;
};

function refuse(code: WalletdErrorCode, message: string): HttpError {
  return new HttpError(WALLETD_STATUS[code], code, message);
}

/** `host:port` as a Host header names it (IPv6 in brackets), lower case. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase();
}

/** The Host values the daemon answers to: its own address and localhost, at its port. */
export function allowedHosts(l: Listening): Set<string> {
  const port = l.port();
  return new Set([hostPort(l.host, port), hostPort('localhost', port)]);
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function tokenMatches(presented: string, token: string): boolean {
  return timingSafeEqual(digest(presented), digest(token));
}

/** Host and Origin, on every request (pages and API alike). */
export function guardHostAndOrigin(app: FastifyInstance, l: Listening): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const hosts = allowedHosts(l);
    const host = request.headers.host?.toLowerCase();
    if (host === undefined || !hosts.has(host)) throw refuse('WALLETD_HOST_FORBIDDEN', `this wallet answers only to ${[...hosts].join(' or ')}`);
    const origin = request.headers.origin;
    // "null" (sandboxed frames, file: pages) is an origin too, and not ours.
    if (origin !== undefined && ![...hosts].some((h) => origin.toLowerCase() === `http://${h}`)) {
      throw refuse('WALLETD_ORIGIN_FORBIDDEN', 'requests from other web pages are refused');
    }
  });
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('cache-control', 'no-store');
    void reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  });
}

/** The bearer token, on every route of the plugin it is added to (the /api prefix). */
export function requireToken(app: FastifyInstance, token: string): void {
  if (token.length < 32) throw new TypeError('token: at least 32 characters of randomness expected');
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const auth = request.headers.authorization;
    if (auth === undefined) throw refuse('WALLETD_TOKEN_REQUIRED', 'open the wallet with the URL `quittance wallet serve` printed (it carries the session token)');
    const m = /^Bearer ([A-Za-z0-9_-]{1,256})$/.exec(auth);
    if (!m || !tokenMatches(m[1]!, token)) throw refuse('WALLETD_TOKEN_INVALID', 'not this wallet session\'s token (a restarted daemon prints a new URL)');
  });
}
