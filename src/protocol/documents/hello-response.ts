// Message 120 (EP 0 848 343 fig. 5): the merchant answers the wallet's hello
// 110 {nonce}. Signed by the merchant with its certificate chain in x5c; echoing
// the wallet's fresh nonce proves the signature is not a replay, and the wallet
// shows the *certified* name, not `merchant.name`, before the shopper orders.
import { z } from 'zod';
import { DisplayName, PartyId } from '../identity.ts';
import { HttpUrl, Nonce, Rfc3339Utc } from './fields.ts';

export const HELLO_RESPONSE_TYP = 'quittance.hello-response.v1+json';

export const HelloResponse = z.strictObject({
  typ: z.literal(HELLO_RESPONSE_TYP),
  nonce: Nonce,
  merchant: z.strictObject({ id: PartyId, name: DisplayName, url: HttpUrl }),
  time: Rfc3339Utc,
});
export type HelloResponse = z.infer<typeof HelloResponse>;
