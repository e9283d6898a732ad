// The wallet's certified identity as a document signer: the approved
// certificate chain and identity-key.pem, opened with the passphrase. Used to
// sign orders and invoices of identified purchases and purse registrations.
import { existsSync } from 'node:fs';
import { decryptPrivateKey, readKeyFile, type CryptoErrorCode } from '../crypto/index.ts';
import type { SignerOptions } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { pemToDer } from '../protocol/x509/index.ts';
import { splitPemChain } from './ca-client.ts';
import type { WalletErrorCode } from './errors.ts';
import type { OpenedWallet } from './open.ts';
import { readIdentity } from './register.ts';

export type CertifiedSigner = { partyId: string; signer: (typ: string) => SignerOptions };

/** WALLET_NOT_REGISTERED until the CA approved the wallet's identity; CRYPTO_… for a wrong passphrase. */
export async function certifiedSigner(wallet: OpenedWallet, passphrase: string, why: string): Promise<Result<CertifiedSigner, CryptoErrorCode | Extract<WalletErrorCode, 'WALLET_NOT_REGISTERED'>>> {
  const identity = await readIdentity(wallet);
  if (identity?.status !== 'approved' || identity.certificate_chain_pem === null || identity.party_id === null || !existsSync(wallet.paths.identityKey)) {
    return err('WALLET_NOT_REGISTERED', `this wallet has no certified identity: ${why}`);
  }
  const key = await decryptPrivateKey(await readKeyFile(wallet.paths.identityKey), passphrase);
  if (!key.ok) return key;
  const x5c = splitPemChain(identity.certificate_chain_pem).map((p) => pemToDer(p, 'CERTIFICATE')!);
  const privateKey = key.value.privateKey;
  return ok({ partyId: identity.party_id, signer: (typ) => ({ typ, privateKey, alg: 'EdDSA', x5c }) });
}
