// `quittance wallet load`: bank transfer → the payment server credits a
// reserve → withdraw coins; `--resume` finishes loads a crash or a timeout
// interrupted (every step is idempotent, nothing is paid twice).
import { readFile } from 'node:fs/promises';
import { parseAmount } from '../../../protocol/amount.ts';
import { loadMoney, resumeLoads, type LoadProgress } from '../../../wallet/load.ts';
import { EXIT, UsageError, integerOption, requireString, type Command, type Io } from '../../command.ts';
import * as S from './shared.ts';

function progressLine(io: Io): (p: LoadProgress) => void {
  return (p) => {
    if (p.phase === 'transferred') io.err(`transferred ${p.amount} to the payment server's account ${p.bankAccount} (reserve ${p.reservePub})\n`);
    if (p.phase === 'waiting') io.err(`waiting for the payment server to credit the reserve… ${p.waitedSeconds} s\n`);
    if (p.phase === 'credited') io.err('reserve credited; withdrawing coins\n');
    if (p.phase === 'withdrawn') io.err(`withdrew ${p.coins} coin${p.coins === 1 ? '' : 's'} worth ${p.amount}\n`);
  };
}

async function bankToken(values: Record<string, unknown>, io: Io): Promise<string | undefined> {
  if (typeof values['bank-token-file'] === 'string') return (await readFile(values['bank-token-file'], 'utf8')).trim();
  return io.env.QUITTANCE_BANK_TOKEN;
}

export const load: Command = {
  name: 'load',
  summary: 'load e-money: pay the payment server at the bank, wait for the credit, withdraw coins',
  options: {
    data: S.DATA,
    bank: { type: 'string', description: 'base URL of your bank (e.g. http://127.0.0.1:7002)', valueName: 'URL' },
    payment: { type: 'string', description: 'base URL of the payment server (e.g. http://127.0.0.1:7003)', valueName: 'URL' },
    amount: { type: 'string', description: 'how much to load, e.g. JPY:10000', valueName: 'AMOUNT' },
    account: { type: 'string', description: 'your bank account that pays (QB…)', valueName: 'ID' },
    'bank-token-file': { type: 'string', description: 'file holding your bank holder token (default: $QUITTANCE_BANK_TOKEN)', valueName: 'FILE' },
    timeout: { type: 'string', description: 'give up waiting for the credit after this many seconds (default 300); --resume continues', valueName: 'SECONDS' },
    resume: { type: 'boolean', description: 'finish the loads that were interrupted (no new transfer)' },
    json: S.JSON_OUT,
  },
  details: `Needs a registered wallet (the payment server's signed key list is checked against
the CA). Steps: a fresh reserve key (derived from the wallet seed) → a bank transfer of
AMOUNT from --account to the account the payment server names in its signed key list,
with the reserve key as subject → wait until the payment server has seen it (a progress
line every poll) → withdraw blind-signed coins for the whole amount. Every step is
recorded before the next and repeats safely: after a crash, a timeout or an error, run
'quittance wallet load --data DIR --resume' (same token) to finish; nothing is paid twice.`,
  async run({ values }, io) {
    const json = Boolean(values.json);
    const timeoutMs = (integerOption(values.timeout, 'timeout', 1, 86_400) ?? 300) * 1000;
    const token = await bankToken(values, io);
    if (values.resume) {
      for (const o of ['bank', 'payment', 'amount', 'account']) if (values[o] !== undefined) throw new UsageError(`--${o} does not go with --resume (the load already names them)`);
      return S.withWallet(values, io, async (w) => {
        const seed = await w.unlockSeed(await S.passphrase(io, 'Wallet passphrase: '));
        if (!seed.ok) return S.fail(io, json, seed);
        try {
          const r = await resumeLoads(w, token, { now: S.now, fetch, seed: seed.value, progress: progressLine(io), waitTimeoutMs: timeoutMs });
          const text = r.resumed.length + r.failed.length === 0 ? 'no unfinished loads\n' : [...r.resumed.map((x) => `finished: ${x.amount} (${x.coins} coins, reserve ${x.reservePub})`), ...r.failed.map((x) => `not finished: reserve ${x.reservePub}: ${x.code} ${x.message}`)].join('\n') + '\n';
          S.printResult(io, json, r, text);
          return r.failed.length === 0 ? EXIT.OK : EXIT.FAILED;
        } finally {
          seed.value.fill(0);
        }
      });
    }
    const amount = parseAmount(requireString(values, 'amount'));
    if (!amount.ok) throw new UsageError(`--amount: ${amount.message}`);
    if (amount.value.minor <= 0n) throw new UsageError('--amount must be positive');
    const bankUrl = requireString(values, 'bank');
    const paymentUrl = requireString(values, 'payment');
    for (const [name, u] of [['--bank', bankUrl], ['--payment', paymentUrl]] as const) {
      if (!URL.canParse(u) || !/^https?:$/.test(new URL(u).protocol)) throw new UsageError(`${name} must be an http:// or https:// URL, got ${u}`);
    }
    const account = requireString(values, 'account');
    if (token === undefined || token === '') throw new UsageError('the bank holder token is needed: set QUITTANCE_BANK_TOKEN or pass --bank-token-file');
    return S.withWallet(values, io, async (w) => {
      const seed = await w.unlockSeed(await S.passphrase(io, 'Wallet passphrase: '));
      if (!seed.ok) return S.fail(io, json, seed);
      try {
        const r = await loadMoney(
          w,
          { paymentUrl, amount: amount.value, bank: { bankUrl, account, token } },
          { now: S.now, fetch, seed: seed.value, progress: progressLine(io), waitTimeoutMs: timeoutMs },
        );
        if (!r.ok) return S.fail(io, json, r);
        S.printResult(io, json, r.value, `loaded ${r.value.amount} as ${r.value.coins} coin${r.value.coins === 1 ? '' : 's'}\n`);
        return EXIT.OK;
      } finally {
        seed.value.fill(0);
      }
    });
  },
};
