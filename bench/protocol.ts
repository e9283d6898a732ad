// Protocol-core benchmark: what a signed document costs, as ratios to raw
// crypto measured in the same process (this machine is shared and noisy, so
// absolute numbers alone mean little).
//
//   npm run bench                 # table on stdout
//   npm run bench -- --json FILE  # also write the figures as JSON
//
// Figures, not pass/fail: nothing here is asserted.
import { pbkdf2Sync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decryptPrivateKey, encryptPrivateKey } from '../src/crypto/index.ts';
import { canonicalize } from '../src/protocol/rfc8785.ts';
import { signDocument, verifyDocument } from '../src/protocol/jws.ts';
import { createVerificationCache, validatePath } from '../src/protocol/x509/index.ts';
import { buildPki } from '../test/fixtures/pki.ts';

const { values } = parseArgs({ options: { json: { type: 'string' }, seconds: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 1.5);

/** Runs `fn` repeatedly for about SECONDS and returns operations per second. */
async function rate(name: string, fn: () => Promise<unknown> | unknown): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  let n = 0;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  while (performance.now() < until) {
    await fn();
    n++;
  }
  const perSecond = (n * 1000) / (performance.now() - start);
  process.stderr.write(`  ${name.padEnd(44)} ${perSecond.toFixed(0).padStart(9)} /s\n`);
  return perSecond;
}

const pki = await buildPki();
const merchant = await pki.leaf({ role: 'merchant', partyId: 'shop-1', displayName: 'Shop One' });
const policy = await pki.policy({ expectedRoles: ['merchant'] });
const invoice = JSON.parse(await (await import('node:fs/promises')).readFile(new URL('../docs/examples/invoice.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const bytes = new TextEncoder().encode(JSON.stringify(invoice));
const raw = await crypto.subtle.sign('Ed25519', merchant.keys.privateKey, bytes);
const signer = { typ: 'quittance.invoice.v1+json', privateKey: merchant.keys.privateKey, alg: 'EdDSA', x5c: merchant.chain } as const;
const jws = await signDocument({ payload: invoice, ...signer });
const verifyPolicy = { ...policy, now: pki.now, expectedTyp: signer.typ, signers: [{ roles: ['merchant' as const] }] };
const check = await verifyDocument(jws, verifyPolicy);
if (!check.ok) throw new Error(`benchmark setup: ${check.code}`);

process.stderr.write(`protocol benchmark (${SECONDS}s per figure)\n`);
const rawSign = await rate('baseline: raw Ed25519 sign (WebCrypto)', () => crypto.subtle.sign('Ed25519', merchant.keys.privateKey, bytes));
const rawVerify = await rate('baseline: raw Ed25519 verify (WebCrypto)', () => crypto.subtle.verify('Ed25519', merchant.keys.publicKey, raw, bytes));
const canon = await rate('RFC 8785 canonicalize (invoice)', () => canonicalize(invoice));
const sign = await rate('signDocument (invoice, x5c chain)', () => signDocument({ payload: invoice, ...signer }));
const path = await rate('validatePath (leaf + intermediate, 2 CRLs)', () => validatePath(merchant.chain, policy));
const verify = await rate('verifyDocument (invoice, chain, CRLs)', () => verifyDocument(jws, verifyPolicy));
// A server's steady state: the same chain and CRLs, a cache the caller keeps.
// Document signatures are never cached, so verifying one JWS again costs what
// a new invoice would.
const cache = createVerificationCache({ maxEntries: 1000 });
const pathCached = await rate('validatePath, warm cache', () => validatePath(merchant.chain, { ...policy, cache }));
const verifyCached = await rate('verifyDocument, warm cache', () => verifyDocument(jws, { ...verifyPolicy, cache }));

// Keys at rest: one decrypt is one PBKDF2 of 600,000 iterations by design.
const pem = await encryptPrivateKey(merchant.keys.privateKey, 'bench passphrase');
const t0 = performance.now();
pbkdf2Sync('bench passphrase', 'saltsaltsaltsalt', 600_000, 32, 'sha256');
const pbkdf2Ms = performance.now() - t0;
const t1 = performance.now();
const opened = await decryptPrivateKey(pem, 'bench passphrase');
const decryptMs = performance.now() - t1;
if (!opened.ok) throw new Error(opened.code);
process.stderr.write(`  ${'baseline: PBKDF2-SHA256 600k (node:crypto)'.padEnd(44)} ${pbkdf2Ms.toFixed(0).padStart(9)} ms\n`);
process.stderr.write(`  ${'decryptPrivateKey (PBES2, 600k)'.padEnd(44)} ${decryptMs.toFixed(0).padStart(9)} ms\n`);

const figures = {
  raw_sign_per_s: Math.round(rawSign),
  raw_verify_per_s: Math.round(rawVerify),
  canonicalize_per_s: Math.round(canon),
  sign_document_per_s: Math.round(sign),
  validate_path_per_s: Math.round(path),
  verify_document_per_s: Math.round(verify),
  // A verified document costs 3 signature checks (leaf, intermediate, the
  // document) plus 2 CRL signatures: the ideal ratio to one raw verify is ~0.2.
  validate_path_cached_per_s: Math.round(pathCached),
  verify_document_cached_per_s: Math.round(verifyCached),
  verify_ratio: Number((verify / rawVerify).toFixed(3)),
  // With a warm cache only the document signature is left: the ideal is ~1.
  verify_cached_ratio: Number((verifyCached / rawVerify).toFixed(3)),
  path_ratio: Number((path / rawVerify).toFixed(3)),
  path_cached_ratio: Number((pathCached / rawVerify).toFixed(3)),
  sign_ratio: Number((sign / rawSign).toFixed(3)),
  key_decrypt_ms: Math.round(decryptMs),
  pbkdf2_600k_ms: Math.round(pbkdf2Ms),
  key_decrypt_ratio: Number((decryptMs / pbkdf2Ms).toFixed(3)),
};
process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
if (values.json) writeFileSync(values.json, JSON.stringify(figures, null, 2) + '\n');
