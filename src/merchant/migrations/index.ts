import type { Migration } from '../../store/index.ts';
import * as m0001 from './0001-init.ts';
import * as m0002 from './0002-receipts.ts';
import * as m0003 from './0003-refunds.ts';
import * as m0004 from './0004-settlement-reports.ts';
import * as m0005 from './0005-shop-api.ts';
import * as m0006 from './0006-webhooks.ts';

/** Ordered by name; never edit a migration that has shipped, add the next one. */
export const MERCHANT_MIGRATIONS: Record<string, Migration> = {
  '0001-init': m0001,
  '0002-receipts': m0002,
  '0003-refunds': m0003,
  '0004-settlement-reports': m0004,
  '0005-shop-api': m0005,
  '0006-webhooks': m0006,
};
