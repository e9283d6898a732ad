// Correctness under concurrency comes from the database (DESIGN §6): a
// SERIALIZABLE transaction that loses a race is aborted, and the right answer is
// to run the whole transaction again. Jitter keeps two losers from colliding
// again in lock-step.
import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableConflict } from './db-errors.ts';

export interface RetryOptions {
  /** Total tries, first included (default 5). */
  attempts?: number;
  /** First backoff ceiling in ms, doubled each retry (default 10). */
  baseDelayMs?: number;
  /** Largest backoff ceiling in ms (default 1000). */
  maxDelayMs?: number;
  /** For tests: a source of uniform [0, 1) numbers and a sleep. */
  random?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/**
 * Runs `fn` (which must open its own transaction) and runs it again on a
 * serialization failure, deadlock or SQLITE_BUSY. Any other error, or the last
 * conflict, is thrown unchanged.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1) throw new TypeError('attempts: expected an integer >= 1');
  const base = opts.baseDelayMs ?? 10;
  const max = opts.maxDelayMs ?? 1000;
  const random = opts.random ?? Math.random;
  const pause = opts.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= attempts || !isRetryableConflict(e)) throw e;
      // "Full jitter": uniform in [0, min(max, base * 2^(attempt-1))).
      await pause(Math.floor(random() * Math.min(max, base * 2 ** (attempt - 1))));
    }
  }
}
