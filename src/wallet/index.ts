// The shopper's client library (DESIGN §1): keys, certificate, reserves and coins.
export { WALLET_ERROR_CODES, type WalletErrorCode } from './errors.ts';
export { deriveCoin, derivePurse, deriveReserve, ed25519FromSeed, BLINDING_SEED_BYTES, DERIVATION_INFO, SEED_BYTES, type DerivedCoin, type DerivedKeyPair } from './derive.ts';
export { sealSeed, openSeed, SEED_FORMAT, type SeedFile } from './seed-box.ts';
export { initWallet, openWallet, MIN_PASSPHRASE, type OpenedWallet, type InitOptions } from './open.ts';
export { isWallet, walletPaths, type WalletPaths } from './wallet-dir.ts';
export {
  submitRegistration,
  resumeRegistration,
  waitForCertificate,
  readIdentity,
  CRL_MAX_AGE_SECONDS,
  type RegisterCode,
  type RegisterDeps,
  type RegisterParams,
  type WaitOptions,
} from './register.ts';
export { walletStatus, walletBalance, walletCoins, type StatusView, type IdentityView, type BalanceView, type CoinView } from './views.ts';
export type { WalletDatabase, CoinState, ReserveState, DerivationPurpose, PurseLoadState } from './db.ts';
export {
  registerPurse,
  purseBalance,
  loadPurse,
  resumePurseLoads,
  listPurses,
  registeredPurseBalances,
  purseLoadTransferId,
  type PurseDeps,
  type RegisterPurseDeps,
  type ResumePurseDeps,
  type PurseBalanceDeps,
  type RegisteredPurse,
  type PurseBalance,
  type PurseBalanceEntry,
  type PurseLoadOutcome,
  type PurseResumeOutcome,
  type PurseProgress,
  type PurseCode,
  type RegisterPurseCode,
} from './purse.ts';
