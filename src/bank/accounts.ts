// Opening and reading accounts. An account belongs to one holder and one
// currency; a holder may have several. Opening by the operator, by the holder
// itself (another currency), or — when the bank runs for demos — by anyone.
import type { Kysely } from 'kysely';
import { hashToken } from '../http/admin-auth.ts';
import { MAX_MINOR, parseAmount } from '../protocol/amount.ts';
import type { AccountView, OpenAccountRequest, OpenAccountResponse } from '../protocol/messages/bank.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { issuanceAccountId, newAccountId } from './account-id.ts';
import { newHolderToken, type Actor } from './auth.ts';
import type { BankAccountTable, BankDatabase } from './db.ts';
import type { BankDeps } from './deps.ts';
import type { BankErrorCode } from './errors.ts';
import { accountView } from './views.ts';

/** The holder of the bank's own accounts; not a valid party id, so no customer can be named so. */
export const BANK_HOLDER = '@bank';

/** `holder` is required of the operator and of self-service callers; routes check it before calling. */
export async function openAccount(
  deps: BankDeps,
  actor: Actor | undefined,
  req: OpenAccountRequest & { holder: string },
): Promise<Result<OpenAccountResponse, BankErrorCode>> {
  if (actor?.kind === 'holder' && req.holder !== actor.holder) {
    return err('BANK_HOLDER_MISMATCH', 'a holder may open accounts only in its own name');
  }
  let minBalance = 0n;
  if (req.overdraft !== undefined) {
    if (actor?.kind !== 'operator') return err('BANK_OVERDRAFT_NOT_ALLOWED', 'only the operator grants an overdraft');
    const o = parseAmount(req.overdraft);
    if (!o.ok) throw new TypeError('overdraft: schema let a bad amount through');
    if (o.value.currency !== req.currency) return err('BANK_CURRENCY_MISMATCH', `overdraft is in ${o.value.currency}, the account in ${req.currency}`);
    minBalance = -o.value.minor;
  }
  const now = deps.clock().toISOString();
  const token = actor?.kind === 'holder' ? undefined : newHolderToken(deps.random);

  // A random 12-digit id may collide (rarely): try again with a fresh one.
  for (let attempt = 1; ; attempt++) {
    const account: BankAccountTable = {
      id: newAccountId(deps.random),
      holder: req.holder,
      currency: req.currency,
      kind: req.kind,
      min_balance: minBalance,
      balance: 0n,
      entry_count: 0,
      created_at: now,
    };
    try {
      const newHolder = await deps.db.transaction().execute(async (trx) => {
        let created = false;
        if (token !== undefined) {
          const r = await trx
            .insertInto('bank_holders')
            .values({ holder: req.holder, token_hash: hashToken(token), created_at: now })
            .onConflict((oc) => oc.column('holder').doNothing())
            .executeTakeFirst();
          created = Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
          // Self-service must not add accounts to somebody else's name.
          if (!created && actor === undefined) return 'exists' as const;
        }
        await trx.insertInto('bank_accounts').values(account).execute();
        return created;
      });
      if (newHolder === 'exists') return err('BANK_HOLDER_EXISTS', `holder ${req.holder} already exists; open further accounts with its token`);
      return ok({ account: accountView(account), ...(newHolder && token !== undefined ? { holderToken: token } : {}) });
    } catch (e) {
      if (attempt < 3 && deps.isUniqueViolation(e)) continue;
      throw e;
    }
  }
}

/** Reads an account as `actor` may see it: another holder's account is "not found", like a missing one. */
export async function visibleAccount(db: Kysely<BankDatabase>, actor: Actor, id: string): Promise<BankAccountTable | undefined> {
  let q = db.selectFrom('bank_accounts').selectAll().where('id', '=', id);
  if (actor.kind === 'holder') q = q.where('holder', '=', actor.holder);
  return q.executeTakeFirst();
}

export async function getAccount(deps: BankDeps, actor: Actor, id: string): Promise<Result<AccountView, BankErrorCode>> {
  const a = await visibleAccount(deps.db, actor, id);
  return a ? ok(accountView(a)) : err('BANK_ACCOUNT_NOT_FOUND', 'no such account');
}

export async function listAccounts(deps: BankDeps, actor: Actor, holder?: string): Promise<AccountView[]> {
  let q = deps.db.selectFrom('bank_accounts').selectAll().orderBy('created_at').orderBy('id').limit(1000);
  if (actor.kind === 'holder') q = q.where('holder', '=', actor.holder);
  else if (holder !== undefined) q = q.where('holder', '=', holder);
  return (await q.execute()).map(accountView);
}

/**
 * The bank's own account in `currency`, created on first use. It may go down
 * to −(2^53−1): money the bank has put into circulation for demos. Its id is
 * fixed per currency, so two processes creating it at once collide harmlessly.
 */
export async function ensureIssuanceAccount(deps: BankDeps, currency: string): Promise<string> {
  const id = issuanceAccountId(currency);
  await deps.db
    .insertInto('bank_accounts')
    .values({
      id,
      holder: BANK_HOLDER,
      currency,
      kind: 'bank',
      min_balance: -MAX_MINOR,
      balance: 0n,
      entry_count: 0,
      created_at: deps.clock().toISOString(),
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return id;
}
