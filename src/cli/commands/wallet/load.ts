// `quittance wallet load`: bank transfer → the payment server credits a
// reserve → withdraw coins; with `--into purse` the money stays at the payment
// server in the wallet's purse (mode account). `--resume` finishes loads of
// both kinds that a crash or a timeout interrupted (every step is idempotent,
// nothing is paid twice).
import { readFile } from 'node:fs/promises';
import { parseAmount } from '../../../protocol/amount.ts';
import { loadMoney, resumeLoads, type LoadProgress } from '../../../wallet/load.ts';
import { listPurses, loadPurse, resumePurseLoads, type PurseProgress } from '../../../wallet/purse.ts';
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

function purseProgressLine(io: Io): (p: PurseProgress) => void {
  return (p) => {
    if (p.phase === 'registered') io.err(`registered your purse ${p.purseKey} with payment server ${p.paymentPartyId} at ${p.paymentUrl}\n`);
    if (p.phase === 'transferred') io.err(`transferred ${p.amount} to the payment server's account ${p.bankAccount} (purse ${p.purseKey})\n`);
    if (p.phase === 'waiting') io.err(`waiting for the payment server to credit the purse… ${p.waitedSeconds} s\n`);
    if (p.phase === 'credited') io.err(`purse credited with ${p.amount}; it holds ${p.balance}\n`);
  };
}

async function bankToken(values: Record<string, unknown>, io: Io): Promise<string | undefined> {
  if (typeof values['bank-token-file'] === 'string') return (await readFile(values['bank-token-file'], 'utf8')).trim();
  return io.env.QUITTANCE_BANK_TOKEN;
}

export const load: Command = {
  name: 'load',
  summary: 'load e-money: pay the payment server at the bank, wait for the credit, withdraw coins (or keep it in your purse)',
  options: {
    data: S.DATA,
    bank: { type: 'string', description: 'base URL of your bank (e.g. http://127.0.0.1:7002)', valueName: 'URL' },
    payment: { type: 'string', description: 'base URL of the payment server (e.g. http://127.0.0.1:7003)', valueName: 'URL' },
    amount: { type: 'string', description: 'how much to load, e.g. JPY:10000', valueName: 'AMOUNT' },
    account: { type: 'string', description: 'your bank account that pays (QB…)', valueName: 'ID' },
    into: { type: 'string', description: 'coins (default: withdraw e-money into this wallet) or purse (keep it at the payment server)', valueName: 'WHERE' },
    'bank-token-file': { type: 'string', description: 'file holding your bank holder token (default: $QUITTANCE_BANK_TOKEN)', valueName: 'FILE' },
    timeout: { type: 'string', description: 'give up waiting for the credit after this many seconds (default 300); --resume continues', valueName: 'SECONDS' },
    resume: { type: 'boolean', description: 'finish the loads (coins and purse) that were interrupted (no new transfer)' },
    json: S.JSON_OUT,
  },
  details: `Needs a registered wallet (the payment server's signed key list is checked against
the CA). Steps: a fresh reserve key (derived from the wallet seed) → a bank transfer of
AMOUNT from --account to the account the payment server names in its signed key list,
with the reserve key as subject → wait until the payment server has seen it (a progress
line every poll) → withdraw blind-signed coins for the whole amount. Every step is
recorded before the next and repeats safely: after a crash, a timeout or an error, run
'quittance wallet load --data DIR --resume' (same token) to finish; nothing is paid twice.

--into purse loads your purse instead: an account at the payment server that is
IDENTIFIED — registered to your certified identity (the first load registers it, signed
by your certificate key and the purse key), so the payment server knows it is yours.
The money stays there (no coins are withdrawn) and pays invoices with
'quittance wallet buy --mode account'; 'quittance wallet balance' asks the payment
server what it holds. One purse per wallet and payment server, in one currency.
Coins are anonymous (blind-signed); the purse is not.

--json prints {reservePub, amount, coins} for coins, {loadId, purseKey, paymentUrl,
amount, state, balance} for a purse. With --resume: {resumed, failed} for coin loads, plus
"purses": {resumed, failed} once the wallet has a purse.`,
  async run({ values }, io) {
    const json = Boolean(values.json);
    const timeoutMs = (integerOption(values.timeout, 'timeout', 1, 86_400) ?? 300) * 1000;
    const token = await bankToken(values, io);
    if (values.resume) {
      for (const o of ['bank', 'payment', 'amount', 'account', 'into']) if (values[o] !== undefined) throw new UsageError(`--${o} does not go with --resume (the load already names them)`);
      return S.withWallet(values, io, async (w) => {
        const seed = await w.unlockSeed(await S.passphrase(io, 'Wallet passphrase: '));
        if (!seed.ok) return S.fail(io, json, seed);
        try {
          const r = await resumeLoads(w, token, { now: S.now, fetch, seed: seed.value, progress: progressLine(io), waitTimeoutMs: timeoutMs });
          // Purse loads need no secret; listed in the output once the wallet has a purse (older scripts see the same JSON).
          const hasPurse = (await listPurses(w)).length > 0;
          const p = hasPurse ? await resumePurseLoads(w, token, { now: S.now, fetch, progress: purseProgressLine(io), waitTimeoutMs: timeoutMs }) : { resumed: [], failed: [] };
          const lines = [
            ...r.resumed.map((x) => `finished: ${x.amount} (${x.coins} coins, reserve ${x.reservePub})`),
            ...p.resumed.map((x) => `finished: ${x.amount} into your purse at ${x.paymentUrl}${x.balance !== undefined ? ` (it holds ${x.balance})` : ''}`),
            ...r.failed.map((x) => `not finished: reserve ${x.reservePub}: ${x.code} ${x.message}`),
            ...p.failed.map((x) => `not finished: purse load ${x.loadId} at ${x.paymentUrl}: ${x.code} ${x.message}`),
          ];
          const text = lines.length === 0 ? 'no unfinished loads\n' : lines.join('\n') + '\n';
          S.printResult(io, json, hasPurse ? { ...r, purses: p } : r, text);
          const failed = r.failed.length + p.failed.length;
          return failed === 0 ? EXIT.OK : EXIT.FAILED;
        } finally {
          seed.value.fill(0);
        }
      });
    }
    const into = values.into ?? 'coins';
    if (into !== 'coins' && into !== 'purse') throw new UsageError(`--into must be coins or purse, got ${String(into)}`);
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
      // One passphrase opens the seed and, for a purse registration, the identity key.
      const passphrase = await S.passphrase(io, 'Wallet passphrase: ');
      const seed = await w.unlockSeed(passphrase);
      if (!seed.ok) return S.fail(io, json, seed);
      try {
        const bank = { bankUrl, account, token };
        if (into === 'purse') {
          const r = await loadPurse(w, { paymentUrl, amount: amount.value, bank }, { now: S.now, fetch, seed: seed.value, passphrase, progress: purseProgressLine(io), waitTimeoutMs: timeoutMs });
          if (!r.ok) return S.fail(io, json, r);
          S.printResult(io, json, r.value, `loaded ${r.value.amount} into your purse at ${r.value.paymentUrl}${r.value.balance !== undefined ? `; it holds ${r.value.balance}` : ''}\n`);
          return EXIT.OK;
        }
        const r = await loadMoney(w, { paymentUrl, amount: amount.value, bank }, { now: S.now, fetch, seed: seed.value, progress: progressLine(io), waitTimeoutMs: timeoutMs });
        if (!r.ok) return S.fail(io, json, r);
        S.printResult(io, json, r.value, `loaded ${r.value.amount} as ${r.value.coins} coin${r.value.coins === 1 ? '' : 's'}\n`);
        return EXIT.OK;
      } finally {
        seed.value.fill(0);
      }
    });
  },
};
