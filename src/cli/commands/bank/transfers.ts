// `quittance bank transfer` and `quittance bank fund`.
import { randomBytes } from 'node:crypto';
import { EXIT, requireString, type Command } from '../../command.ts';
import { JSON_OUT, OPERATOR_TOKEN, TOKEN, URL_OPT, baseUrl, call, refused, token, type BankReply } from './client.ts';

const ID = { type: 'string', description: 'transfer id (default: random); repeating a transfer with the same --id is safe', valueName: 'ID' } as const;

function newTransferId(): string {
  return `cli-${randomBytes(12).toString('base64url')}`;
}

function report(io: Parameters<Command['run']>[1], json: boolean, r: BankReply): number {
  if (r.status !== 201 && r.status !== 200) return refused(io, json, r);
  const b = r.body;
  if (json) io.out(JSON.stringify(b, null, 2) + '\n');
  else io.out(`transfer ${String(b.transferId)}: ${String(b.amount)} from ${String(b.from)} to ${String(b.to)}${r.status === 200 ? ' (already done earlier; not repeated)' : ''}\n`);
  return EXIT.OK;
}

export const transfer: Command = {
  name: 'transfer',
  summary: 'transfer money from one of your accounts to another account',
  options: {
    url: URL_OPT,
    token: TOKEN,
    'operator-token': OPERATOR_TOKEN,
    from: { type: 'string', description: 'debited account (yours)', valueName: 'ACCOUNT' },
    to: { type: 'string', description: 'credited account', valueName: 'ACCOUNT' },
    amount: { type: 'string', description: 'amount, e.g. JPY:1000 or EUR:12.50', valueName: 'AMOUNT' },
    subject: { type: 'string', description: 'free text the recipient sees', valueName: 'TEXT' },
    id: ID,
    json: JSON_OUT,
  },
  details: `The bank answers the same transfer id with the same body by repeating its first answer,
and refuses it with a different body (BANK_TRANSFER_ID_REUSED): pass --id to retry safely.`,
  async run({ values }, io) {
    const base = baseUrl(values);
    const bearer = token(values);
    const body = {
      transferId: typeof values.id === 'string' ? values.id : newTransferId(),
      from: requireString(values, 'from'),
      to: requireString(values, 'to'),
      amount: requireString(values, 'amount'),
      subject: requireString(values, 'subject'),
    };
    return report(io, values.json === true, await call(base, 'POST', '/v1/transfers', bearer, body));
  },
};

export const fund: Command = {
  name: 'fund',
  summary: "operator: pay an account from the bank's own issuance account (demos)",
  options: {
    url: URL_OPT,
    'operator-token': OPERATOR_TOKEN,
    to: { type: 'string', description: 'credited account', valueName: 'ACCOUNT' },
    amount: { type: 'string', description: 'amount, e.g. JPY:10000', valueName: 'AMOUNT' },
    subject: { type: 'string', description: 'free text (default "funding")', valueName: 'TEXT' },
    id: ID,
    json: JSON_OUT,
  },
  async run({ values }, io) {
    const base = baseUrl(values);
    const body = {
      transferId: typeof values.id === 'string' ? values.id : newTransferId(),
      to: requireString(values, 'to'),
      amount: requireString(values, 'amount'),
      ...(typeof values.subject === 'string' ? { subject: values.subject } : {}),
    };
    return report(io, values.json === true, await call(base, 'POST', '/v1/admin/fund', requireString(values, 'operator-token'), body));
  },
};
