// `quittance payment …`: run and operate the payment server.
import type { Group } from '../../command.ts';
import { keys, rotate } from './keys.ts';
import { init, serve } from './setup.ts';

export const paymentGroup: Group = {
  name: 'payment',
  summary: 'payment server (e-money: denomination keys)',
  commands: [init, serve, keys, rotate],
};
