// Transfers: one debit, one credit, in one short transaction. Correctness
// under concurrency comes from the database (DESIGN §6):
// - the debit is a single conditional UPDATE (`… where balance - a >= min_balance`),
//   so two concurrent transfers can never both spend the same money;
// - the transfer's primary key (debited account, client-chosen id) makes a
//   repeated request collide instead of moving money twice;
// - CHECK constraints refuse any balance below its floor as a last resort.
import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { MAX_MINOR, formatAmount, parseAmount } from '../protocol/amount.ts';
import type { FundRequest, TransferRequest, TransferView } from '../protocol/messages/bank.ts';
import { canonicalize } from '../protocol/rfc8785.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { withRetry } from '../store/index.ts';
import { ensureIssuanceAccount, visibleAccount } from './accounts.ts';
import { OPERATOR, type Actor } from './auth.ts';
import type { BankDatabase, BankTransferTable } from './db.ts';
import type { BankDeps } from './deps.ts';
import type { BankErrorCode } from './errors.ts';
import { transferView } from './views.ts';

export type TransferOutcome = { transfer: TransferView; replayed: boolean };

/** Thrown inside the transaction to roll it back; turned into a coded result outside. */
class Refusal extends Error {
  readonly code: BankErrorCode;
  constructor(code: BankErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * SHA-256 of the request in RFC 8785 form, with the amount in its canonical
 * spelling ("EUR:12.5" and "EUR:12.50" are the same request).
 */
export function requestHash(req: TransferRequest, canonicalAmount: string): string {
  const c = canonicalize({ transferId: req.transferId, from: req.from, to: req.to, amount: canonicalAmount, subject: req.subject });
  if (!c.ok) throw new TypeError(`transfer request: ${c.message}`);
  return createHash('sha256').update(c.value, 'utf8').digest('hex');
}

async function existingTransfer(deps: BankDeps, from: string, id: string): Promise<BankTransferTable | undefined> {
  return deps.db.selectFrom('bank_transfers').selectAll().where('debit_account', '=', from).where('transfer_id', '=', id).executeTakeFirst();
}

function replay(existing: BankTransferTable, hash: string): Result<TransferOutcome, BankErrorCode> {
  if (existing.request_hash !== hash) {
    return err('BANK_TRANSFER_ID_REUSED', `transfer id ${existing.transfer_id} was already used for a different transfer from this account`);
  }
  return ok({ transfer: transferView(existing), replayed: true });
}

export async function transfer(deps: BankDeps, actor: Actor, req: TransferRequest): Promise<Result<TransferOutcome, BankErrorCode>> {
  const parsed = parseAmount(req.amount);
  if (!parsed.ok) throw new TypeError('amount: schema let a bad amount through');
  const amount = parsed.value;
  const hash = requestHash(req, formatAmount(amount));

  // Every check runs before the first write; a refused request changes nothing.
  const debit = await visibleAccount(deps.db, actor, req.from);
  if (!debit) return err('BANK_ACCOUNT_NOT_FOUND', 'no such account');
  // Idempotency first: a repeat gets the first answer even if the balance has
  // changed since.
  const before = await existingTransfer(deps, req.from, req.transferId);
  if (before) return replay(before, hash);

  if (amount.minor <= 0n) return err('BANK_AMOUNT_NOT_POSITIVE', 'the amount must be greater than zero');
  if (req.from === req.to) return err('BANK_SAME_ACCOUNT', 'debit and credit account are the same');
  const credit = await deps.db.selectFrom('bank_accounts').select(['id', 'currency']).where('id', '=', req.to).executeTakeFirst();
  if (!credit) return err('BANK_CREDITOR_NOT_FOUND', 'no account with the credited id');
  if (debit.currency !== amount.currency || credit.currency !== amount.currency) {
    return err('BANK_CURRENCY_MISMATCH', `amount in ${amount.currency}; debit account in ${debit.currency}, credit account in ${credit.currency}`);
  }

  const row: BankTransferTable = {
    debit_account: req.from,
    transfer_id: req.transferId,
    credit_account: req.to,
    amount: amount.minor,
    currency: amount.currency,
    subject: req.subject,
    request_hash: hash,
    created_at: deps.clock().toISOString(),
  };
  try {
    await withRetry(() => deps.db.transaction().execute((trx) => post(trx, row)));
  } catch (e) {
    if (e instanceof Refusal) return err(e.code, e.message);
    if (deps.isUniqueViolation(e)) {
      // A concurrent request with the same id won the race: answer as a repeat.
      const winner = await existingTransfer(deps, req.from, req.transferId);
      if (winner) return replay(winner, hash);
    }
    throw e;
  }
  return ok({ transfer: transferView(row), replayed: false });
}

async function post(trx: Transaction<BankDatabase>, t: BankTransferTable): Promise<void> {
  // Insert the transfer first: a duplicate id fails here before any balance moves.
  await trx.insertInto('bank_transfers').values(t).execute();

  const debitSide = () =>
    trx
      .updateTable('bank_accounts')
      .set({ balance: sql<bigint>`balance - ${t.amount}`, entry_count: sql<number>`entry_count + 1` })
      .where('id', '=', t.debit_account)
      .where(sql<boolean>`balance - ${t.amount} >= min_balance`)
      .returning(['balance', 'entry_count'])
      .executeTakeFirst();
  const creditSide = () =>
    trx
      .updateTable('bank_accounts')
      .set({ balance: sql<bigint>`balance + ${t.amount}`, entry_count: sql<number>`entry_count + 1` })
      .where('id', '=', t.credit_account)
      .where(sql<boolean>`balance + ${t.amount} <= ${MAX_MINOR}`)
      .returning(['balance', 'entry_count'])
      .executeTakeFirst();

  // Lock the two account rows in id order, so A→B and B→A at the same moment
  // cannot deadlock on PostgreSQL.
  const debitOrRefuse = async () => {
    const r = await debitSide();
    if (!r) throw new Refusal('BANK_INSUFFICIENT_FUNDS', 'the balance would go below the account limit');
    return r;
  };
  const creditOrRefuse = async () => {
    const r = await creditSide();
    if (!r) throw new Refusal('BANK_BALANCE_OVERFLOW', 'the credited balance would exceed 2^53-1 minor units');
    return r;
  };
  let d: { balance: bigint; entry_count: number };
  let c: { balance: bigint; entry_count: number };
  if (t.debit_account < t.credit_account) {
    d = await debitOrRefuse();
    c = await creditOrRefuse();
  } else {
    c = await creditOrRefuse();
    d = await debitOrRefuse();
  }

  const entry = { debit_account: t.debit_account, transfer_id: t.transfer_id, subject: t.subject, created_at: t.created_at };
  await trx
    .insertInto('bank_entries')
    .values([
      { ...entry, account_id: t.debit_account, seq: Number(d.entry_count), amount: -t.amount, balance_after: d.balance, counterparty: t.credit_account },
      { ...entry, account_id: t.credit_account, seq: Number(c.entry_count), amount: t.amount, balance_after: c.balance, counterparty: t.debit_account },
    ])
    .execute();
}

/** Operator: pays `to` from the bank's issuance account in the amount's currency. */
export async function fund(deps: BankDeps, req: FundRequest): Promise<Result<TransferOutcome, BankErrorCode>> {
  const parsed = parseAmount(req.amount);
  if (!parsed.ok) throw new TypeError('amount: schema let a bad amount through');
  const from = await ensureIssuanceAccount(deps, parsed.value.currency);
  return transfer(deps, OPERATOR, { transferId: req.transferId, from, to: req.to, amount: req.amount, subject: req.subject });
}
