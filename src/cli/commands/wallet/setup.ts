// `quittance wallet init`.
import { resolve } from 'node:path';
import { initWallet } from '../../../wallet/index.ts';
import { EXIT, requireString, type Command } from '../../command.ts';
import * as S from './shared.ts';

export const init: Command = {
  name: 'init',
  summary: 'create a new wallet (encrypted seed and store)',
  options: { data: S.DATA, json: S.JSON_OUT },
  details: `Creates DIR (0700) with DIR/seed.json (the 32-byte wallet seed, AES-256-GCM under
PBKDF2-SHA256 600,000 iterations of the passphrase, 0600) and DIR/wallet.sqlite (0600).
Every coin and reserve key is derived from the seed: keep seed.json and the passphrase.
The passphrase comes from QUITTANCE_PASSPHRASE or a prompt. Refuses an existing wallet.`,
  async run({ values }, io) {
    const json = Boolean(values.json);
    const dir = resolve(requireString(values, 'data'));
    const pass = await S.passphrase(io, 'New wallet passphrase: ');
    const r = await initWallet(dir, { passphrase: pass, now: S.now });
    if (!r.ok) return S.fail(io, json, r);
    S.printResult(io, json, { walletId: r.value.walletId, dir }, `wallet created in ${dir}\n  wallet id: ${r.value.walletId}\n  seed: ${r.value.paths.seed} (encrypted; back it up with the passphrase)\n`);
    return EXIT.OK;
  },
};
