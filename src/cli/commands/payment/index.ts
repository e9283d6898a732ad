// `quittance payment …`: run and operate the payment server.
import type { Group } from '../../command.ts';
import { keys, rotate } from './keys.ts';
import { linkBank } from './link-bank.ts';
import { activateMerchantCommand, addMerchantCommand, merchantsCommand, notifyMerchantCommand, suspendMerchantCommand } from './merchants.ts';
import { notificationsCommand, paymentsCommand, reservesCommand, settlementsCommand } from './operator-views.ts';
import { settle } from './settle.ts';
import { init, serve } from './setup.ts';

export const paymentGroup: Group = {
  name: 'payment',
  summary: 'payment server (e-money: denomination keys, loading from the bank, settlement to merchants)',
  commands: [init, linkBank, serve, keys, rotate, addMerchantCommand, merchantsCommand, suspendMerchantCommand, activateMerchantCommand, notifyMerchantCommand, settle, paymentsCommand, reservesCommand, settlementsCommand, notificationsCommand],
};
