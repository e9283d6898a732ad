// `quittance ca serve` as a real process: it announces itself with one JSON
// line, serves HTTPS with a certificate from `ca issue`, admits an operator
// certificate over mutual TLS and the token, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { BIN, PASS, initCaDir, issue, tempDir } from './helpers.ts';

type Reply = { status: number; body: Record<string, unknown> };

function get(url: string, ca: string, path: string, opts: { cert?: string; key?: string; token?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        servername: 'localhost',
        ca,
        ...(opts.cert ? { cert: opts.cert, key: opts.key, passphrase: PASS } : {}),
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        let data = '';
        res.on('data', (c: Buffer) => (data += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as Record<string, unknown> }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('ca serve (real process, TLS)', () => {
  const tmp = tempDir();
  const data = join(tmp.dir, 'ca');
  let token = '';
  let child: ReturnType<typeof spawn>;
  let url = '';
  let caPem = '';
  let operator = { cert: '', key: '' };
  let merchant = { cert: '', key: '' };

  before(async () => {
    token = (await initCaDir(data)).token;
    caPem = readFileSync(join(data, 'ca-cert.pem'), 'utf8');
    await issue(data, 'ca', 'Quittance CA', join(tmp.dir, 'tls'), ['--dns', 'localhost']);
    await issue(data, 'operator', 'Alice Operator', join(tmp.dir, 'op'));
    await issue(data, 'merchant', 'Some Shop', join(tmp.dir, 'shop'));
    operator = { cert: readFileSync(join(tmp.dir, 'op', 'chain.pem'), 'utf8'), key: readFileSync(join(tmp.dir, 'op', 'key.pem'), 'utf8') };
    merchant = { cert: readFileSync(join(tmp.dir, 'shop', 'chain.pem'), 'utf8'), key: readFileSync(join(tmp.dir, 'shop', 'key.pem'), 'utf8') };

    child = spawn(
      process.execPath,
      [BIN, 'ca', 'serve', '--data', data, '--port', '0', '--tls-cert', join(tmp.dir, 'tls', 'chain.pem'), '--tls-key', join(tmp.dir, 'tls', 'key.pem')],
      { env: { PATH: process.env.PATH, QUITTANCE_PASSPHRASE: PASS, QUITTANCE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines = createInterface({ input: child.stdout! });
    url = await new Promise<string>((resolve, reject) => {
      lines.on('line', (line) => {
        const msg = JSON.parse(line) as { event?: string; url?: string };
        if (msg.event === 'ready' && msg.url) resolve(msg.url);
      });
      child.once('exit', (code) => reject(new Error(`ca serve exited early (${code})`)));
    });
  });

  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    tmp.remove();
  });

  test('announces an https URL and serves the CA chain', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await get(url, caPem, '/healthz');
    assert.equal(health.status, 200);
  });

  test('operator certificate in, merchant certificate forbidden, token accepted', async () => {
    assert.equal((await get(url, caPem, '/v1/admin/registrations', operator)).status, 200);
    const m = await get(url, caPem, '/v1/admin/registrations', merchant);
    assert.equal(m.status, 403);
    assert.equal(m.body.code, 'HTTP_FORBIDDEN');
    assert.equal((await get(url, caPem, '/v1/admin/certificates', { token })).status, 200);
    assert.equal((await get(url, caPem, '/v1/admin/certificates')).status, 401);
  });

  test('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
