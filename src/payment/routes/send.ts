import type { FastifyReply } from 'fastify';
import type { Result } from '../../protocol/result.ts';
import { PAY_STATUS, type PayHttpErrorCode } from '../errors.ts';

/** Sends a service result: the value with `status`, or the coded error with its mapped status. */
export function sendResult<T>(reply: FastifyReply, result: Result<T, PayHttpErrorCode>, status = 200): FastifyReply {
  if (result.ok) return reply.code(status).send(result.value);
  const body = result.details === undefined
    ? { code: result.code, message: result.message }
    : { code: result.code, message: result.message, details: result.details };
  return reply.code(PAY_STATUS[result.code]).send(body);
}
