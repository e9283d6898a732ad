// The settlement report (DESIGN §4 "payout"; SEMPER's "moving the money to
// the bank"): the payment server's signed statement that it pays a shop's
// collected takings in one currency to the shop's bank account, and which
// transactions that money is made of. Each item is a payment (+) or a refund
// (−) of that shop not settled before; `amount` is their balance, so a
// reader can check the sum without asking anyone. The bank transfer carries
// the same `settlementId` (its transfer id and subject), so the report and
// the bank statement name each other. No message number: the patent stops at
// the refund.
import { z } from 'zod';
import { AmountString, parseAmount } from '../amount.ts';
import { AccountId, Currency } from '../messages/bank.ts';
import { PartyRef, Rfc3339Utc, ShortId } from './fields.ts';

export const SETTLEMENT_REPORT_TYP = 'quittance.settlement-report.v1+json';

/** Items per settlement: a report stays well inside a JWS payload (fields.ts JwsGeneral); older items first, the rest go in the next one. */
export const MAX_SETTLEMENT_ITEMS = 250;

export const SettlementItem = z.strictObject({
  transactionId: ShortId,
  kind: z.enum(['payment', 'refund']),
  /** The refund's permit (fig. 18); present iff kind is refund. */
  permitId: ShortId.optional(),
  /** Positive: what was paid, or what was refunded (subtracted). */
  amount: AmountString,
});
export type SettlementItem = z.infer<typeof SettlementItem>;

export const SettlementReport = z
  .strictObject({
    typ: z.literal(SETTLEMENT_REPORT_TYP),
    /** "st-" + 128 random bits: also the bank transfer's id. */
    settlementId: ShortId,
    shop: PartyRef,
    paymentServer: PartyRef,
    currency: Currency,
    /** Σ payments − Σ refunds of the items (fees: none today), positive. */
    amount: AmountString,
    /** The shop's bank account the money is sent to. */
    payoutAccount: AccountId,
    items: z.array(SettlementItem).min(1).max(MAX_SETTLEMENT_ITEMS),
    time: Rfc3339Utc,
  })
  .superRefine((v, ctx) => {
    // zod runs this with raw input even when a field failed: read only what parses.
    const total = typeof v.amount === 'string' ? parseAmount(v.amount) : undefined;
    if (!total?.ok || !Array.isArray(v.items) || v.items.length === 0) return;
    if (total.value.currency !== v.currency) ctx.addIssue({ code: 'custom', path: ['amount'], message: `amount is not in ${String(v.currency)}` });
    if (total.value.minor <= 0n) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'amount must be positive' });
    let sum = 0n;
    for (const [i, item] of v.items.entries()) {
      if ((item.kind === 'refund') !== (item.permitId !== undefined)) ctx.addIssue({ code: 'custom', path: ['items', i, 'permitId'], message: 'permitId is required when, and only when, kind is refund' });
      const a = typeof item.amount === 'string' ? parseAmount(item.amount) : undefined;
      if (!a?.ok) return;
      if (a.value.currency !== total.value.currency || a.value.minor <= 0n) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'amount'], message: `a positive amount in ${total.value.currency}` });
        return;
      }
      sum += item.kind === 'refund' ? -a.value.minor : a.value.minor;
    }
    if (sum !== total.value.minor) ctx.addIssue({ code: 'custom', path: ['amount'], message: 'amount differs from the payments minus the refunds of the items' });
  });
export type SettlementReport = z.infer<typeof SettlementReport>;
