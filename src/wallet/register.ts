// Registration "from real to digital identity" (SEMPER) from the shopper's
// side: make an identity key, prove possession with a PKCS#10 request, and
// accept the certificate only after checking it ourselves. A CA (or whoever
// answers at its URL) could hand back a certificate for another key — then
// every document the wallet signs would name someone else — or one that does
// not chain to the root or is revoked; such a certificate is refused and
// nothing is stored.
import { existsSync } from 'node:fs';
import { decryptPrivateKey, encryptPrivateKey, exportSpkiDer, generateKeyPair, readKeyFile, writeKeyFile } from '../crypto/index.ts';
import type { CryptoErrorCode } from '../crypto/index.ts';
import { decodeBase64url, encodeBase64url } from '../protocol/base64url.ts';
import type { RegistrationRequest, RegistrationView } from '../protocol/messages/ca.ts';
import { err, ok, type Result } from '../protocol/result.ts';
import { pemToDer, validatePath, x509, type PathCode } from '../protocol/x509/index.ts';
import { getCaChain, getCrl, getRegistration, postRegistration, type CaClientCode, type Fetch } from './ca-client.ts';
import type { WalletIdentityTable } from './db.ts';
import type { WalletErrorCode } from './errors.ts';
import type { OpenedWallet } from './open.ts';

// The CA re-signs its CRL at half its validity (at most 31 days), so a CRL it
// serves is younger than this; nextUpdate is checked as well.
export const CRL_MAX_AGE_SECONDS = 16 * 86_400;

export type RegisterCode = WalletErrorCode | CaClientCode | PathCode | CryptoErrorCode;

export type RegisterDeps = {
  now: () => Date;
  fetch?: Fetch;
  sleep?: (ms: number) => Promise<void>;
};

export type RegisterParams = {
  caUrl: string;
  displayName: string;
  realIdentity: RegistrationRequest['realIdentity'];
  /** The wallet passphrase; needed only when a registration is submitted, not when one is resumed. */
  passphrase: string | undefined;
  /** Trust this root (PEM) rather than the one the CA serves at registration. */
  caRootPem?: string;
};

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function normalizeUrl(raw: string): string {
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError('caUrl: expected http:// or https://');
  return u.href;
}

export async function readIdentity(wallet: OpenedWallet): Promise<WalletIdentityTable | undefined> {
  return wallet.db.selectFrom('wallet_identity').selectAll().where('id', '=', 1).executeTakeFirst();
}

/** The identity key from identity-key.pem, or a new one written there (0600, encrypted) before the CA sees it. */
async function identityKeys(wallet: OpenedWallet, passphrase: string): Promise<Result<CryptoKeyPair, CryptoErrorCode>> {
  if (existsSync(wallet.paths.identityKey)) {
    const r = await decryptPrivateKey(await readKeyFile(wallet.paths.identityKey), passphrase);
    return r.ok ? ok({ privateKey: r.value.privateKey, publicKey: r.value.publicKey }) : r;
  }
  const keys = await generateKeyPair('Ed25519');
  await writeKeyFile(wallet.paths.identityKey, await encryptPrivateKey(keys.privateKey, passphrase));
  return ok(keys);
}

/**
 * Submits the registration (or returns the one already under way with this
 * CA). With a CA that approves at once, the certificate is checked and stored
 * before this returns.
 */
export async function submitRegistration(wallet: OpenedWallet, params: RegisterParams, deps: RegisterDeps): Promise<Result<WalletIdentityTable, RegisterCode>> {
  const caUrl = normalizeUrl(params.caUrl);
  const existing = await readIdentity(wallet);
  if (existing && existing.status !== 'rejected') {
    if (existing.ca_url !== caUrl || existing.display_name !== params.displayName) {
      return err('WALLET_IDENTITY_EXISTS', `this wallet is already ${existing.status === 'approved' ? 'registered' : 'registering'} as "${existing.display_name}" with ${existing.ca_url}`);
    }
    return existing.status === 'pending' ? resumeRegistration(wallet, deps) : ok(existing);
  }
  let pinnedRoot: string | null = null;
  if (params.caRootPem !== undefined) {
    if (!pemToDer(params.caRootPem, 'CERTIFICATE')) throw new TypeError('caRootPem: expected a PEM certificate');
    pinnedRoot = params.caRootPem;
  }
  if (params.passphrase === undefined) throw new TypeError('passphrase: required to submit a registration');
  // The passphrase of the identity key is the wallet's: check it on the seed first.
  const seed = await wallet.unlockSeed(params.passphrase);
  if (!seed.ok) return seed;
  seed.value.fill(0);
  const keys = await identityKeys(wallet, params.passphrase);
  if (!keys.ok) return keys;
  const spki = await exportSpkiDer(keys.value.publicKey);
  // The CA takes only the key and the proof of possession from a CSR; the subject is its decision.
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=Quittance wallet',
    keys: keys.value,
    signingAlgorithm: { name: 'Ed25519' },
  });
  const view = await postRegistration(deps.fetch ?? globalThis.fetch, caUrl, {
    realIdentity: params.realIdentity,
    role: 'client',
    displayName: params.displayName,
    csr: csr.toString('pem'),
  });
  if (!view.ok) return view;
  const now = deps.now().toISOString();
  const row: WalletIdentityTable = {
    id: 1,
    ca_url: caUrl,
    display_name: params.displayName,
    public_key_spki: encodeBase64url(spki),
    registration_id: view.value.registrationId,
    status: 'pending',
    party_id: null,
    certificate_chain_pem: null,
    ca_root_pem: pinnedRoot,
    not_before: null,
    not_after: null,
    reject_reason: null,
    created_at: now,
    updated_at: now,
  };
  await wallet.db.transaction().execute(async (tx) => {
    await tx.deleteFrom('wallet_identity').where('id', '=', 1).execute();
    await tx.insertInto('wallet_identity').values(row).execute();
  });
  return applyView(wallet, row, view.value, deps);
}

/** Asks the CA once for the state of the stored registration, and stores a certificate that passes the checks. */
export async function resumeRegistration(wallet: OpenedWallet, deps: RegisterDeps): Promise<Result<WalletIdentityTable, RegisterCode>> {
  const row = await readIdentity(wallet);
  if (!row) return err('WALLET_NOT_REGISTERED', 'this wallet has no registration (run `quittance wallet register` first)');
  if (row.status === 'approved') return ok(row);
  if (row.status === 'rejected') return err('WALLET_REGISTRATION_REJECTED', `the CA rejected the registration: ${row.reject_reason ?? ''}`);
  const view = await getRegistration(deps.fetch ?? globalThis.fetch, row.ca_url, row.registration_id);
  if (!view.ok) return view;
  return applyView(wallet, row, view.value, deps);
}

export type WaitOptions = {
  timeoutMs: number;
  pollMs: number;
  onProgress?: (p: { registrationId: string; elapsedSeconds: number }) => void;
};

/** Polls until the registration is approved (and the certificate checked), rejected, or the time is up. */
export async function waitForCertificate(wallet: OpenedWallet, deps: RegisterDeps, opts: WaitOptions): Promise<Result<WalletIdentityTable, RegisterCode>> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = deps.now().getTime();
  const registrationId = (await readIdentity(wallet))?.registration_id ?? '';
  for (;;) {
    const r = await resumeRegistration(wallet, deps);
    // A CA that is briefly down is worth waiting for; anything else ends the wait.
    if (!r.ok && r.code !== 'WALLET_CA_UNREACHABLE') return r;
    if (r.ok && r.value.status !== 'pending') return r;
    const elapsed = deps.now().getTime() - started;
    if (elapsed >= opts.timeoutMs) {
      return err('WALLET_REGISTRATION_TIMEOUT', `registration ${registrationId} is still pending after ${Math.round(elapsed / 1000)} s; run \`quittance wallet register --resume\` later`);
    }
    opts.onProgress?.({ registrationId, elapsedSeconds: Math.floor(elapsed / 1000) });
    await sleep(Math.min(opts.pollMs, opts.timeoutMs - elapsed));
  }
}

async function applyView(wallet: OpenedWallet, row: WalletIdentityTable, view: RegistrationView, deps: RegisterDeps): Promise<Result<WalletIdentityTable, RegisterCode>> {
  if (view.registrationId !== row.registration_id) return err('WALLET_CA_RESPONSE_INVALID', 'the CA answered about another registration');
  if (view.status === 'pending') return ok(row);
  const now = deps.now().toISOString();
  if (view.status === 'rejected') {
    await wallet.db
      .updateTable('wallet_identity')
      .set({ status: 'rejected', reject_reason: view.rejectReason ?? null, updated_at: now })
      .where('id', '=', 1)
      .where('status', '=', 'pending')
      .execute();
    return err('WALLET_REGISTRATION_REJECTED', `the CA rejected the registration: ${view.rejectReason ?? '(no reason given)'}`);
  }
  const checked = await checkCertificate(row, view, deps);
  if (!checked.ok) return checked;
  const update = {
    status: 'approved' as const,
    party_id: checked.value.partyId,
    certificate_chain_pem: checked.value.chainPem,
    ca_root_pem: checked.value.rootPem,
    not_before: checked.value.notBefore,
    not_after: checked.value.notAfter,
    updated_at: now,
  };
  await wallet.db.updateTable('wallet_identity').set(update).where('id', '=', 1).where('registration_id', '=', row.registration_id).execute();
  return ok({ ...row, ...update });
}

type CheckedCertificate = { partyId: string; chainPem: string; rootPem: string; notBefore: string; notAfter: string };

async function checkCertificate(row: WalletIdentityTable, view: RegistrationView, deps: RegisterDeps): Promise<Result<CheckedCertificate, RegisterCode>> {
  const fetchFn = deps.fetch ?? globalThis.fetch;
  if (view.certificate === undefined || view.chain === undefined || view.chain.length === 0) {
    return err('WALLET_CA_RESPONSE_INVALID', 'the CA approved the registration but sent no certificate chain');
  }
  const chain: Uint8Array[] = [];
  for (const pem of view.chain) {
    const der = pemToDer(pem, 'CERTIFICATE');
    if (!der) return err('WALLET_CA_RESPONSE_INVALID', 'the certificate chain is not PEM certificates');
    chain.push(der);
  }
  const leafDer = pemToDer(view.certificate, 'CERTIFICATE');
  if (!leafDer || !bytesEqual(leafDer, chain[0]!)) return err('WALLET_CA_RESPONSE_INVALID', 'the certificate is not the first of its chain');
  let leaf: x509.X509Certificate;
  try {
    leaf = new x509.X509Certificate(leafDer.slice());
  } catch {
    return err('WALLET_CA_RESPONSE_INVALID', 'the certificate does not parse');
  }
  // 1. The certificate must certify OUR key: otherwise the CA bound our name to a key someone else holds.
  const ours = decodeBase64url(row.public_key_spki)!;
  if (!bytesEqual(new Uint8Array(leaf.publicKey.rawData), ours)) {
    return err('WALLET_CERTIFICATE_MISMATCH', 'the CA returned a certificate for a different key; it was not stored');
  }
  // 2. The root: the one pinned with --ca-cert, else the CA's own (trust on first use; its fingerprint is shown).
  let rootPem = row.ca_root_pem;
  if (rootPem === null) {
    const caChain = await getCaChain(fetchFn, row.ca_url);
    if (!caChain.ok) return caChain;
    rootPem = caChain.value[caChain.value.length - 1]!;
  }
  const rootDer = pemToDer(rootPem, 'CERTIFICATE')!;
  const crl = await getCrl(fetchFn, row.ca_url);
  if (!crl.ok) return crl;
  // 3. Our own path validation: chains to the root, role client, valid now, not revoked.
  const path = await validatePath(chain, {
    trustAnchors: [rootDer],
    now: deps.now(),
    crls: [crl.value],
    crlMaxAgeSeconds: CRL_MAX_AGE_SECONDS,
    expectedRoles: ['client'],
  });
  if (!path.ok) return path;
  if (path.value.identity.displayName !== row.display_name) {
    return err('WALLET_CERTIFICATE_MISMATCH', `the certificate names "${path.value.identity.displayName}", not "${row.display_name}"; it was not stored`);
  }
  return ok({
    partyId: path.value.identity.partyId,
    chainPem: view.chain.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''),
    rootPem,
    notBefore: path.value.identity.notBefore.toISOString(),
    notAfter: path.value.identity.notAfter.toISOString(),
  });
}
