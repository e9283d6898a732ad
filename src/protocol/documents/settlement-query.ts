// A shop asks its payment server for its settlement reports: a small
// document signed with the shop's certified key, so the payment server tells
// the reports only to the shop they are about (a settlement lists the shop's
// takings). It is fresh (`time` within a few minutes of the server's clock)
// rather than single-use: repeating it only repeats a read.
// The wire messages of POST /v1/settlements/query live here with it.
import { z } from 'zod';
import { PartyId } from '../identity.ts';
import { JwsGeneral, Rfc3339Utc } from './fields.ts';

export const SETTLEMENT_QUERY_TYP = 'quittance.settlement-query.v1+json';

/** How far the query's `time` may be from the payment server's clock. */
export const SETTLEMENT_QUERY_WINDOW_SECONDS = 600;

/** Reports per answer; the shop asks again with `since` = the last report's time while `more` is true. */
export const MAX_SETTLEMENT_REPORTS = 20;

export const SettlementQuery = z.strictObject({
  typ: z.literal(SETTLEMENT_QUERY_TYP),
  shopId: PartyId,
  paymentServerId: PartyId,
  /** Only reports made at or after this time. */
  since: Rfc3339Utc.optional(),
  time: Rfc3339Utc,
});
export type SettlementQuery = z.infer<typeof SettlementQuery>;

/** POST /v1/settlements/query. */
export const SettlementQueryCall = z.strictObject({ request: JwsGeneral });
export type SettlementQueryCall = z.infer<typeof SettlementQueryCall>;

/** Its answer: signed settlement reports, oldest first. */
export const SettlementReportsAnswer = z.strictObject({
  reports: z.array(JwsGeneral).max(MAX_SETTLEMENT_REPORTS),
  more: z.boolean(),
});
export type SettlementReportsAnswer = z.infer<typeof SettlementReportsAnswer>;
