// `quittance demo`, first run: makes the whole marketplace in one directory
// with the same library calls the parties' own `init` commands make (CA, two
// certificates, bank, payment server with its bank account, shop under
// contract, a funded shopper). DIR/demo.json is written last: it marks a
// finished setup, so a later run reuses the directory as it is.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { OPERATOR } from '../../bank/auth.ts';
import { openAccount } from '../../bank/accounts.ts';
import { initBank } from '../../bank/init.ts';
import { openBank } from '../../bank/open.ts';
import { fund } from '../../bank/transfers.ts';
import { issueAndRecord } from '../../ca/certificates.ts';
import { initCa } from '../../ca/init.ts';
import { openCa, type OpenedCa } from '../../ca/open.ts';
import { newPartyId, serialBytes } from '../../ca/registrations.ts';
import { wholeSeconds } from '../../ca/x509-authority.ts';
import { encryptPrivateKey, generateKeyPair, writeKeyFile } from '../../crypto/index.ts';
import { initMerchant } from '../../merchant/init.ts';
import { writeBankLink } from '../../payment/bank-link.ts';
import { initPayment } from '../../payment/init.ts';
import { addMerchant, trustAnchorOf } from '../../payment/merchants.ts';
import { openPaymentStore } from '../../payment/open.ts';
import type { Role } from '../../protocol/identity.ts';
import { x509 } from '../../protocol/x509/index.ts';

/** Written into demo.json next to it: the demo's keys are as safe as that file. */
export const DEMO_PASSPHRASE = 'quittance demo - not for real money';
export const DEMO_MERCHANT_NAME = 'Tokyo On-line Mail Order Dealer';
export const DEMO_SHOPPER = { holder: 'hanako', funds: 'JPY:100000' } as const;
export const DEMO_FILE = 'demo.json';
export const SHOPPER_TOKEN_FILE = 'shopper-token';

/** Consecutive ports from the base one: ca N, bank N+1, payment N+2, merchant N+3. */
export const PARTIES = ['ca', 'bank', 'payment', 'merchant'] as const;
export type Party = (typeof PARTIES)[number];

export type DemoAddress = { host: string; basePort: number };

export const DemoFile = z.strictObject({
  notice: z.string(),
  version: z.literal(1),
  passphrase: z.string().min(8),
  host: z.string().min(1),
  basePort: z.number().int().min(1).max(65532),
  parties: z.strictObject({ payment: z.string(), merchant: z.string() }),
  operatorTokens: z.strictObject({ ca: z.string(), bank: z.string(), payment: z.string(), merchant: z.string() }),
  shopper: z.strictObject({ holder: z.string(), bankAccount: z.string(), holderToken: z.string(), tokenFile: z.string() }),
  /** The shop's own bank account, where settlements pay its takings (absent in demos made before settlement). */
  shopBank: z.strictObject({ bankAccount: z.string(), holderToken: z.string() }).optional(),
});
export type DemoFile = z.infer<typeof DemoFile>;

export function demoPaths(dir: string) {
  return {
    demoFile: join(dir, DEMO_FILE),
    tokenFile: join(dir, SHOPPER_TOKEN_FILE),
    ca: join(dir, 'ca'),
    caCert: join(dir, 'ca', 'ca-cert.pem'),
    bank: join(dir, 'bank'),
    payment: join(dir, 'payment'),
    merchant: join(dir, 'merchant'),
    paymentCert: join(dir, 'certs', 'payment'),
    merchantCert: join(dir, 'certs', 'merchant'),
  };
}

export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function portOf(address: DemoAddress, party: Party): number {
  return address.basePort + PARTIES.indexOf(party);
}

export function partyUrl(address: DemoAddress, party: Party): string {
  return `http://${urlHost(address.host)}:${portOf(address, party)}`;
}

/** Why an existing directory cannot be used; the command reports it as CLI_DEMO_DATA_INVALID. */
export class DemoDataError extends Error {}

/** The finished demo in `dir`, or undefined when there is none yet (a missing or empty directory). */
export async function readDemo(dir: string, address: DemoAddress): Promise<DemoFile | undefined> {
  const paths = demoPaths(dir);
  if (!existsSync(paths.demoFile)) {
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new DemoDataError(`${dir} is not empty but holds no finished demo (no ${DEMO_FILE}; an earlier first run stopped half-way?); remove it or choose another --data`);
    }
    return undefined;
  }
  let parsed: DemoFile;
  try {
    parsed = DemoFile.parse(JSON.parse(await readFile(paths.demoFile, 'utf8')));
  } catch (e) {
    throw new DemoDataError(`${paths.demoFile} is not a demo file: ${(e as Error).message}`);
  }
  // The addresses are written into the shop's config and into wallets: another port is another marketplace.
  if (parsed.host !== address.host || parsed.basePort !== address.basePort) {
    throw new DemoDataError(
      `${dir} was made for --host ${parsed.host} --base-port ${parsed.basePort}; run with those, or choose another --data for ${address.host}:${address.basePort}`,
    );
  }
  return parsed;
}

async function issueCertificate(ca: OpenedCa, role: Role, name: string, out: string): Promise<{ partyId: string; chain: string; key: string }> {
  const partyId = newPartyId(role, ca.deps.random);
  const keys = await generateKeyPair('Ed25519');
  const now = wholeSeconds(new Date());
  const cert = await issueAndRecord(ca.deps, {
    subjectPublicKey: keys.publicKey,
    partyId,
    displayName: name,
    role,
    notBefore: now,
    notAfter: new Date(now.getTime() + ca.deps.config.certificateLifetimeDays * 86_400_000),
    serial: serialBytes(ca.deps.random),
  });
  await mkdir(out, { recursive: true, mode: 0o700 });
  const chain = join(out, 'chain.pem');
  const key = join(out, 'key.pem');
  await writeFile(join(out, 'cert.pem'), cert.pem);
  await writeFile(chain, cert.pem + ca.caCertPem);
  await writeKeyFile(key, await encryptPrivateKey(keys.privateKey, DEMO_PASSPHRASE));
  return { partyId, chain, key };
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; code: string; message: string }, what: string): T {
  if (!r.ok) throw new Error(`${what}: ${r.code}: ${r.message}`);
  return r.value;
}

/** Makes every party in `dir` (which must be missing or empty) and writes demo.json last. */
export async function createDemo(dir: string, address: DemoAddress): Promise<DemoFile> {
  const paths = demoPaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  // The CA; auto-approval is not written into ca.json: the demo turns it on when it opens the CA.
  const caInit = await initCa(paths.ca, { passphrase: DEMO_PASSPHRASE, name: 'Quittance Demo Root CA' });
  const ca = await openCa(paths.ca, { passphrase: DEMO_PASSPHRASE });
  let payCert: Awaited<ReturnType<typeof issueCertificate>>;
  let shopCert: Awaited<ReturnType<typeof issueCertificate>>;
  try {
    payCert = await issueCertificate(ca, 'payment', 'Quittance Pay', paths.paymentCert);
    shopCert = await issueCertificate(ca, 'merchant', DEMO_MERCHANT_NAME, paths.merchantCert);
  } finally {
    await ca.close();
  }

  // The bank: the payment server's account (where shoppers load) and the shopper's, funded.
  const bankInit = await initBank(paths.bank, { name: 'Quittance Demo Bank' });
  const bank = await openBank(paths.bank);
  let payAccount: { id: string; token: string };
  let shopper: { id: string; token: string };
  let shopAccount: { id: string; token: string };
  try {
    const p = unwrap(await openAccount(bank.deps, OPERATOR, { holder: payCert.partyId, currency: 'JPY', kind: 'payment' }), 'opening the payment account');
    const s = unwrap(await openAccount(bank.deps, OPERATOR, { holder: DEMO_SHOPPER.holder, currency: 'JPY', kind: 'shopper' }), 'opening the shopper account');
    const m = unwrap(await openAccount(bank.deps, OPERATOR, { holder: shopCert.partyId, currency: 'JPY', kind: 'merchant' }), 'opening the shop account');
    if (p.holderToken === undefined || s.holderToken === undefined || m.holderToken === undefined) throw new Error('the bank gave no holder token for a new holder');
    shopAccount = { id: m.account.accountId, token: m.holderToken };
    payAccount = { id: p.account.accountId, token: p.holderToken };
    shopper = { id: s.account.accountId, token: s.holderToken };
    unwrap(await fund(bank.deps, { transferId: 'demo-fund-shopper', to: shopper.id, amount: DEMO_SHOPPER.funds, subject: 'demo money' }), 'funding the shopper');
  } finally {
    await bank.close();
  }

  // The payment server, linked to its bank account (just opened above, so there is nothing to ask the bank).
  const payInit = unwrap(
    await initPayment(paths.payment, { certPath: payCert.chain, keyPath: payCert.key, passphrase: DEMO_PASSPHRASE, config: { caUrl: new URL(partyUrl(address, 'ca')).href } }),
    'payment init',
  );
  await writeBankLink(paths.payment, { url: partyUrl(address, 'bank'), token: payAccount.token, accounts: [{ currency: 'JPY', accountId: payAccount.id }] });

  // The shop, naming the payment server in its invoices and checking orders against the CA's CRL.
  const shopInit = unwrap(
    await initMerchant(paths.merchant, {
      certPath: shopCert.chain,
      keyPath: shopCert.key,
      passphrase: DEMO_PASSPHRASE,
      payment: { url: new URL(partyUrl(address, 'payment')).href, certPath: payCert.chain },
      config: { caUrl: new URL(partyUrl(address, 'ca')).href },
    }),
    'merchant init',
  );

  // The payment server's contract with the shop.
  const anchor = trustAnchorOf(x509.PemConverter.decode(caInit.certPem).map((b) => new Uint8Array(b)));
  const store = await openPaymentStore(paths.payment);
  try {
    unwrap(await addMerchant(store.db, { chainPem: await readFile(shopCert.chain, 'utf8'), payoutAccount: shopAccount.id, trustAnchor: anchor, now: new Date() }), 'add merchant');
  } finally {
    await store.close();
  }

  const demo: DemoFile = {
    notice: 'Quittance demo: NOT FOR REAL MONEY. Every key here is encrypted with the passphrase below, in the clear in this file.',
    version: 1,
    passphrase: DEMO_PASSPHRASE,
    host: address.host,
    basePort: address.basePort,
    parties: { payment: payInit.partyId, merchant: shopInit.partyId },
    operatorTokens: { ca: caInit.adminToken, bank: bankInit.adminToken, payment: payInit.adminToken, merchant: shopInit.adminToken },
    shopper: { holder: DEMO_SHOPPER.holder, bankAccount: shopper.id, holderToken: shopper.token, tokenFile: paths.tokenFile },
    shopBank: { bankAccount: shopAccount.id, holderToken: shopAccount.token },
  };
  await writeFile(paths.tokenFile, shopper.token + '\n', { mode: 0o600 });
  // Written whole or not at all: its presence means the setup finished.
  const tmp = `${paths.demoFile}.tmp`;
  await writeFile(tmp, JSON.stringify(demo, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, paths.demoFile);
  return demo;
}
