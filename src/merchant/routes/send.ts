import type { FastifyReply } from 'fastify';
import { sendCoded } from '../../http/send-result.ts';
import type { Result } from '../../protocol/result.ts';
import { MERCHANT_STATUS, type MerchantHttpErrorCode } from '../errors.ts';

/** Sends a service result with this party's status map (src/http/send-result.ts). */
export function sendResult<T>(reply: FastifyReply, result: Result<T, MerchantHttpErrorCode>, status = 200): FastifyReply {
  return sendCoded(reply, result, MERCHANT_STATUS, status);
}
