import type { FastifyReply } from 'fastify';
import type { Result } from '../../protocol/result.ts';
import { BANK_STATUS, type BankErrorCode } from '../errors.ts';

/** Sends a service result: the value with `status`, or the coded error with its mapped status. */
export function sendResult<T>(reply: FastifyReply, result: Result<T, BankErrorCode>, status = 200): FastifyReply {
  if (result.ok) return reply.code(status).send(result.value);
  const body = result.details === undefined
    ? { code: result.code, message: result.message }
    : { code: result.code, message: result.message, details: result.details };
  return reply.code(BANK_STATUS[result.code]).send(body);
}
