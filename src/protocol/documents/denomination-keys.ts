// The payment server's denomination keys (DESIGN §4), published at
// GET /v1/keys and signed by the payment server's certified key. A wallet
// blinds a coin under one of these keys and later anyone checks the coin's
// RSA signature with it, so the list is the root of trust for e-money: it is
// a signed document like any other, kept as evidence with the coins.
//
// Each key has three moments: validFrom (published, usable), withdrawUntil
// (the last moment a coin may be signed with it) and depositUntil (the last
// moment its coins are accepted). Between the two, coins are still spendable
// but no new ones are made; keys rotate so that no key signs for long.
import { z } from 'zod';
import { AmountString, parseAmount } from '../amount.ts';
import { decodeBase64url, encodeBase64url } from '../base64url.ts';
import { err, ok, type Result } from '../result.ts';
import { blindRsaPublicKeyFromSpki } from '../rfc9474.ts';
import { checkTimeOrder, PartyRef, Rfc3339Utc, Sha256B64u } from './fields.ts';

export const DENOMINATION_KEYS_TYP = 'quittance.denomination-keys.v1+json';

/** Keys per list: with rotation overlap a few generations of every denomination of a few currencies. */
export const MAX_DENOMINATION_KEYS = 512;

/** True when `minor` is 1, 2, 4, 8, … (denominations are powers of two in the minor unit). */
export function isPowerOfTwo(minor: bigint): boolean {
  return minor > 0n && (minor & (minor - 1n)) === 0n;
}

/**
 * SPKI DER of an RSA key, canonical unpadded base64url. 2048-bit keys give
 * 392 characters, 8192-bit keys about 1,420; the bound stops a huge "key".
 */
const B64U = /^[A-Za-z0-9_-]+$/;
export const SpkiB64u = z
  .string()
  .min(16)
  .max(1600)
  .regex(B64U, 'publicKey: SPKI DER, base64url without padding')
  // Canonical (unused trailing bits zero), so a key has one spelling; reported once.
  .refine((s) => !B64U.test(s) || decodeBase64url(s) !== undefined, 'publicKey: not canonical base64url');

export const DenominationValue = AmountString.refine((s) => {
  const a = parseAmount(s);
  return !a.ok || isPowerOfTwo(a.value.minor);
}, 'value: a power of two in the currency\'s minor unit');

export const DenominationKey = z
  .strictObject({
    /** base64url SHA-256 of the SPKI DER: names the key in coins and envelopes (checkDenominationKeys verifies it). */
    denominationId: Sha256B64u,
    value: DenominationValue,
    publicKey: SpkiB64u,
    validFrom: Rfc3339Utc,
    withdrawUntil: Rfc3339Utc,
    depositUntil: Rfc3339Utc,
  })
  .superRefine((k, ctx) => {
    checkTimeOrder(ctx, k.validFrom, k.withdrawUntil, 'withdrawUntil', 'validFrom');
    checkTimeOrder(ctx, k.withdrawUntil, k.depositUntil, 'depositUntil', 'withdrawUntil', true);
  });
export type DenominationKey = z.infer<typeof DenominationKey>;

/**
 * Where to send money to load a reserve (DESIGN §4 "loading"): the payment
 * server's bank account per currency. In the signed list so that a wallet
 * pays the account the certified payment server named, not one a network
 * attacker substituted.
 */
export const LoadingAccount = z.strictObject({ currency: z.string().regex(/^[A-Z]{3}$/, 'currency: ISO 4217'), bankAccount: z.string().regex(/^QB[0-9]{2}[0-9A-Z]{12}$/, 'bankAccount: a bank account id') });
export type LoadingAccount = z.infer<typeof LoadingAccount>;

export const DenominationKeys = z
  .strictObject({
    typ: z.literal(DENOMINATION_KEYS_TYP),
    /** The payment server; equals the signer's certified party id and display name. */
    paymentServer: PartyRef,
    issuedAt: Rfc3339Utc,
    keys: z.array(DenominationKey).min(1).max(MAX_DENOMINATION_KEYS),
    /** Absent when the payment server has no bank link (it cannot take loads then). */
    loading: z.array(LoadingAccount).max(16).optional(),
  })
  .superRefine((d, ctx) => {
    if (!Array.isArray(d.keys)) return;
    // One id, one key: a list naming two keys alike would let the server show
    // a wallet one key and a merchant another under the same id.
    const seen = new Set<unknown>();
    for (const [i, k] of d.keys.entries()) {
      const id = (k as { denominationId?: unknown } | null)?.denominationId;
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'denominationId'], message: 'denominationId listed twice' });
      seen.add(id);
    }
  });
export type DenominationKeys = z.infer<typeof DenominationKeys>;

/** base64url SHA-256 of an SPKI DER: the denomination id of that key. */
export async function denominationIdOf(spki: Uint8Array): Promise<string> {
  if (!(spki instanceof Uint8Array)) throw new TypeError('spki: expected a Uint8Array');
  return encodeBase64url(new Uint8Array(await crypto.subtle.digest('SHA-256', spki.slice())));
}

/**
 * The checks a schema cannot make (they need hashing and key parsing): every
 * denominationId is SHA-256 of its publicKey, and every publicKey is an RSA
 * key fit for RFC 9474 (2048-8192 bits, see rfc9474.ts). With `signerPartyId`
 * (the verified signer of the JWS), paymentServer.id must be that party.
 * Run it after parseDocument; fails with PROTO_DOCUMENT_INVALID and paths.
 */
export async function checkDenominationKeys(
  doc: DenominationKeys,
  opts: { signerPartyId?: string } = {},
): Promise<Result<DenominationKeys, 'PROTO_DOCUMENT_INVALID'>> {
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.keys)) throw new TypeError('doc: expected a parsed denomination-keys document');
  // Snapshot before the first await (the caller could change the array meanwhile).
  const keys = doc.keys.map((k) => ({ denominationId: k.denominationId, publicKey: k.publicKey }));
  const issues: { path: string; message: string }[] = [];
  if (opts.signerPartyId !== undefined && doc.paymentServer.id !== opts.signerPartyId) {
    issues.push({ path: 'paymentServer.id', message: `differs from the signer's party id ${opts.signerPartyId}` });
  }
  for (const [i, k] of keys.entries()) {
    if (issues.length >= 20) break;
    const spki = decodeBase64url(k.publicKey);
    if (spki === undefined) {
      issues.push({ path: `keys.${i}.publicKey`, message: 'not canonical base64url' });
      continue;
    }
    if ((await denominationIdOf(spki)) !== k.denominationId) {
      issues.push({ path: `keys.${i}.denominationId`, message: 'is not the SHA-256 of publicKey' });
      continue;
    }
    const rsa = await blindRsaPublicKeyFromSpki(spki);
    if (!rsa.ok) issues.push({ path: `keys.${i}.publicKey`, message: rsa.message });
  }
  if (issues.length > 0) return err('PROTO_DOCUMENT_INVALID', 'denomination key list does not check out', issues);
  return ok(doc);
}
