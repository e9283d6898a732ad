// PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 §3) protected with PBES2 (RFC 8018
// §6.2): PBKDF2-HMAC-SHA-256, 600,000 iterations, AES-256-CBC.
//
// Why not KeyObject.export({ cipher, passphrase })? Node (OpenSSL) then uses
// PBKDF2 with 2,048 iterations, which a GPU tries billions of times a second.
// 600,000 is OWASP's 2023 figure for PBKDF2-HMAC-SHA-256. PBKDF2 rather than
// scrypt: every OpenSSL 1.1+/3.x and every PKCS#8 reader supports it.
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { err, ok, type Result } from '../protocol/result.ts';
import { children, DerError, expect, nul, octets, oid, one, readOid, readUint, seq, TAG, uint, type Node } from './der.ts';
import type { CryptoErrorCode } from './errors.ts';

const pbkdf2Async = promisify(pbkdf2);

export const MIN_ITERATIONS = 600_000;
// A key file is operator-supplied, but a crafted one must not hang start-up.
// A crafted key file must not pin a CPU for minutes at start-up (~1.5 s at 10M here).
const MAX_ITERATIONS = 10_000_000;

// RFC 8018 §4.1: at least eight octets, so that one precomputed dictionary
// cannot attack every key file at once.
const MIN_SALT_OCTETS = 8;

/**
 * The one answer to "this does not decrypt", whether the CBC padding failed or
 * the padded plaintext is not a key: telling the two apart is a padding oracle.
 */
export const WRONG_PASSPHRASE_MESSAGE = 'wrong passphrase for this key (or the file is corrupt)';

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  scrypt: '1.3.6.1.4.1.11591.4.11',
  hmacWithSHA1: '1.2.840.113549.2.7',
} as const;

const PRFS: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
};
const AES_256_CBC = '2.16.840.1.101.3.4.1.42';
const HMAC_SHA256 = '1.2.840.113549.2.9';

function passwordBytes(passphrase: string): Buffer {
  // RFC 8018 §3 leaves the encoding open; UTF-8 is what OpenSSL reads from a terminal.
  return Buffer.from(passphrase, 'utf8');
}

export async function pbes2Encrypt(privateKeyInfo: Uint8Array, passphrase: string, iterations = MIN_ITERATIONS): Promise<Uint8Array> {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = await pbkdf2Async(passwordBytes(passphrase), salt, iterations, 32, 'sha256');
  try {
    const cipher = createCipheriv('aes-256-cbc', key, iv);
    const encrypted = Buffer.concat([cipher.update(privateKeyInfo), cipher.final()]);
    return seq(
      seq(
        oid(OID.pbes2),
        seq(
          // PBKDF2-params (RFC 8018 A.2): salt, iterationCount, prf. keyLength
          // is omitted: the cipher fixes it.
          seq(oid(OID.pbkdf2), seq(octets(salt), uint(iterations), seq(oid(HMAC_SHA256), nul()))),
          seq(oid(AES_256_CBC), octets(iv)),
        ),
      ),
      octets(encrypted),
    );
  } finally {
    key.fill(0);
  }
}

interface Params {
  salt: Uint8Array;
  iterations: number;
  prf: 'sha256' | 'sha384' | 'sha512';
  cipher: { name: string; keyLength: number };
  iv: Uint8Array;
  encrypted: Uint8Array;
}

type Parsed = Result<Params, CryptoErrorCode>;

// Steps follow the ASN.1 of RFC 5958 §3 and RFC 8018 A.2 / A.4 / B.2.5.
function parse(der: Uint8Array): Parsed {
  // EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING }
  const [alg, data, ...extra] = children(one(der, TAG.SEQUENCE).content);
  if (extra.length > 0) throw new DerError('EncryptedPrivateKeyInfo: trailing fields');
  const encrypted = expect(data, TAG.OCTET_STRING, 'encryptedData').content;
  const [schemeOid, schemeParams] = children(expect(alg, TAG.SEQUENCE, 'encryptionAlgorithm').content);
  const scheme = readOid(schemeOid, 'encryptionAlgorithm');
  if (scheme !== OID.pbes2) {
    return err('CRYPTO_KEY_WEAK_KDF', `key is protected by ${scheme}, not PBES2 (PBES1 and PKCS#12 schemes are refused)`);
  }
  // PBES2-params ::= SEQUENCE { keyDerivationFunc, encryptionScheme }
  const [kdf, enc, ...more] = children(expect(schemeParams, TAG.SEQUENCE, 'PBES2-params').content);
  if (more.length > 0) throw new DerError('PBES2-params: trailing fields');
  const [kdfOid, kdfParams] = children(expect(kdf, TAG.SEQUENCE, 'keyDerivationFunc').content);
  const kdfName = readOid(kdfOid, 'keyDerivationFunc');
  if (kdfName !== OID.pbkdf2) {
    const what = kdfName === OID.scrypt ? 'scrypt' : kdfName;
    return err('CRYPTO_KEY_WEAK_KDF', `key derivation ${what} is not accepted; re-encrypt with PBKDF2-HMAC-SHA256, ${MIN_ITERATIONS}+ iterations`);
  }
  // PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount, keyLength OPTIONAL, prf DEFAULT hmacWithSHA1 }
  const fields: (Node | undefined)[] = children(expect(kdfParams, TAG.SEQUENCE, 'PBKDF2-params').content);
  const salt = expect(fields.shift(), TAG.OCTET_STRING, 'salt').content;
  const iterations = readUint(fields.shift(), 'iterationCount');
  const keyLength = fields[0]?.tag === TAG.INTEGER ? readUint(fields.shift(), 'keyLength') : undefined;
  let prfOid: string = OID.hmacWithSHA1;
  const prfNode = fields.shift();
  if (prfNode !== undefined) {
    const [id, params, ...rest] = children(expect(prfNode, TAG.SEQUENCE, 'prf').content);
    prfOid = readOid(id, 'prf');
    if (rest.length > 0 || (params !== undefined && (params.tag !== TAG.NULL || params.content.length > 0))) throw new DerError('prf: bad parameters');
  }
  if (fields.length > 0) throw new DerError('PBKDF2-params: trailing fields');
  const prf = PRFS[prfOid];
  if (prf === undefined) {
    const what = prfOid === OID.hmacWithSHA1 ? 'HMAC-SHA1' : prfOid;
    return err('CRYPTO_KEY_WEAK_KDF', `PBKDF2 with ${what} is not accepted; use HMAC-SHA256`);
  }
  if (salt.length < MIN_SALT_OCTETS) {
    return err('CRYPTO_KEY_WEAK_KDF', `PBKDF2 salt of ${salt.length} octets is too short; at least ${MIN_SALT_OCTETS} are required`);
  }
  if (iterations < MIN_ITERATIONS) {
    return err('CRYPTO_KEY_WEAK_KDF', `PBKDF2 with ${iterations} iterations is too weak; at least ${MIN_ITERATIONS} are required`);
  }
  if (iterations > MAX_ITERATIONS) throw new DerError(`iterationCount ${iterations} is beyond any sane setting`);
  // encryptionScheme: AES-CBC with a 16-byte IV as its parameter (RFC 8018 B.2.5 / NIST OIDs).
  const [encOid, ivNode, ...encRest] = children(expect(enc, TAG.SEQUENCE, 'encryptionScheme').content);
  const encName = readOid(encOid, 'encryptionScheme');
  const cipher = CIPHERS[encName];
  if (cipher === undefined) return err('CRYPTO_KEY_UNSUPPORTED', `cipher ${encName} is not supported; use AES-256-CBC`);
  const iv = expect(ivNode, TAG.OCTET_STRING, 'iv').content;
  if (iv.length !== 16 || encRest.length > 0) throw new DerError('encryptionScheme: bad IV');
  if (keyLength !== undefined && keyLength !== cipher.keyLength) throw new DerError('keyLength does not match the cipher');
  return ok({ salt, iterations, prf, cipher, iv, encrypted });
}

/** Decrypts an EncryptedPrivateKeyInfo to the PrivateKeyInfo DER it protects. */
export async function pbes2Decrypt(der: Uint8Array, passphrase: string): Promise<Result<Uint8Array<ArrayBuffer>, CryptoErrorCode>> {
  let parsed: Parsed;
  try {
    parsed = parse(der);
  } catch (e) {
    if (e instanceof DerError) return err('CRYPTO_KEY_MALFORMED', `encrypted key is malformed: ${e.message}`);
    throw e;
  }
  if (!parsed.ok) return parsed;
  const p = parsed.value;
  const key = await pbkdf2Async(passwordBytes(passphrase), p.salt, p.iterations, p.cipher.keyLength, p.prf);
  try {
    const decipher = createDecipheriv(p.cipher.name, key, p.iv);
    return ok(new Uint8Array(Buffer.concat([decipher.update(p.encrypted), decipher.final()])));
  } catch {
    // Bad padding: the derived key is wrong (CBC gives no other signal).
    return err('CRYPTO_KEY_PASSPHRASE_WRONG', WRONG_PASSPHRASE_MESSAGE);
  } finally {
    key.fill(0);
  }
}
