import type { Migration } from '../../store/index.ts';
import * as m0001 from './0001-init.ts';

/** Ordered by name; never edit a migration that has shipped, add the next one. */
export const MERCHANT_MIGRATIONS: Record<string, Migration> = {
  '0001-init': m0001,
};
