// The payment server's denomination keys, as the wallet trusts them: fetched
// from GET /v1/keys and accepted only as a document signed by a certified
// `payment` party that chains to the wallet's CA root and is not revoked
// (RFC 9474 §7 "Key Substitution Attack": a key from anywhere else could
// link the wallet's coins). Verified keys are kept in the store; a coin is
// always checked against a stored key.
import { z } from 'zod';
import { decodeBase64url } from '../protocol/base64url.ts';
import { parseAmount } from '../protocol/amount.ts';
import { checkDenominationKeys, DENOMINATION_KEYS_TYP, parseDocument, type LoadingAccount } from '../protocol/documents/index.ts';
import { verifyDocument, type VerifyCode } from '../protocol/jws.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { blindRsaPublicKeyFromSpki, type BlindRsaErrorCode, type BlindRsaPublicKey } from '../protocol/rfc9474.ts';
import { pemToDer } from '../protocol/x509/index.ts';
import { getCrl, type CaClientCode } from './ca-client.ts';
import type { WalletDenominationTable } from './db.ts';
import type { WalletErrorCode } from './errors.ts';
import { callJson, type ClientCode, type Fetch } from './http-client.ts';
import type { OpenedWallet } from './open.ts';
import { CRL_MAX_AGE_SECONDS, readIdentity } from './register.ts';

export type KeyListCode = ClientCode | CaClientCode | VerifyCode | BlindRsaErrorCode | 'PROTO_DOCUMENT_INVALID' | Extract<WalletErrorCode, 'WALLET_NOT_REGISTERED' | 'WALLET_PAYMENT_PARTY_CHANGED'>;

export type VerifiedKeyList = {
  paymentUrl: string;
  partyId: string;
  displayName: string;
  keys: WalletDenominationTable[];
  loading: LoadingAccount[];
};

/** Normalized http(s) base URL (one spelling per server, as stored with the keys). */
export function serverUrl(raw: string, what: string): string {
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`${what}: expected http:// or https://`);
  return u.href;
}

export async function fetchKeyList(wallet: OpenedWallet, paymentUrl: string, deps: { now: () => Date; fetch: Fetch }): Promise<Result<VerifiedKeyList, KeyListCode>> {
  const identity = await readIdentity(wallet);
  if (identity?.ca_root_pem == null) {
    return err('WALLET_NOT_REGISTERED', 'the wallet trusts no CA yet: run `quittance wallet register` first (the payment server\'s keys are checked against its CA)');
  }
  const jws = await callJson(deps.fetch, 'payment', paymentUrl, { method: 'GET', path: '/v1/keys', schema: z.unknown(), what: 'the key list request' });
  if (!jws.ok) return jws;
  const crl = await getCrl(deps.fetch, identity.ca_url);
  if (!crl.ok) return crl;
  const now = deps.now();
  const verified = await verifyDocument(jws.value.value, {
    now,
    trustAnchors: [pemToDer(identity.ca_root_pem, 'CERTIFICATE')!],
    crls: [crl.value],
    requireCrl: true,
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedTyp: DENOMINATION_KEYS_TYP,
    signers: [{ roles: ['payment'] }],
  });
  if (!verified.ok) return verified;
  const signer = verified.value.signers[0]!;
  if (signer.kind !== 'certified') return err('PROTO_JWS_SIGNER_MISMATCH', 'the key list is not signed by a certified payment server');
  // Trust on first use per URL: the party that signed this URL's keys before must sign them now.
  // Any certified payment server could otherwise answer at this address (a network attacker
  // holding such a certificate) and name its own bank account for loads.
  const known = await wallet.db.selectFrom('wallet_denominations').select('payment_party_id').where('payment_url', '=', paymentUrl).where('payment_party_id', '<>', signer.partyId).executeTakeFirst();
  if (known) {
    return err('WALLET_PAYMENT_PARTY_CHANGED', `the key list at ${paymentUrl} is signed by payment party ${signer.partyId}, but this wallet knows that address as ${known.payment_party_id}; refusing it`);
  }
  const parsed = parseDocument(DENOMINATION_KEYS_TYP, verified.value.payload);
  if (!parsed.ok) return parsed;
  const doc = await checkDenominationKeys(parsed.value, { signerPartyId: signer.partyId });
  if (!doc.ok) return doc;
  const seenAt = now.toISOString();
  const keys: WalletDenominationTable[] = doc.value.keys.map((k) => {
    const a = parseAmount(k.value);
    if (!a.ok) throw new Error('a checked key list holds a bad amount');
    return {
      denomination_id: k.denominationId,
      payment_url: paymentUrl,
      payment_party_id: signer.partyId,
      currency: a.value.currency,
      value: a.value.minor,
      public_key: k.publicKey,
      valid_from: k.validFrom,
      withdraw_until: k.withdrawUntil,
      deposit_until: k.depositUntil,
      seen_at: seenAt,
    };
  });
  // The id is the key's hash, so a stored row never changes meaning.
  for (const k of keys) {
    await wallet.db.insertInto('wallet_denominations').values(k).onConflict((oc) => oc.column('denomination_id').doNothing()).execute();
  }
  return ok({ paymentUrl, partyId: signer.partyId, displayName: signer.displayName, keys, loading: doc.value.loading ?? [] });
}

/** The RFC 9474 public key of a stored denomination. */
export async function denominationKey(row: Pick<WalletDenominationTable, 'public_key'>): Promise<Result<BlindRsaPublicKey, BlindRsaErrorCode>> {
  const spki = decodeBase64url(row.public_key);
  if (spki === undefined) return err('PROTO_BLIND_KEY_INVALID', 'stored denomination key is not base64url');
  return blindRsaPublicKeyFromSpki(spki);
}
