// RFC 9474 blind-signing benchmark: our signer (src/crypto/blind-signer.ts)
// against the raw OpenSSL RSA private operation with the same key, and against
// the pure-JS @cloudflare/blindrsa-ts signer, in one process.
//
//   npm run bench -- blind                 # table on stderr
//   npm run bench -- blind --json FILE     # also write the figures as JSON
//   options: --seconds S (per figure, default 2), --bits B (default 2048)
//
// Our signer and the raw operation are measured in alternating slices so that
// drift on this shared machine hits both alike. Target: ratio_vs_raw ≥ 0.9 (the
// range check and the fault check with the public exponent must cost < 10%).
// Figures, not pass/fail: nothing here is asserted.
import { constants, privateDecrypt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { blindSign, denominationPublicKey, generateDenominationKey } from '../src/crypto/blind-signer.ts';
import { BLINDING_SEED_EXTRA_BYTES, blind, blindingFactorFromSeed, finalize, verify } from '../src/protocol/rfc9474.ts';

const { values } = parseArgs({ options: { json: { type: 'string' }, seconds: { type: 'string' }, bits: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 2);
const BITS = Number(values.bits ?? 2048);
const SLICES = 8;

const denom = await generateDenominationKey(BITS);
const pk = denominationPublicKey(denom.publicKey);
const kLen = BITS / 8;

// A pool of real envelopes, so neither side signs one cached input.
const coins: Uint8Array[] = [];
const envelopes: { blindedMsg: Uint8Array; inv: Uint8Array }[] = [];
for (let i = 0; i < 64; i++) {
  const coin = crypto.getRandomValues(new Uint8Array(32));
  const r = blindingFactorFromSeed(pk, crypto.getRandomValues(new Uint8Array(kLen + BLINDING_SEED_EXTRA_BYTES)));
  if (!r.ok) throw new Error(r.code);
  const env = await blind(pk, coin, r.value);
  if (!env.ok) throw new Error(env.code);
  coins.push(coin);
  envelopes.push(env.value);
}
const envelope = (i: number): Uint8Array => envelopes[i % envelopes.length]!.blindedMsg;

const ours = (i: number): void => {
  if (!blindSign(denom.privateKey, envelope(i)).ok) throw new Error('blindSign refused a valid envelope');
};
const raw = (i: number): void => {
  privateDecrypt({ key: denom.privateKey, padding: constants.RSA_NO_PADDING }, envelope(i));
};

/** Runs fn for `ms` milliseconds; returns [operations, elapsed ms]. */
function slice(fn: (i: number) => void, ms: number): [number, number] {
  let n = 0;
  const start = performance.now();
  const until = start + ms;
  while (performance.now() < until) fn(n++);
  return [n, performance.now() - start];
}

function line(name: string, perSecond: number): void {
  process.stderr.write(`  ${name.padEnd(52)} ${perSecond.toFixed(1).padStart(10)} /s\n`);
}

process.stderr.write(`blind-signature benchmark (RSA-${BITS}, ${SECONDS}s per figure, ${SLICES} alternating slices)\n`);
for (let i = 0; i < 50; i++) {
  ours(i);
  raw(i);
}
let [oursN, oursMs, rawN, rawMs] = [0, 0, 0, 0];
for (let s = 0; s < SLICES; s++) {
  const sliceMs = (SECONDS * 1000) / SLICES;
  const [a, am] = s % 2 === 0 ? slice(ours, sliceMs) : slice(raw, sliceMs);
  const [b, bm] = s % 2 === 0 ? slice(raw, sliceMs) : slice(ours, sliceMs);
  if (s % 2 === 0) [oursN, oursMs, rawN, rawMs] = [oursN + a, oursMs + am, rawN + b, rawMs + bm];
  else [rawN, rawMs, oursN, oursMs] = [rawN + a, rawMs + am, oursN + b, oursMs + bm];
}
const rawPerS = (rawN * 1000) / rawMs;
const oursPerS = (oursN * 1000) / oursMs;
line('baseline: raw OpenSSL RSA private op (RSA_NO_PADDING)', rawPerS);
line('blindSign (range check + RSASP1 + RSAVP1 check)', oursPerS);

// The pure-JS library: a handful of signatures, it takes ~0.5 s each.
const suite = RSABSSA.SHA384.PSSZero.Deterministic();
const theirPrivate = await crypto.subtle.importKey('jwk', denom.privateKey.export({ format: 'jwk' }), { name: 'RSA-PSS', hash: 'SHA-384' }, true, ['sign']);
await suite.blindSign(theirPrivate, envelope(0));
let jsN = 0;
const jsStart = performance.now();
while (jsN < 3 || performance.now() - jsStart < 1500) {
  await suite.blindSign(theirPrivate, envelope(++jsN));
  if (jsN >= 10) break;
}
const jsPerS = (jsN * 1000) / (performance.now() - jsStart);
line(`@cloudflare/blindrsa-ts blindSign (${jsN} signatures)`, jsPerS);

// Client side, for the wallet's budget (bigint + WebCrypto SHA-384); not in the JSON.
async function rate(name: string, fn: (i: number) => Promise<unknown>): Promise<void> {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 500) await fn(n++);
  line(name, (n * 1000) / (performance.now() - start));
}
const blindSigs = envelopes.map((e) => {
  const s = blindSign(denom.privateKey, e.blindedMsg);
  if (!s.ok) throw new Error(s.code);
  return s.value;
});
const sigs: Uint8Array[] = [];
for (let i = 0; i < envelopes.length; i++) {
  const f = await finalize(pk, coins[i]!, blindSigs[i]!, envelopes[i]!.inv);
  if (!f.ok) throw new Error(f.code);
  sigs.push(f.value);
}
const r0 = blindingFactorFromSeed(pk, new Uint8Array(kLen + BLINDING_SEED_EXTRA_BYTES).fill(1));
if (!r0.ok) throw new Error(r0.code);
await rate('client: blind (bigint)', (i) => blind(pk, coins[i % 64]!, r0.value));
await rate('client: finalize (unblind + verify, bigint)', (i) => finalize(pk, coins[i % 64]!, blindSigs[i % 64]!, envelopes[i % 64]!.inv));
await rate('verify (bigint)', (i) => verify(pk, coins[i % 64]!, sigs[i % 64]!));

const figures = {
  blind_sign_per_s: Math.round(oursPerS),
  raw_rsa_per_s: Math.round(rawPerS),
  js_lib_per_s: Number(jsPerS.toFixed(2)),
  ratio_vs_raw: Number((oursPerS / rawPerS).toFixed(3)),
  speedup_vs_js_lib: Math.round(oursPerS / jsPerS),
};
process.stderr.write(`  ratio_vs_raw ${figures.ratio_vs_raw} (target ≥ 0.9), speedup_vs_js_lib ${figures.speedup_vs_js_lib}x\n`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
