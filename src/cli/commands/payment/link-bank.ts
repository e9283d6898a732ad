// `quittance payment link-bank`: names the payment server's own account(s) at
// the bank, where shoppers send money to load their reserves. The bank is
// asked first; only accounts it confirms are written to DIR/bank-link.json.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { bankLinkPath, checkBankLink, writeBankLink } from '../../../payment/bank-link.ts';
import { denominationsOf } from '../../../payment/config.ts';
import { readPaymentConfig } from '../../../payment/data-dir.ts';
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import { failWith, printResult } from '../../output.ts';
import * as S from './shared.ts';

async function holderToken(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<string> {
  const file = values['token-file'];
  if (typeof file === 'string') {
    try {
      return (await readFile(resolve(file), 'utf8')).trim();
    } catch (e) {
      throw new UsageError(`--token-file ${file}: ${(e as Error).message}`);
    }
  }
  const fromEnv = env.QUITTANCE_BANK_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.trim();
  throw new UsageError('the bank holder token is required: --token-file FILE or QUITTANCE_BANK_TOKEN');
}

export const linkBank: Command = {
  name: 'link-bank',
  summary: "name the server's account(s) at the bank, where shoppers load reserves",
  options: {
    data: S.DATA,
    bank: { type: 'string', description: 'base URL of the bank (e.g. http://127.0.0.1:7002)', valueName: 'URL' },
    account: { type: 'string', multiple: true, description: "the payment server's bank account, one per currency", valueName: 'QB…' },
    'token-file': { type: 'string', description: 'file holding the bank holder token of these accounts (else QUITTANCE_BANK_TOKEN)', valueName: 'FILE' },
    json: S.JSON_OUT,
  },
  details: `Asks the bank about every account with the holder token: the token must see it, its
currency must be one this server issues, and there is one account per currency. Then writes
DIR/bank-link.json (mode 0600: it holds the token), replacing an earlier link. A running
server picks the link up when restarted: \`payment serve\` then watches the accounts for loads,
returns transfers whose subject is not a reserve key, and names the accounts in its signed key list.`,
  async run({ values }, io) {
    const dir = resolve(requireString(values, 'data'));
    const url = requireString(values, 'bank');
    const accountIds = (values.account as string[] | undefined) ?? [];
    if (accountIds.length === 0) throw new UsageError('--account is required (once per currency)');
    const token = await holderToken(values, io.env);
    const json = values.json === true;
    const config = await readPaymentConfig(dir);
    const currencies = config.currencies.map((c) => denominationsOf(c).currency);
    const link = await checkBankLink(fetch, { url, token, accountIds, currencies });
    if (!link.ok) return failWith(io, json, link);
    await writeBankLink(dir, link.value);
    const view = { ok: true, bank: link.value.url, accounts: link.value.accounts, file: bankLinkPath(dir) };
    printResult(
      io,
      json,
      view,
      `linked to the bank at ${view.bank}\n${view.accounts.map((a) => `  ${a.currency}  ${a.accountId}`).join('\n')}\n` +
        `written to ${view.file}; restart \`payment serve\` to start taking loads\n`,
    );
    return EXIT.OK;
  },
};
