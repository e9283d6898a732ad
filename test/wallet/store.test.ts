// The wallet at rest: the seed and identity key are encrypted and owner-only;
// the wrong passphrase is a coded refusal; the store's constraints hold.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initWallet, openWallet, openSeed, sealSeed } from '../../src/wallet/index.ts';
import { tempDir } from '../cli/helpers.ts';

const PASS = 'correct horse battery staple';
const now = () => new Date('2026-11-01T10:00:00Z');

test('init writes an encrypted seed (0600) that opens with the passphrase only', async (t) => {
  const { dir, remove } = tempDir('quittance-wallet-');
  t.after(remove);
  const w = join(dir, 'w');
  const fixed = new Uint8Array(32).fill(0xab);
  let calls = 0;
  // The first random draw is the seed: make it recognisable to search the file for it.
  const random = (n: number) => (calls++ === 0 ? fixed.slice(0, n) : new Uint8Array(crypto.getRandomValues(new Uint8Array(n))));
  const r = await initWallet(w, { passphrase: PASS, now, random });
  assert.ok(r.ok);
  const file = readFileSync(join(w, 'seed.json'));
  assert.equal(file.includes(Buffer.from(fixed)), false);
  assert.equal(file.toString('latin1').includes(Buffer.from(fixed).toString('base64url').slice(0, 20)), false);
  assert.equal(statSync(join(w, 'seed.json')).mode & 0o777, 0o600);
  assert.equal(statSync(join(w, 'wallet.sqlite')).mode & 0o777, 0o600);
  assert.equal(statSync(w).mode & 0o777, 0o700);

  const opened = await openWallet(w, { now });
  assert.ok(opened.ok);
  t.after(() => opened.value.close());
  assert.equal(opened.value.walletId, r.value.walletId);
  const wrong = await opened.value.unlockSeed('not the passphrase');
  assert.equal(wrong.ok, false);
  assert.equal(!wrong.ok && wrong.code, 'WALLET_PASSPHRASE_WRONG');
  const right = await opened.value.unlockSeed(PASS);
  assert.ok(right.ok);
  assert.deepEqual([...right.value], [...fixed]);
});

test('init refuses an existing wallet and a short passphrase, and changes nothing', async (t) => {
  const { dir, remove } = tempDir('quittance-wallet-');
  t.after(remove);
  assert.equal((await initWallet(dir, { passphrase: 'short', now })).ok, false);
  assert.ok((await initWallet(dir, { passphrase: PASS, now })).ok);
  const before = readFileSync(join(dir, 'seed.json'), 'utf8');
  const again = await initWallet(dir, { passphrase: PASS, now });
  assert.equal(!again.ok && again.code, 'WALLET_EXISTS');
  assert.equal(readFileSync(join(dir, 'seed.json'), 'utf8'), before);
  const missing = await openWallet(join(dir, 'nope'), { now });
  assert.equal(!missing.ok && missing.code, 'WALLET_NOT_FOUND');
});

test('an altered or moved seed file does not open', async () => {
  const seed = new Uint8Array(32).fill(7);
  const sealed = await sealSeed(seed, 'w_AAAAAAAAAAAAAAAAAAAAAA', PASS, (n) => crypto.getRandomValues(new Uint8Array(n)));
  assert.ok((await openSeed(sealed, PASS)).ok);
  // Copied into another wallet: the wallet id is authenticated data.
  const moved = await openSeed({ ...sealed, walletId: 'w_BBBBBBBBBBBBBBBBBBBBBB' }, PASS);
  assert.equal(!moved.ok && moved.code, 'WALLET_PASSPHRASE_WRONG');
  const weak = await openSeed({ ...sealed, kdf: { ...sealed.kdf, iterations: 1000 } }, PASS);
  assert.equal(!weak.ok && weak.code, 'WALLET_SEED_MALFORMED');
  const extra = await openSeed({ ...sealed, note: 'x' }, PASS);
  assert.equal(!extra.ok && extra.code, 'WALLET_SEED_MALFORMED');
});

test('the store refuses a second coin with the same key or derivation index, and unsigned unspent coins', async (t) => {
  const { dir, remove } = tempDir('quittance-wallet-');
  t.after(remove);
  assert.ok((await initWallet(dir, { passphrase: PASS, now })).ok);
  const opened = await openWallet(dir, { now });
  assert.ok(opened.ok);
  const db = opened.value.db;
  t.after(() => opened.value.close());
  const coin = (pub: string, idx: number, extra: Record<string, unknown> = {}) => ({
    coin_pub: pub, derivation_index: idx, denomination_id: 'd1', currency: 'JPY', value: 8n, signature: 'sig', state: 'unspent' as const,
    reserve_pub: null, created_at: now().toISOString(), updated_at: now().toISOString(), ...extra,
  });
  await db.insertInto('wallet_coins').values(coin('A', 0)).execute();
  await assert.rejects(db.insertInto('wallet_coins').values(coin('A', 1)).execute());
  await assert.rejects(db.insertInto('wallet_coins').values(coin('B', 0)).execute());
  await assert.rejects(db.insertInto('wallet_coins').values(coin('C', 2, { signature: null })).execute());
  await assert.rejects(db.insertInto('wallet_coins').values(coin('D', 3, { value: 0n })).execute());
  await db.insertInto('wallet_derivations').values({ purpose: 'coin', idx: 0, created_at: 'x' }).execute();
  await assert.rejects(db.insertInto('wallet_derivations').values({ purpose: 'coin', idx: 0, created_at: 'y' }).execute());
  await db.insertInto('wallet_derivations').values({ purpose: 'reserve', idx: 0, created_at: 'x' }).execute();
  const n = await db.selectFrom('wallet_coins').select('coin_pub').execute();
  assert.deepEqual(n.map((r) => r.coin_pub), ['A']);
});
