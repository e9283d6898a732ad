// `quittance bank …`: run a bank, and talk to a running one over HTTP.
import type { Group } from '../../command.ts';
import { balance, history, openAccount } from './accounts.ts';
import { accounts, statement } from './operator.ts';
import { init, serve } from './setup.ts';
import { fund, transfer } from './transfers.ts';

export const bankGroup: Group = {
  name: 'bank',
  summary: 'accounts and transfers (the bank the shopper loads e-money from)',
  commands: [init, serve, openAccount, transfer, fund, balance, history, accounts, statement],
};
