// Purchase benchmark: complete purchases per second with every party in this
// process over real HTTP on loopback (the `quittance demo` marketplace: CA,
// bank, payment server, shop, SQLite), against the crypto-only bound — the
// signatures and verifications one purchase needs, done back to back in a
// tight loop in the same process (this machine is shared and noisy, so the
// ratio is the figure to read).
//
//   npm run bench -- purchase                  # progress and table on stderr
//   npm run bench -- purchase --json FILE      # also write the figures as JSON
//   options: --purchases N (default 100), --identified (sign orders with the
//   certified identity key instead of a fresh anonymous key), --seconds S
//   (crypto loop, default 3)
//
// One wallet buys ARTICLE D (JPY:500) N times in a row; latency is one whole
// `buy` (hello → completion), as `quittance wallet buy --yes` does it.
// Anonymous by default: an identified purchase also opens the encrypted
// identity key (PBKDF2, 600,000 iterations, ≈0.1 s) every time, which is the
// CLI's key-at-rest cost, not the protocol's.
// Figures, not pass/fail: nothing here is asserted.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { demo } from '../src/cli/commands/demo.ts';
import { blindSign, denominationPublicKey, generateDenominationKey } from '../src/crypto/blind-signer.ts';
import { parseAmount } from '../src/protocol/amount.ts';
import { BLINDING_SEED_EXTRA_BYTES, blind, blindingFactorFromSeed, finalize, verify } from '../src/protocol/rfc9474.ts';
import { buy } from '../src/wallet/buy.ts';
import { loadMoney } from '../src/wallet/load.ts';
import { initWallet, openWallet } from '../src/wallet/open.ts';
import { submitRegistration } from '../src/wallet/register.ts';

const { values } = parseArgs({
  options: { json: { type: 'string' }, purchases: { type: 'string' }, identified: { type: 'boolean' }, seconds: { type: 'string' } },
});
const PURCHASES = Number(values.purchases ?? 100);
const SECONDS = Number(values.seconds ?? 3);
const ANONYMOUS = values.identified !== true;
const PRICE = 500n; // ARTICLE D in the demo catalogue
const PASS = 'bench wallet passphrase';
const now = (): Date => new Date();
const log = (s: string): void => void process.stderr.write(s);

function must<T>(r: { ok: true; value: T } | { ok: false; code: string; message: string }, what: string): T {
  if (!r.ok) throw new Error(`${what}: ${r.code}: ${r.message}`);
  return r.value;
}

// ------------------------------------------------------------ the marketplace

type Ready = { urls: { ca: string; bank: string; payment: string; merchant: string }; ca_cert: string; shopper: { bankAccount: string; tokenFile: string } };

/** Starts `quittance demo` in this process on free ports; resolves once every party answers /healthz. */
async function startDemo(dir: string): Promise<{ ready: Ready; stop: () => Promise<void> }> {
  for (let attempt = 0; attempt < 10; attempt++) {
    let release!: () => void;
    const stopSignal = new Promise<void>((r) => (release = r));
    let onReady!: (r: Ready) => void;
    const readyLine = new Promise<Ready>((r) => (onReady = r));
    const io = {
      out: (text: string) => onReady(JSON.parse(text) as Ready),
      err: (text: string) => log(text),
      env: { QUITTANCE_LOG_LEVEL: 'warn' },
      stopSignal,
    };
    // Four consecutive ports somewhere high; a taken one fails before anything is written, so try another.
    const basePort = 20_000 + Math.floor(Math.random() * 40_000);
    const running = demo.run({ values: { data: dir, 'base-port': String(basePort), json: true }, positionals: [] }, io);
    const first = await Promise.race([readyLine, running]);
    if (typeof first === 'number') continue; // CLI_PORT_IN_USE
    return {
      ready: first,
      stop: async () => {
        release();
        await running;
      },
    };
  }
  throw new Error('no four free consecutive ports found');
}

// ------------------------------------------------------------ end to end

const tmp = mkdtempSync(join(tmpdir(), 'quittance-bench-'));
log(`purchase benchmark: ${PURCHASES} ${ANONYMOUS ? 'anonymous' : 'identified'} purchases, then ${SECONDS}s of the crypto-only loop\n`);
log(`  making the demo marketplace in ${tmp}…\n`);
const market = await startDemo(join(tmp, 'demo'));
const { urls, shopper } = market.ready;

log('  wallet: init, register, load…\n');
const walletDir = join(tmp, 'wallet');
must(await initWallet(walletDir, { passphrase: PASS, now }), 'wallet init');
const w = must(await openWallet(walletDir, { now }), 'wallet open');
const seed = must(await w.unlockSeed(PASS), 'wallet unlock');
const caRootPem = await readFile(market.ready.ca_cert, 'utf8');
const reg = must(
  await submitRegistration(w, { caUrl: urls.ca, displayName: 'Bench', realIdentity: { name: 'Bench', postalAddress: '(bench)', email: 'bench@example.invalid' }, passphrase: PASS, caRootPem }, { now }),
  'register',
);
if (reg.status !== 'approved') throw new Error(`registration is ${reg.status}; the demo CA should approve at once`);
const token = (await readFile(shopper.tokenFile, 'utf8')).trim();
// Loaded JPY:10000 at a time, half as much again as the purchases cost: largest-first coin
// choice leaves the small coins for last, and a nearly empty wallet of small coins would
// need more than the 64 coins one payment may carry (WALLET_TOO_MANY_COINS).
const needed = (PRICE * BigInt(PURCHASES + 3) * 3n) / 2n;
if (needed > 100_000n) throw new Error(`--purchases ${PURCHASES} needs JPY:${needed} loaded; the demo shopper holds JPY:100000 (at most 130 purchases)`);
for (let loaded = 0n; loaded < needed; loaded += 10_000n) {
  must(await loadMoney(w, { paymentUrl: urls.payment, amount: must(parseAmount('JPY:10000'), 'amount'), bank: { bankUrl: urls.bank, account: shopper.bankAccount, token } }, { now, fetch, seed, waitTimeoutMs: 60_000 }), 'load');
}

const deps = { now, fetch, seed, passphrase: PASS, confirm: () => Promise.resolve(true) };
const params = { merchantUrl: urls.merchant, items: [{ article: 'ARTICLE D', quantity: 1 }], anonymous: ANONYMOUS, mode: 'ecash' };
// Warm-up: JIT, SQLite page cache, the servers' verification caches.
for (let i = 0; i < 3; i++) must(await buy(w, params, deps), 'warm-up purchase');

log(`  buying ${PURCHASES}×…\n`);
const latencies: number[] = [];
const started = performance.now();
for (let i = 0; i < PURCHASES; i++) {
  const t = performance.now();
  const r = must(await buy(w, params, deps), `purchase ${i + 1}`);
  latencies.push(performance.now() - t);
  if (r.state !== 'COMPLETED') throw new Error(`purchase ${i + 1} ended ${r.state}`);
  if ((i + 1) % 25 === 0) log(`    ${i + 1} done\n`);
}
const purchasePerS = (PURCHASES * 1000) / (performance.now() - started);
latencies.sort((a, b) => a - b);
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;

// What the measured purchases actually spent: coins given and change coins received, on average.
const rows = await w.db.selectFrom('wallet_purchases').select(['purchase_id', 'change_request_id']).execute();
const spent = await w.db.selectFrom('wallet_coins').select(['spent_in', 'request_id']).execute();
const coinsPerPurchase = spent.filter((c) => c.spent_in !== null).length / rows.length;
const changeIds = new Set(rows.map((r) => r.change_request_id));
const changePerPurchase = spent.filter((c) => c.request_id !== null && changeIds.has(c.request_id)).length / rows.length;
seed.fill(0);
await w.close();
await market.stop();
rmSync(tmp, { recursive: true, force: true });

// ------------------------------------------------------------ crypto-only bound
//
// One purchase, counted from src/wallet/buy.ts and the routes it calls
// (identified or anonymous alike; demo chains are leaf + root, one CRL):
//
//   Ed25519 signatures (8 + k):
//     shop: hello, invoice, completion (3); wallet: order, invoice countersignature,
//     money reception request (3); payment server: reception response, receipt (2);
//     wallet: one per coin (k).
//   Ed25519 verifications (22 + k):
//     wallet, no cache (a fresh CRL per purchase): hello, invoice, reception
//     response, receipt, completion — each the document + leaf certificate + CRL
//     (5 × 3) — and the payment server's chain in the invoice (cert + CRL, 2);
//     payment server, warm cache: invoice (shop's signature, purchaser's
//     countersignature) and reception request (3); one per coin (k);
//     shop, warm cache: order, receipt copy (2).
//   RSA (2048, RFC 9474): payment server: verify each coin's denomination
//     signature (k), blind-sign each change envelope (m); wallet: blind each
//     change coin twice (when paying and again when finalizing, as buy.ts does)
//     and finalize (unblind + verify) it (m).
//
// k and m are the averages the purchases above really had. Left out: hashing,
// canonicalization, key imports, X.509/CRL parsing, JSON, SQLite, HTTP — which
// is exactly what the ratio shows the cost of.
const K = coinsPerPurchase;
const M = changePerPurchase;
const ed = (await crypto.subtle.generateKey('Ed25519', false, ['sign', 'verify'])) as CryptoKeyPair;
const doc = crypto.getRandomValues(new Uint8Array(1500)); // a signing input with an x5c header is about this long
const sig = await crypto.subtle.sign('Ed25519', ed.privateKey, doc);
const denom = await generateDenominationKey(2048);
const pk = denominationPublicKey(denom.publicKey);
const coinPub = crypto.getRandomValues(new Uint8Array(32));
const rf = must(blindingFactorFromSeed(pk, crypto.getRandomValues(new Uint8Array(256 + BLINDING_SEED_EXTRA_BYTES))), 'blinding factor');
const env = must(await blind(pk, coinPub, rf), 'blind');
const coinSig = must(await finalize(pk, coinPub, must(blindSign(denom.privateKey, env.blindedMsg), 'blind sign'), env.inv), 'finalize');

// Fractional k and m: each loop iteration does round(k·i) − round(k·(i−1)) of them, so the average is exact.
const share = (x: number, i: number): number => Math.round(x * (i + 1)) - Math.round(x * i);
async function oneCryptoPurchase(i: number): Promise<void> {
  const k = share(K, i);
  const m = share(M, i);
  for (let j = 0; j < 8 + k; j++) await crypto.subtle.sign('Ed25519', ed.privateKey, doc);
  for (let j = 0; j < 22 + k; j++) if (!(await crypto.subtle.verify('Ed25519', ed.publicKey, sig, doc))) throw new Error('verify');
  for (let j = 0; j < k; j++) if (!(await verify(pk, coinPub, coinSig)).ok) throw new Error('rsa verify');
  for (let j = 0; j < m; j++) {
    const b1 = must(await blind(pk, coinPub, rf), 'blind');
    const s = must(blindSign(denom.privateKey, b1.blindedMsg), 'blind sign');
    const b2 = must(await blind(pk, coinPub, rf), 'blind');
    must(await finalize(pk, coinPub, s, b2.inv), 'finalize');
  }
}
for (let i = 0; i < 20; i++) await oneCryptoPurchase(i);
let n = 0;
const cStart = performance.now();
while (performance.now() < cStart + SECONDS * 1000) await oneCryptoPurchase(n++);
const cryptoPerS = (n * 1000) / (performance.now() - cStart);

const figures = {
  purchase_per_s: Number(purchasePerS.toFixed(2)),
  crypto_bound_per_s: Number(cryptoPerS.toFixed(1)),
  ratio: Number((purchasePerS / cryptoPerS).toFixed(4)),
  p50_ms: Number(pct(50).toFixed(1)),
  p99_ms: Number(pct(99).toFixed(1)),
};
log(`  ${'purchases'.padEnd(44)} ${figures.purchase_per_s.toFixed(2).padStart(9)} /s  (p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms)\n`);
log(`  ${'crypto-only bound'.padEnd(44)} ${figures.crypto_bound_per_s.toFixed(1).padStart(9)} /s  (k=${K.toFixed(2)} coins, m=${M.toFixed(2)} change per purchase)\n`);
log(`  ${'ratio'.padEnd(44)} ${figures.ratio.toFixed(4).padStart(9)}\n`);
process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
if (values.json) writeFileSync(values.json, JSON.stringify(figures, null, 2) + '\n');
