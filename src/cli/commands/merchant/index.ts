// `quittance merchant …`: run and operate the shop.
import type { Group } from '../../command.ts';
import { apiKey } from './api-keys.ts';
import { orders, show } from './orders.ts';
import { approveRefund, refunds, refuseRefund } from './refunds.ts';
import { settlements } from './settlements.ts';
import { init, serve } from './setup.ts';
import { webhook } from './webhooks.ts';

export const merchantGroup: Group = {
  name: 'merchant',
  summary: 'merchant server (catalogue, signed hello, orders → signed invoices, refund permits)',
  commands: [init, serve, orders, show, refunds, approveRefund, refuseRefund, settlements, webhook, apiKey],
};
