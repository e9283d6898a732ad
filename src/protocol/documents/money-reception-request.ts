// Message 150: sent with the invoice JWS countersigned by the shopper. The
// countersignature is the acceptance; this small document, signed by the same
// key, names the payment server and the moment of the request, so it cannot be
// replayed to another payment server and the request itself is evidence.
import { z } from 'zod';
import { PartyId } from '../identity.ts';
import { PurchaserId, Rfc3339Utc, Sha256B64u, ShortId } from './fields.ts';

export const MONEY_RECEPTION_REQUEST_TYP = 'quittance.money-reception-request.v1+json';

export const MoneyReceptionRequest = z.strictObject({
  typ: z.literal(MONEY_RECEPTION_REQUEST_TYP),
  transactionId: ShortId,
  invoiceHash: Sha256B64u,
  purchaserId: PurchaserId,
  paymentServerId: PartyId,
  time: Rfc3339Utc,
});
export type MoneyReceptionRequest = z.infer<typeof MoneyReceptionRequest>;
