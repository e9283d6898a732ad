// `quittance bank open-account`, `balance` and `history`: clients of a running bank.
import { EXIT, UsageError, requireString, type Command } from '../../command.ts';
import { JSON_OUT, OPERATOR_TOKEN, TOKEN, URL_OPT, baseUrl, call, refused, token } from './client.ts';

export const openAccount: Command = {
  name: 'open-account',
  summary: 'open an account (operator, the holder itself, or anyone when the bank runs --self-service)',
  options: {
    url: URL_OPT,
    token: TOKEN,
    'operator-token': OPERATOR_TOKEN,
    holder: { type: 'string', description: 'holder name or party id ([a-z0-9._-]); defaults to the --token holder', valueName: 'NAME' },
    currency: { type: 'string', description: 'ISO 4217 currency, e.g. JPY', valueName: 'CUR' },
    kind: { type: 'string', description: 'shopper (default), merchant or payment', valueName: 'KIND' },
    overdraft: { type: 'string', description: 'operator only: allowed overdraft, e.g. JPY:5000', valueName: 'AMOUNT' },
    json: JSON_OUT,
  },
  details: `Prints the account id and, when the holder is new, its token (shown once; the bank
stores only its SHA-256). Without --token/--operator-token the bank must run with --self-service.`,
  async run({ values }, io) {
    const base = baseUrl(values);
    const bearer = token(values, false);
    const body: Record<string, unknown> = { currency: requireString(values, 'currency') };
    for (const k of ['holder', 'kind', 'overdraft'] as const) if (typeof values[k] === 'string') body[k] = values[k];
    const r = await call(base, 'POST', '/v1/accounts', bearer, body);
    const json = values.json === true;
    if (r.status !== 201) return refused(io, json, r);
    const account = r.body.account as { accountId: string; holder: string; currency: string };
    const holderToken = r.body.holderToken as string | undefined;
    if (json) io.out(JSON.stringify(r.body, null, 2) + '\n');
    else {
      io.out(`account ${account.accountId} (${account.currency}) opened for ${account.holder}\n`);
      if (holderToken) io.out(`  holder token (shown once, keep it secret): ${holderToken}\n`);
    }
    return EXIT.OK;
  },
};

function accountArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('expected exactly one ACCOUNT');
  return encodeURIComponent(positionals[0]!);
}

export const balance: Command = {
  name: 'balance',
  summary: 'show an account and its balance',
  args: 'ACCOUNT',
  options: { url: URL_OPT, token: TOKEN, 'operator-token': OPERATOR_TOKEN, json: JSON_OUT },
  async run({ values, positionals }, io) {
    const r = await call(baseUrl(values), 'GET', `/v1/accounts/${accountArg(positionals)}`, token(values));
    const json = values.json === true;
    if (r.status !== 200) return refused(io, json, r);
    io.out(json ? JSON.stringify(r.body, null, 2) + '\n' : `${String(r.body.accountId)} ${String(r.body.holder)} balance ${String(r.body.balance)} (limit ${String(r.body.limit)})\n`);
    return EXIT.OK;
  },
};

export const history: Command = {
  name: 'history',
  summary: "list an account's entries after a cursor, optionally waiting for new ones",
  args: 'ACCOUNT',
  options: {
    url: URL_OPT,
    token: TOKEN,
    'operator-token': OPERATOR_TOKEN,
    after: { type: 'string', description: 'cursor: list entries after this seq (default 0)', valueName: 'N' },
    direction: { type: 'string', description: 'incoming, outgoing or both (default)', valueName: 'DIR' },
    wait: { type: 'string', description: 'seconds to wait for a new entry when there is none (long poll)', valueName: 'S' },
    json: JSON_OUT,
  },
  async run({ values, positionals }, io) {
    const q = new URLSearchParams();
    for (const k of ['after', 'direction', 'wait'] as const) if (typeof values[k] === 'string') q.set(k, values[k]);
    const r = await call(baseUrl(values), 'GET', `/v1/accounts/${accountArg(positionals)}/history?${q}`, token(values));
    const json = values.json === true;
    if (r.status !== 200) return refused(io, json, r);
    if (json) io.out(JSON.stringify(r.body, null, 2) + '\n');
    else {
      for (const e of r.body.entries as { seq: number; createdAt: string; direction: string; amount: string; counterparty: string; subject: string; balanceAfter: string }[]) {
        io.out(`${e.seq}\t${e.createdAt}\t${e.direction === 'incoming' ? '+' : '-'}${e.amount}\t${e.counterparty}\t${e.balanceAfter}\t${e.subject}\n`);
      }
      io.out(`next cursor: ${String(r.body.next)}\n`);
    }
    return EXIT.OK;
  },
};
