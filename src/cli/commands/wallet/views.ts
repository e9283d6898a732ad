// `quittance wallet status|balance|coins`: read the store, no passphrase needed.
import { walletBalance, walletCoins, walletStatus } from '../../../wallet/index.ts';
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

export const balance: Command = {
  name: 'balance',
  summary: 'show the value of unspent coins per currency',
  options: { data: S.DATA, json: S.JSON_OUT },
  async run({ values }, io) {
    return S.withWallet(values, io, async (w) => {
      const b = await walletBalance(w);
      const text = b.balances.length === 0 ? 'balance: 0 (no coins)\n' : b.balances.map((x) => `${x.amount}  (${x.coins} coin${x.coins === 1 ? '' : 's'})`).join('\n') + '\n';
      S.printResult(io, Boolean(values.json), b, text);
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
