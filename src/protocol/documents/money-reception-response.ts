// Message 160: the payment server's signed answer to 150. The wallet checks it
// with the key of the payment-server certificate the merchant named in the
// invoice (140), which authenticates the payment server to the shopper.
import { z } from 'zod';
import { PartyId } from '../identity.ts';
import { Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const MONEY_RECEPTION_RESPONSE_TYP = 'quittance.money-reception-response.v1+json';

export const MoneyReceptionResponse = z.strictObject({
  typ: z.literal(MONEY_RECEPTION_RESPONSE_TYP),
  transactionId: ShortId,
  invoiceHash: Sha256B64u,
  paymentServerId: PartyId,
  accepted: z.boolean(),
  time: Rfc3339Utc,
});
export type MoneyReceptionResponse = z.infer<typeof MoneyReceptionResponse>;
