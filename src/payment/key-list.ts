// GET /v1/keys: the denomination key list, signed by the payment server's
// certified key. Signing is cheap but not free, and wallets fetch the list
// often, so the signed document is kept in memory together with the set of
// keys it lists and served again until that set changes (a rotation by any
// process, or a key passing its depositUntil). Each request costs one small
// indexed query, which is what lets another process's rotation show at once.
import { DENOMINATION_KEYS_TYP, DenominationKeys } from '../protocol/documents/denomination-keys.ts';
import { signDocument, type GeneralJws } from '../protocol/jws.ts';
import { denominationsOf } from './config.ts';
import { ensureDenominationKeys, listDenominationKeys, rotationDue } from './denominations.ts';
import { loadingAccounts } from './bank-link.ts';
import type { PaymentDeps } from './deps.ts';

type KeyListDeps = Pick<PaymentDeps, 'db' | 'config' | 'signer' | 'wrapKey' | 'isUniqueViolation' | 'caches' | 'clock' | 'bankLink'>;

// One rotation at a time per process; other processes are handled by the
// database (denominations.ts).
const ensuring = new WeakMap<object, Promise<unknown>>();

async function ensureOnce(deps: KeyListDeps, now: Date): Promise<void> {
  let p = ensuring.get(deps.caches);
  if (p === undefined) {
    p = ensureDenominationKeys(deps, now).finally(() => ensuring.delete(deps.caches));
    ensuring.set(deps.caches, p);
  }
  await p;
}

function needsKeys(deps: KeyListDeps, keys: Awaited<ReturnType<typeof listDenominationKeys>>, now: Date): boolean {
  const newest = new Map<string, (typeof keys)[number]>();
  for (const k of keys) {
    const id = `${k.currency}:${k.value}`;
    if ((newest.get(id)?.generation ?? 0) < k.generation) newest.set(id, k);
  }
  for (const c of deps.config.currencies) {
    const d = denominationsOf(c);
    for (const v of d.values) {
      const k = newest.get(`${d.currency}:${v}`);
      if (rotationDue(deps.config, k && { valid_from: k.validFrom, withdraw_until: k.withdrawUntil }, now)) return true;
    }
  }
  return false;
}

/** The signed list of every key whose depositUntil is not past, making due keys first. */
export async function signedKeyList(deps: KeyListDeps): Promise<GeneralJws> {
  const now = deps.clock();
  let keys = await listDenominationKeys(deps, now);
  if (needsKeys(deps, keys, now)) {
    await ensureOnce(deps, now);
    keys = await listDenominationKeys(deps, now);
  }
  const loading = loadingAccounts(deps);
  // The cached list is reused only for the same keys AND the same loading accounts.
  const setId = `${keys.map((k) => k.denominationId).join(',')}|${JSON.stringify(loading ?? null)}`;
  const cached = deps.caches.keyList;
  if (cached?.setId === setId) return cached.jws as GeneralJws;

  const payload = DenominationKeys.parse({
    typ: DENOMINATION_KEYS_TYP,
    paymentServer: { id: deps.signer.partyId, name: deps.signer.displayName },
    issuedAt: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(),
    keys: keys.map((k) => ({
      denominationId: k.denominationId,
      value: k.amount,
      publicKey: k.publicKey,
      validFrom: k.validFrom,
      withdrawUntil: k.withdrawUntil,
      depositUntil: k.depositUntil,
    })),
    ...(loading ? { loading } : {}),
  });
  const jws = await signDocument({ payload, typ: DENOMINATION_KEYS_TYP, privateKey: deps.signer.privateKey, alg: deps.signer.alg, x5c: deps.signer.x5c });
  deps.caches.keyList = { setId, jws };
  return jws;
}
