import type { Migration } from '../../store/index.ts';
import * as m0001 from './0001-init.ts';
import * as m0002 from './0002-books.ts';
import * as m0003 from './0003-purchases.ts';
import * as m0004 from './0004-purses.ts';
import * as m0005 from './0005-purse-evidence.ts';
import * as m0006 from './0006-repayments.ts';
import * as m0007 from './0007-settlements.ts';
import * as m0008 from './0008-notifications.ts';

/** Ordered by name; never edit a migration that has shipped, add the next one. */
export const PAYMENT_MIGRATIONS: Record<string, Migration> = {
  '0001-init': m0001,
  '0002-books': m0002,
  '0003-purchases': m0003,
  '0004-purses': m0004,
  '0005-purse-evidence': m0005,
  '0006-repayments': m0006,
  '0007-settlements': m0007,
  '0008-notifications': m0008,
};
