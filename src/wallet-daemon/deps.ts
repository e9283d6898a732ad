// What the wallet daemon is built from: a plain object, no environment, no
// listening (STYLE "Servers are thin"). `quittance wallet serve` makes it.
import type { FastifyReply } from 'fastify';
import type { FastifyServerOptions } from 'fastify';
import { z } from 'zod';
import type { Result } from '../protocol/result.ts';
import type { Fetch } from '../wallet/http-client.ts';
import type { BankCredentials } from '../wallet/load.ts';
import type { OpenedWallet } from '../wallet/open.ts';
import { statusOf } from './errors.ts';
import type { Listening } from './security.ts';
import type { Sessions } from './sessions.ts';

export type WalletDaemonDeps = {
  wallet: OpenedWallet;
  /** The seed unlocked at start and the passphrase that unlocked it: the daemon signs for its whole run. */
  seed: Uint8Array;
  passphrase: string;
  /** The session token every /api request must bear. */
  token: string;
  listening: Listening;
  now: () => Date;
  fetch: Fetch;
  /** Where loads come from; without it POST /api/loads answers WALLETD_LOADING_NOT_CONFIGURED. */
  loading?: { bank?: BankCredentials; paymentUrl?: string };
  /** Serve the wallet page's built files (index.html and assets) from here. */
  staticDir?: string;
  logger?: FastifyServerOptions['logger'];
  /** An unanswered prompt is Cancel after this long (default 15 minutes). */
  promptTtlMs?: number;
  /** A finished purchase session is kept this long (default 1 hour). */
  retainMs?: number;
  /** Purchases running at once (default 4). */
  maxRunning?: number;
  /** How long a load waits for the payment server's credit before answering WALLET_LOAD_TIMEOUT (default 60 s). */
  loadWaitMs?: number;
  /** Timers (tests replace them): runs `fn` after `ms` unless cancelled. */
  schedule?: (ms: number, fn: () => void) => () => void;
};

/** What the route modules share. */
export type RouteContext = WalletDaemonDeps & { sessions: Sessions };

/** Sends a wallet result: the value, or `{ code, message, details? }` with the code's status. */
export function sendResult<T>(reply: FastifyReply, r: Result<T, string>, okStatus = 200): FastifyReply {
  if (r.ok) return reply.code(okStatus).send(r.value);
  return reply.code(statusOf(r.code)).send({ code: r.code, message: r.message, ...(r.details !== undefined ? { details: r.details } : {}) });
}

export const HttpUrl = z
  .string()
  .max(2048)
  .refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'an http:// or https:// URL');

/** Ids in paths: transaction ids, `SHOP/TX`, request ids, session ids. */
export const PathId = z.string().min(1).max(200);
