// What the payment server tells this shop without being asked (its outbox,
// src/payment/notifications.ts): a payment state once a transaction is paid,
// a repayment state once a permit is repaid or acknowledged.
//
//   POST /v1/notifications/payment-state    PaymentStateAnswer (carries the signed receipt)
//   POST /v1/notifications/repayment-state  { state: signed RepaymentState }
//
// No credentials: nothing unsigned is believed. The receipt and the
// repayment state are checked exactly as when the shop asks (settle.ts,
// repayment-state.ts) — signed by the payment server the order's invoice
// named, with the key sent with the invoice, about this shop's transaction —
// so anyone may post, and a forgery is refused and changes nothing. 200 when
// recorded (or already known); a 4xx tells the payment server not to retry;
// 503 (CRL unavailable) asks it to retry later.
import type { FastifyInstance } from 'fastify';
import { parseOrThrow } from '../../http/validate.ts';
import { PaymentStateAnswer } from '../../protocol/messages/merchant.ts';
import { RepaymentStateAnswer } from '../../protocol/messages/payment.ts';
import { err, ok } from '../../protocol/result.ts';
import type { MerchantDeps } from '../deps.ts';
import { acceptNotifiedRepaymentState } from '../repayment-state.ts';
import { settleFromAnswer } from '../settle.ts';
import { sendResult } from './send.ts';

export function notificationRoutes(app: FastifyInstance, deps: MerchantDeps): void {
  app.post('/v1/notifications/payment-state', async (request, reply) => {
    const body = parseOrThrow(PaymentStateAnswer, request.body);
    void reply.header('cache-control', 'no-store');
    if (body.shopId !== deps.signer.partyId) return sendResult(reply, err('MERCHANT_NOT_THIS_SHOP', `the payment state is about shop ${body.shopId}, this is ${deps.signer.partyId}`));
    const order = await deps.db.selectFrom('merchant_orders').select('transaction_id').where('transaction_id', '=', body.transactionId).executeTakeFirst();
    if (!order) return sendResult(reply, err('MERCHANT_ORDER_NOT_FOUND', `no order ${body.transactionId}`));
    const r = await settleFromAnswer(deps, body.transactionId, body);
    if (!r.ok) return sendResult(reply, r);
    return sendResult(reply, ok({ transactionId: r.value.transactionId, paymentState: r.value.paymentState }));
  });

  app.post('/v1/notifications/repayment-state', async (request, reply) => {
    const body = parseOrThrow(RepaymentStateAnswer, request.body);
    void reply.header('cache-control', 'no-store');
    const r = await acceptNotifiedRepaymentState(deps, body.state);
    if (!r.ok) {
      // Asked-for answers that fail are the payment server's fault (502);
      // a notification that fails is refused (422) and not worth retrying.
      if (r.code === 'MERCHANT_REPAYMENT_STATE_INVALID' || r.code === 'MERCHANT_REPAYMENT_STATE_MISMATCH') {
        return sendResult(reply, err('MERCHANT_NOTIFICATION_REFUSED', r.message, { cause: r.code, ...(r.details && typeof r.details === 'object' ? r.details : {}) }));
      }
      return sendResult(reply, r);
    }
    return sendResult(reply, ok({ refund: r.value }));
  });
}
