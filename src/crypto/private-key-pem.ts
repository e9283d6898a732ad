// Private keys at rest: encrypted PKCS#8 PEM (RFC 7468 §11 "ENCRYPTED PRIVATE
// KEY"), readable by `openssl pkey`. See rfc8018.ts for the KDF choice.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { err, ok, type Result } from '../protocol/result.ts';
import type { CryptoErrorCode } from './errors.ts';
import { keyAlgorithmOf, signingAlgorithm, type KeyAlgorithmName } from './keys.ts';
import { pbes2Decrypt, pbes2Encrypt, WRONG_PASSPHRASE_MESSAGE } from './rfc8018.ts';

const LABEL = 'ENCRYPTED PRIVATE KEY';
const PEM = /^-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----\r?\n?$/;

function assertPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length === 0) throw new TypeError('passphrase: expected a non-empty string');
}

/** Encrypts an extractable Ed25519 or P-256 private key to a PEM string. */
export async function encryptPrivateKey(key: CryptoKey, passphrase: string): Promise<string> {
  if (!(key instanceof CryptoKey) || key.type !== 'private' || !key.extractable) {
    throw new TypeError('key: expected an extractable private CryptoKey');
  }
  if (keyAlgorithmOf(key) === undefined) throw new TypeError('key: expected an Ed25519 or ECDSA P-256 key');
  assertPassphrase(passphrase);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', key));
  try {
    const der = await pbes2Encrypt(pkcs8, passphrase);
    const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
    return `-----BEGIN ${LABEL}-----\n${b64}\n-----END ${LABEL}-----\n`;
  } finally {
    pkcs8.fill(0);
  }
}

export interface DecryptOptions {
  /** Let the private key be exported again (e.g. to change the passphrase). Default false. */
  extractable?: boolean;
}

/**
 * Decrypts a PEM from encryptPrivateKey (or `openssl pkcs8 -topk8 -v2 aes-256-cbc
 * -v2prf hmacWithSHA256 -iter 600000`) into a key pair: private key for signing,
 * public key derived from it.
 */
export async function decryptPrivateKey(
  pem: string,
  passphrase: string,
  opts: DecryptOptions = {},
): Promise<Result<CryptoKeyPair & { alg: KeyAlgorithmName }, CryptoErrorCode>> {
  if (typeof pem !== 'string') throw new TypeError('pem: expected a string');
  assertPassphrase(passphrase);
  const m = PEM.exec(pem.trim() + '\n');
  if (m === null) return err('CRYPTO_KEY_MALFORMED', 'not a PEM block');
  if (m[1] !== LABEL) {
    const hint = m[1] === 'PRIVATE KEY' ? ' (the key is not encrypted; keys at rest must be)' : '';
    return err('CRYPTO_KEY_MALFORMED', `expected "${LABEL}" PEM, found "${m[1]}"${hint}`);
  }
  const der = new Uint8Array(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  const decrypted = await pbes2Decrypt(der, passphrase);
  if (!decrypted.ok) return decrypted;
  const pkcs8 = decrypted.value;
  try {
    let alg: KeyAlgorithmName;
    let spki: Uint8Array<ArrayBuffer>;
    try {
      const ko = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
      if (ko.asymmetricKeyType === 'ed25519') alg = 'Ed25519';
      else if (ko.asymmetricKeyType === 'ec' && ko.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = 'P-256';
      else return err('CRYPTO_KEY_UNSUPPORTED', `key type ${ko.asymmetricKeyType ?? 'unknown'} is not used by Quittance (Ed25519 or P-256 only)`);
      spki = new Uint8Array(createPublicKey(ko).export({ type: 'spki', format: 'der' }));
    } catch {
      // Correct padding by chance under a wrong key (about 1 in 256) leaves garbage here.
      return err('CRYPTO_KEY_PASSPHRASE_WRONG', WRONG_PASSPHRASE_MESSAGE);
    }
    const algorithm = signingAlgorithm(alg);
    const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, algorithm, opts.extractable ?? false, ['sign']);
    const publicKey = await crypto.subtle.importKey('spki', spki, algorithm, true, ['verify']);
    return ok({ privateKey, publicKey, alg });
  } finally {
    pkcs8.fill(0);
  }
}
