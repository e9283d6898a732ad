// `quittance wallet status|balance|coins`: read the store, no passphrase needed
// (`balance` also asks each payment server where the wallet has a purse).
import { registeredPurseBalances, walletBalance, walletCoins, walletStatus, type PurseBalanceEntry } from '../../../wallet/index.ts';
import { EXIT, UsageError, type Command } from '../../command.ts';
import * as S from './shared.ts';

export const status: Command = {
  name: 'status',
  summary: "show the wallet's identity: party id, name, CA, certificate, registration state",
  options: { data: S.DATA, json: S.JSON_OUT },
  async run({ values }, io) {
    return S.withWallet(values, io, async (w) => {
      const s = await walletStatus(w);
      const i = s.identity;
      const lines = [`wallet ${s.walletId} (created ${s.createdAt})`];
      if (!i) lines.push('  identity: not registered (run `quittance wallet register`)');
      else {
        lines.push(`  registration: ${i.status} (${i.registrationId}) with ${i.caUrl}`);
        lines.push(`  display name: ${i.displayName}  role: ${i.role}`);
        if (i.partyId) lines.push(`  party id: ${i.partyId}`);
        if (i.fingerprint) lines.push(`  certificate SHA-256: ${i.fingerprint}`);
        if (i.notBefore && i.notAfter) lines.push(`  valid: ${i.notBefore} .. ${i.notAfter}`);
        if (i.caFingerprint) lines.push(`  CA root SHA-256: ${i.caFingerprint}`);
        if (i.rejectReason) lines.push(`  rejected: ${i.rejectReason}`);
      }
      S.printResult(io, Boolean(values.json), s, lines.join('\n') + '\n');
      return EXIT.OK;
    });
  },
};

function purseLine(p: PurseBalanceEntry): string {
  const where = `purse at ${p.paymentUrl} (${p.paymentPartyId})`;
  if ('error' in p) return `${where}: cannot say now — ${p.error.code}: ${p.error.message}`;
  if (!p.loaded) return `${where}: ${p.balance} (nothing loaded yet)`;
  return `${where}: ${p.balance}  (loaded ${p.credited}, paid ${p.paid}, withdrawn ${p.withdrawn})`;
}

/** How long `balance` waits for a payment server before it reports that purse as unknown. */
const PURSE_QUERY_TIMEOUT_MS = 10_000;

export const balance: Command = {
  name: 'balance',
  summary: 'show the value of unspent coins per currency, and what your purses hold',
  options: { data: S.DATA, json: S.JSON_OUT },
  details: `Coins are counted from the wallet's store (no passphrase, no network). For each
purse (mode account, 'wallet load --into purse') the payment server is asked what it
holds; one that does not answer within 10 s is reported for that purse ("cannot say
now"), the others and the coins are still shown, and the exit code stays 0.

--json: {"balances": [{currency, amount, coins}]}, and once the wallet has a purse also
"purses": [{paymentUrl, paymentPartyId, purseKey, registeredAt, loaded, currency,
credited, withdrawn, paid, balance}] — or, for a payment server that could not answer,
{paymentUrl, paymentPartyId, purseKey, registeredAt, error: {code, message}}.`,
  async run({ values }, io) {
    return S.withWallet(values, io, async (w) => {
      const b = await walletBalance(w);
      const purses = await registeredPurseBalances(w, { now: S.now, fetch, timeoutMs: PURSE_QUERY_TIMEOUT_MS });
      const coinLines = b.balances.length === 0 ? ['balance: 0 (no coins)'] : b.balances.map((x) => `${x.amount}  (${x.coins} coin${x.coins === 1 ? '' : 's'})`);
      const text = [...coinLines, ...purses.map(purseLine)].join('\n') + '\n';
      // Without a purse the JSON is what it always was.
      S.printResult(io, Boolean(values.json), purses.length > 0 ? { ...b, purses } : b, text);
      return EXIT.OK;
    });
  },
};

export const coins: Command = {
  name: 'coins',
  summary: "list the wallet's coins",
  options: {
    data: S.DATA,
    state: { type: 'string', description: 'only coins in this state: unspent, pending or spent', valueName: 'STATE' },
    json: S.JSON_OUT,
  },
  async run({ values }, io) {
    const state = values.state;
    if (state !== undefined && !['unspent', 'pending', 'spent'].includes(String(state))) throw new UsageError('--state must be unspent, pending or spent');
    return S.withWallet(values, io, async (w) => {
      const c = await walletCoins(w, state === undefined ? {} : { state: state as 'unspent' });
      const text = c.coins.length === 0 ? '(no coins)\n' : c.coins.map((x) => `${String(x.derivationIndex).padStart(6)}  ${x.value.padEnd(14)} ${x.state.padEnd(8)} ${x.coinPub}`).join('\n') + '\n';
      S.printResult(io, Boolean(values.json), c, text);
      return EXIT.OK;
    });
  },
};
