// `quittance wallet …`: the shopper's wallet on this machine.
import type { Group } from '../../command.ts';
import { buyCommand, history, show } from './buy.ts';
import { exportCommand } from './export.ts';
import { load } from './load.ts';
import { refundCommand } from './refund.ts';
import { register } from './register.ts';
import { serveCommand } from './serve.ts';
import { init } from './setup.ts';
import { balance, coins, status } from './views.ts';

export const walletGroup: Group = {
  name: 'wallet',
  summary: "the shopper's wallet: identity, e-money, purchases, refunds",
  commands: [init, register, load, buyCommand, refundCommand, history, show, exportCommand, status, balance, coins, serveCommand],
};
