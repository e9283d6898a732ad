// `quittance wallet init|status|balance|coins`: what scripts rely on.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openWallet } from '../../src/wallet/index.ts';
import { cli, tempDir } from './helpers.ts';

test('wallet init creates a wallet; a second init is refused with WALLET_EXISTS', async (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const w = join(dir, 'w');
  const first = await cli(['wallet', 'init', '--data', w, '--json']);
  assert.equal(first.code, 0, first.err);
  const { walletId } = JSON.parse(first.out) as { walletId: string };
  assert.match(walletId, /^w_/);
  const second = await cli(['wallet', 'init', '--data', w]);
  assert.equal(second.code, 1);
  assert.match(second.err, /^WALLET_EXISTS: /);
  const status = await cli(['wallet', 'status', '--data', w, '--json']);
  assert.equal((JSON.parse(status.out) as { walletId: string }).walletId, walletId);
});

test('status, balance and coins: JSON shapes, no passphrase needed', async (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  assert.equal((await cli(['wallet', 'init', '--data', dir])).code, 0);
  const env = {};
  const status = await cli(['wallet', 'status', '--data', dir, '--json'], env);
  assert.equal(status.code, 0, status.err);
  const s = JSON.parse(status.out) as Record<string, unknown>;
  assert.deepEqual(Object.keys(s).sort(), ['createdAt', 'identity', 'walletId']);
  assert.equal(s.identity, null);

  const empty = await cli(['wallet', 'balance', '--data', dir, '--json'], env);
  assert.deepEqual(JSON.parse(empty.out), { balances: [] });
  assert.match((await cli(['wallet', 'balance', '--data', dir], env)).out, /balance: 0/);

  // Coins as the withdrawal flow will store them: the balance sums unspent ones only.
  const opened = await openWallet(dir, { now: () => new Date() });
  assert.ok(opened.ok);
  const at = '2026-11-01T10:00:00.000Z';
  const coin = (pub: string, idx: number, currency: string, value: bigint, state: 'unspent' | 'spent' | 'pending') => ({
    coin_pub: pub, derivation_index: idx, denomination_id: `${currency}-${value}`, currency, value, signature: state === 'pending' ? null : 'c2ln',
    state, reserve_pub: null, created_at: at, updated_at: at,
  });
  await opened.value.db.insertInto('wallet_coins').values([
    coin('pubA', 0, 'JPY', 4096n, 'unspent'),
    coin('pubB', 1, 'JPY', 8n, 'unspent'),
    coin('pubC', 2, 'JPY', 1024n, 'spent'),
    coin('pubD', 3, 'EUR', 1250n, 'unspent'),
    coin('pubE', 4, 'EUR', 2n, 'pending'),
  ]).execute();
  await opened.value.close();

  const balance = await cli(['wallet', 'balance', '--data', dir, '--json'], env);
  assert.deepEqual(JSON.parse(balance.out), {
    balances: [
      { currency: 'EUR', amount: 'EUR:12.50', coins: 1 },
      { currency: 'JPY', amount: 'JPY:4104', coins: 2 },
    ],
  });
  const coins = await cli(['wallet', 'coins', '--data', dir, '--json'], env);
  const list = (JSON.parse(coins.out) as { coins: Record<string, unknown>[] }).coins;
  assert.equal(list.length, 5);
  assert.deepEqual(list[0], { coinPub: 'pubA', denominationId: 'JPY-4096', value: 'JPY:4096', state: 'unspent', derivationIndex: 0, createdAt: at });
  const unspent = await cli(['wallet', 'coins', '--data', dir, '--state', 'unspent', '--json'], env);
  assert.deepEqual((JSON.parse(unspent.out) as { coins: { coinPub: string }[] }).coins.map((c) => c.coinPub), ['pubA', 'pubB', 'pubD']);
});

test('a directory without a wallet is WALLET_NOT_FOUND', async (t) => {
  const { dir, remove } = tempDir();
  t.after(remove);
  const r = await cli(['wallet', 'balance', '--data', join(dir, 'none'), '--json']);
  assert.equal(r.code, 1);
  assert.equal((JSON.parse(r.out) as { code: string }).code, 'WALLET_NOT_FOUND');
});
