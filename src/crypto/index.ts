// Keys: generation, encrypted PKCS#8 at rest, key files, passphrases.
export { generateKeyPair, exportSpkiDer, exportPublicJwk, keyAlgorithmOf, signingAlgorithm, type KeyAlgorithmName } from './keys.ts';
export { encryptPrivateKey, decryptPrivateKey, type DecryptOptions } from './private-key-pem.ts';
export { writeKeyFile, readKeyFile } from './key-file.ts';
export { readPassphrase, type PassphraseOptions } from './passphrase.ts';
export { CRYPTO_ERROR_CODES, type CryptoErrorCode } from './errors.ts';
