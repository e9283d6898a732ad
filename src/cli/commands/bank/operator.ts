// `quittance bank accounts` and `quittance bank statement`: the CLI twins of
// GET /v1/accounts and GET /v1/accounts/:id/statement, which the bank console
// (web/pages/bank-admin) reads — the console calls nothing the command line
// cannot. Clients of a running bank, like `balance` and `history`.
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import { JSON_OUT, OPERATOR_TOKEN, TOKEN, URL_OPT, baseUrl, call, refused, token } from './client.ts';

type Account = { accountId: string; holder: string; currency: string; kind: string; balance: string; limit: string };
type Entry = { seq: number; createdAt: string; direction: string; amount: string; counterparty: string; subject: string; balanceAfter: string };

export const accounts: Command = {
  name: 'accounts',
  summary: 'list accounts (the operator: every account, or one holder\'s; a holder: its own)',
  options: {
    url: URL_OPT,
    token: TOKEN,
    'operator-token': OPERATOR_TOKEN,
    holder: { type: 'string', description: "operator: only this holder's accounts", valueName: 'NAME' },
    json: JSON_OUT,
  },
  details: 'At most 1,000 accounts, oldest first (GET /v1/accounts).',
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const q = new URLSearchParams();
    if (typeof values.holder === 'string') q.set('holder', values.holder);
    const r = await call(baseUrl(values), 'GET', `/v1/accounts${q.size > 0 ? `?${q}` : ''}`, token(values));
    const json = values.json === true;
    if (r.status !== 200) return refused(io, json, r);
    if (json) io.out(JSON.stringify(r.body, null, 2) + '\n');
    else {
      const list = r.body.accounts as Account[];
      if (list.length === 0) io.out('no accounts\n');
      for (const a of list) io.out(`${a.accountId}  ${a.holder.padEnd(20)} ${a.kind.padEnd(9)} ${a.balance.padStart(16)}  (limit ${a.limit})\n`);
    }
    return EXIT.OK;
  },
};

export const statement: Command = {
  name: 'statement',
  summary: "an account's statement for a period: opening balance, entries, closing balance",
  args: 'ACCOUNT',
  options: {
    url: URL_OPT,
    token: TOKEN,
    'operator-token': OPERATOR_TOKEN,
    from: { type: 'string', description: 'start of the period, RFC 3339 (included)', valueName: 'TIME' },
    to: { type: 'string', description: 'end of the period, RFC 3339 (excluded)', valueName: 'TIME' },
    json: JSON_OUT,
  },
  details: 'GET /v1/accounts/ACCOUNT/statement?from=…&to=…: entries in [from, to); closing = opening + credits − debits.',
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) throw new UsageError('expected exactly one ACCOUNT');
    const q = new URLSearchParams({ from: requireString(values, 'from'), to: requireString(values, 'to') });
    const r = await call(baseUrl(values), 'GET', `/v1/accounts/${encodeURIComponent(positionals[0]!)}/statement?${q}`, token(values));
    const json = values.json === true;
    if (r.status !== 200) return refused(io, json, r);
    if (json) io.out(JSON.stringify(r.body, null, 2) + '\n');
    else {
      const b = r.body as { accountId: string; from: string; to: string; openingBalance: string; closingBalance: string; entries: Entry[] };
      io.out(`${b.accountId}  ${b.from} .. ${b.to}\nopening balance ${b.openingBalance}\n`);
      for (const e of b.entries) io.out(`${e.seq}\t${e.createdAt}\t${e.direction === 'incoming' ? '+' : '-'}${e.amount}\t${e.counterparty}\t${e.subject}\n`);
      io.out(`closing balance ${b.closingBalance}\n`);
    }
    return EXIT.OK;
  },
};
