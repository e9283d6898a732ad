// DIR/bank-link.json: the payment server's own account(s) at the bank, written
// by `quittance payment link-bank` after the bank confirmed them, read by
// openPayment into deps.bankLink. It holds the bank holder token, so it is
// 0600 and replaced atomically (a crash never leaves half a file).
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AccountId, Currency } from '../protocol/messages/bank.ts';
import type { LoadingAccount } from '../protocol/messages/payment.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { getBankAccount, type Fetch } from './bank-client.ts';
import type { BankLink, PaymentDeps } from './deps.ts';

export const BANK_LINK_FILE = 'bank-link.json';

export const BankUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && u.search === '' && u.hash === '';
    } catch {
      return false;
    }
  }, 'url: an http:// or https:// base URL without credentials, query or fragment');

/** Same shape as the bank's token header accepts (src/bank/auth.ts). */
const BankToken = z.string().regex(/^[A-Za-z0-9._~+/=-]{16,256}$/, 'token: a bank bearer token');

export const BankLinkFile = z
  .strictObject({
    url: BankUrl,
    token: BankToken,
    accounts: z.array(z.strictObject({ currency: Currency, accountId: AccountId })).min(1).max(16),
  })
  .superRefine((l, ctx) => {
    // One account per currency: a load's currency decides where a wallet pays.
    const seen = new Set<string>();
    for (const [i, a] of l.accounts.entries()) {
      if (seen.has(a.currency)) ctx.addIssue({ code: 'custom', path: ['accounts', i, 'currency'], message: `two accounts in ${a.currency}` });
      seen.add(a.currency);
    }
  });

export function bankLinkPath(dir: string): string {
  return join(dir, BANK_LINK_FILE);
}

/** The link, or undefined when the server has none. A present but invalid file is an error (the server must not start half-linked). */
export async function readBankLink(dir: string): Promise<BankLink | undefined> {
  const path = bankLinkPath(dir);
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the error, and the file holds a token: say
    // where only, and keep the parser's error out of the chain (no `cause`).
    const at = /at position (\d+)/.exec((e as Error).message)?.[1];
    // eslint-disable-next-line preserve-caught-error -- the cause would carry the quoted text
    throw new Error(`invalid ${path}: not valid JSON${at === undefined ? '' : ` (at position ${at})`} (run 'quittance payment link-bank' again)`);
  }
  const parsed = BankLinkFile.safeParse(raw);
  if (!parsed.success) {
    // Never echo the values: the file holds a token.
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid ${path}: ${where} (run 'quittance payment link-bank' again)`);
  }
  return parsed.data;
}

export async function writeBankLink(dir: string, link: BankLink): Promise<void> {
  const data = BankLinkFile.parse(link);
  const path = bankLinkPath(dir);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** What wallets are told (GET /v1/loading and the signed key list): undefined without a link. */
export function loadingAccounts(deps: Pick<PaymentDeps, 'bankLink'>): LoadingAccount[] | undefined {
  return deps.bankLink?.accounts.map((a) => ({ currency: a.currency, bankAccount: a.accountId }));
}

/**
 * Asks the bank about every account before a link is written: the token must
 * see it (the bank answers 404 for another holder's account), its currency
 * must be one this server issues, one account per currency. A refusal says
 * what the bank said.
 */
export async function checkBankLink(
  fetchImpl: Fetch,
  req: { url: string; token: string; accountIds: string[]; currencies: string[] },
): Promise<Result<BankLink, 'PAY_BANK_LINK_INVALID'>> {
  const invalid = (message: string) => err('PAY_BANK_LINK_INVALID', message);
  if (!BankUrl.safeParse(req.url).success) return invalid('the bank URL must be http:// or https:// without credentials, query or fragment');
  if (!/^[A-Za-z0-9._~+/=-]{16,256}$/.test(req.token)) return invalid('the bank token is not a bearer token the bank issues');
  if (req.accountIds.length === 0) return invalid('no account given');
  if (new Set(req.accountIds).size !== req.accountIds.length) return invalid('an account is given twice');
  const accounts: BankLink['accounts'] = [];
  for (const accountId of req.accountIds) {
    if (!AccountId.safeParse(accountId).success) return invalid(`${accountId} is not a bank account id (QB, 2 check digits, 12 characters)`);
    const r = await getBankAccount(fetchImpl, { url: req.url, token: req.token }, accountId);
    if (r.kind === 'refused') return invalid(`the bank refused account ${accountId}: ${r.code}${r.message ? `: ${r.message}` : ''}`);
    if (r.kind === 'unavailable') return invalid(r.message);
    const currency = r.value.currency;
    if (!req.currencies.includes(currency)) return invalid(`account ${accountId} is in ${currency}, which this payment server does not issue (it issues ${req.currencies.join(', ')})`);
    if (accounts.some((a) => a.currency === currency)) return invalid(`two accounts in ${currency}: loads in a currency go to one account`);
    accounts.push({ currency, accountId });
  }
  return ok({ url: req.url.replace(/\/+$/, ''), token: req.token, accounts });
}
