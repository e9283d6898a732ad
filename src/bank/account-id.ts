// Account ids (format and check digits: src/protocol/messages/bank.ts).
import { accountIdFromBody } from '../protocol/messages/bank.ts';

/** A random customer account id: 12 decimal digits (rejection sampling keeps them uniform). */
export function newAccountId(random: (n: number) => Uint8Array): string {
  let body = '';
  while (body.length < 12) {
    for (const b of random(16)) {
      if (b < 250 && body.length < 12) body += String(b % 10);
    }
  }
  return accountIdFromBody(body);
}

/** The bank's own issuance account in `currency`: one per currency, the same id in every process. */
export function issuanceAccountId(currency: string): string {
  return accountIdFromBody(`BANK00000${currency}`);
}
