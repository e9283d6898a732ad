// `quittance bank init`: a new bank in a data directory. The bank signs
// nothing yet, so there is no key: only the config with the operator token's hash.
import { hashToken, newAdminToken } from '../http/admin-auth.ts';
import { BankConfig } from './config.ts';
import { bankConfigPath, isInitialized, writeBankConfig } from './data-dir.ts';

export type InitBankOptions = { name?: string; config?: Partial<BankConfig> };
export type InitializedBank = { adminToken: string; configPath: string };

export async function initBank(dir: string, opts: InitBankOptions = {}): Promise<InitializedBank> {
  if (isInitialized(dir)) throw new Error(`${dir} already holds a bank; refusing to overwrite it`);
  const adminToken = newAdminToken();
  const parsed = BankConfig.safeParse({ name: opts.name ?? 'Quittance Bank', adminTokenHashes: [hashToken(adminToken)], ...opts.config });
  if (!parsed.success) {
    throw new Error(`invalid bank settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  await writeBankConfig(dir, parsed.data);
  return { adminToken, configPath: bankConfigPath(dir) };
}
