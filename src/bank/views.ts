// Database rows → wire messages (src/protocol/messages/bank.ts).
import { formatAmount } from '../protocol/amount.ts';
import type { AccountView, EntryView, TransferView } from '../protocol/messages/bank.ts';
import type { BankAccountTable, BankEntryTable, BankTransferTable } from './db.ts';
import { formatSigned } from './money.ts';

export function accountView(a: BankAccountTable): AccountView {
  return {
    accountId: a.id,
    holder: a.holder,
    currency: a.currency,
    kind: a.kind,
    balance: formatSigned(a.currency, a.balance),
    limit: formatSigned(a.currency, a.min_balance),
    createdAt: a.created_at,
  };
}

export function transferView(t: BankTransferTable): TransferView {
  return {
    transferId: t.transfer_id,
    from: t.debit_account,
    to: t.credit_account,
    amount: formatAmount({ currency: t.currency, minor: t.amount }),
    subject: t.subject,
    createdAt: t.created_at,
  };
}

export function entryView(e: BankEntryTable, currency: string): EntryView {
  return {
    seq: e.seq,
    direction: e.amount > 0n ? 'incoming' : 'outgoing',
    transferId: e.transfer_id,
    amount: formatAmount({ currency, minor: e.amount < 0n ? -e.amount : e.amount }),
    counterparty: e.counterparty,
    subject: e.subject,
    balanceAfter: formatSigned(currency, e.balance_after),
    createdAt: e.created_at,
  };
}
