// `quittance wallet serve` from the command line (help, refusals, a real run
// on an ephemeral port: the ready line's URL and token open the API, and a
// stop closes it), and registration through the API against a real CA.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createApp as createCaApp } from '../../src/ca/app.ts';
import { openCa } from '../../src/ca/open.ts';
import { runCli } from '../../src/cli/main.ts';
import { initWallet, openWallet } from '../../src/wallet/open.ts';
import type { DaemonStatus } from '../../src/wallet-daemon/views.ts';
import { cli, initCaDir, PASS, tempDir } from '../cli/helpers.ts';
import { value } from '../helpers/results.ts';
import { startDaemon } from './daemon-world.ts';

async function newWallet(ctx: { after: (fn: () => Promise<unknown>) => void }): Promise<string> {
  const tmp = tempDir('quittance-walletd-cli-');
  ctx.after(async () => tmp.remove());
  const dir = join(tmp.dir, 'w');
  value(await initWallet(dir, { passphrase: PASS, now: () => new Date() }));
  return dir;
}

describe('quittance wallet serve', () => {
  test('--help documents the token, the routes pointer and the options', async () => {
    const r = await cli(['wallet', 'serve', '--help']);
    assert.equal(r.code, 0);
    for (const s of ['Usage: quittance wallet serve', '--port N', '--host HOST', '--static DIR', '--bank URL', '#token=', 'Authorization: Bearer TOKEN', 'Origin']) assert.ok(r.out.includes(s), s);
  });

  test('refuses a non-loopback host, half a bank setting, and a wrong passphrase — before listening', async (ctx) => {
    const dir = await newWallet(ctx);
    const open = await cli(['wallet', 'serve', '--data', dir, '--host', '0.0.0.0', '--port', '0']);
    assert.equal(open.code, 2);
    assert.match(open.err, /--host must be a loopback address/);
    const half = await cli(['wallet', 'serve', '--data', dir, '--bank', 'http://bank.test/', '--port', '0']);
    assert.equal(half.code, 2);
    assert.match(half.err, /--bank and --account go together/);
    const wrong = await cli(['wallet', 'serve', '--data', dir, '--port', '0', '--json'], { QUITTANCE_PASSPHRASE: 'not the passphrase' });
    assert.equal(wrong.code, 1);
    assert.equal((JSON.parse(wrong.out) as { code: string }).code, 'WALLET_PASSPHRASE_WRONG');
  });

  test('a real run: the JSON ready line gives the URL with its token; the API answers it and nobody else; a stop closes it', async (ctx) => {
    const dir = await newWallet(ctx);
    let stop!: () => void;
    let ready!: (line: string) => void;
    const readyLine = new Promise<string>((r) => (ready = r));
    let out = '';
    const io = {
      out: (t: string) => {
        out += t;
        if (out.endsWith('\n')) ready(out);
      },
      err: () => {},
      env: { QUITTANCE_PASSPHRASE: PASS, QUITTANCE_LOG_LEVEL: 'silent' },
      stopSignal: new Promise<void>((r) => (stop = r)),
    };
    const exit = runCli(['wallet', 'serve', '--data', dir, '--port', '0', '--json'], io);
    const line = JSON.parse(await readyLine) as { event: string; party: string; url: string; wallet: string; token: string };
    assert.deepEqual([line.event, line.party], ['ready', 'wallet']);
    assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(line.wallet, `${line.url}#token=${line.token}`);
    assert.match(line.token, /^[A-Za-z0-9_-]{43}$/);
    const wallet = value(await openWallet(dir, { now: () => new Date() }));
    const walletId = wallet.walletId;
    await wallet.close();
    const status = await fetch(`${line.url}api/status`, { headers: { authorization: `Bearer ${line.token}` } });
    assert.equal(status.status, 200);
    assert.equal(((await status.json()) as DaemonStatus).walletId, walletId);
    assert.equal((await fetch(`${line.url}api/status`)).status, 401);
    stop();
    assert.equal(await exit, 0);
    await assert.rejects(fetch(`${line.url}api/status`), 'the daemon no longer listens');
  });
});

describe('wallet daemon: registration', () => {
  test('registration through the API against a real CA that approves at once: the certificate is checked, stored and valid', async (ctx) => {
    const tmp = tempDir('quittance-walletd-ca-');
    ctx.after(async () => tmp.remove());
    const caDir = join(tmp.dir, 'ca');
    await initCaDir(caDir);
    const ca = await openCa(caDir, { passphrase: PASS, configOverrides: { autoApprove: true } });
    const caApp = createCaApp(ca.deps);
    const caUrl = await caApp.listen({ port: 0, host: '127.0.0.1' });
    ctx.after(async () => {
      await caApp.close();
      await ca.close();
    });
    const dir = join(tmp.dir, 'w');
    value(await initWallet(dir, { passphrase: PASS, now: () => new Date() }));
    const wallet = value(await openWallet(dir, { now: () => new Date() }));
    ctx.after(() => wallet.close());
    const seed = value(await wallet.unlockSeed(PASS));
    const d = await startDaemon({ wallet, seed, passphrase: PASS, now: () => new Date(), fetch }, ctx);

    const body = { caUrl, displayName: 'Alice', realIdentity: { name: 'Alice Example', postalAddress: '1 Main Street', email: 'alice@example.org' } };
    const r = await d.call('POST', '/api/registration', body);
    assert.equal(r.statusCode, 200, r.body);
    const s = r.json<DaemonStatus>();
    assert.deepEqual([s.identity?.status, s.identity?.displayName], ['approved', 'Alice']);
    assert.match(s.identity?.partyId ?? '', /\S/);
    assert.deepEqual(s.certificate, { state: 'valid' });
    // Another name for a registered wallet is refused and changes nothing.
    const again = await d.call('POST', '/api/registration', { ...body, displayName: 'Mallory' });
    assert.deepEqual([again.statusCode, again.json<{ code: string }>().code], [409, 'WALLET_IDENTITY_EXISTS']);
    const refreshed = (await d.call('POST', '/api/registration/refresh')).json<DaemonStatus>();
    assert.deepEqual([refreshed.identity?.displayName, refreshed.identity?.partyId], ['Alice', s.identity?.partyId]);
  });
});
