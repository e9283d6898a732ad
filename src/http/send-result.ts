import type { FastifyReply } from 'fastify';
import type { Result } from '../protocol/result.ts';

/**
 * Sends a service result: the value with `okStatus`, or the coded error with the
 * status its party maps it to (a `Record<Code, number>`, so an unmapped code is
 * a compile error), in the one wire shape `{ code, message, details? }`.
 */
export function sendCoded<T, C extends string>(reply: FastifyReply, result: Result<T, C>, statusOf: Record<C, number>, okStatus = 200): FastifyReply {
  if (result.ok) return reply.code(okStatus).send(result.value);
  const body: { code: string; message: string; details?: unknown } = result.details === undefined
    ? { code: result.code, message: result.message }
    : { code: result.code, message: result.message, details: result.details };
  const status: number = statusOf[result.code];
  return reply.code(status).send(body);
}
