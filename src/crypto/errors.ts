// Stable codes for expected failures when loading a key at rest (STYLE "Errors are codes").
export const CRYPTO_ERROR_CODES = [
  // The passphrase does not decrypt the key (or the ciphertext was altered).
  'CRYPTO_KEY_PASSPHRASE_WRONG',
  // Not an "ENCRYPTED PRIVATE KEY" PEM, or its DER structure is broken.
  'CRYPTO_KEY_MALFORMED',
  // Protected by something weaker than PBES2 + PBKDF2-HMAC-SHA-256/512 with at
  // least 600,000 iterations (OWASP 2023) and an 8-octet salt, or by a KDF we
  // do not implement.
  'CRYPTO_KEY_WEAK_KDF',
  // Encrypted with a cipher other than AES-CBC, or holding a key type other than
  // Ed25519 or ECDSA P-256.
  'CRYPTO_KEY_UNSUPPORTED',
] as const;

export type CryptoErrorCode = (typeof CRYPTO_ERROR_CODES)[number];
