// The wallet daemon in-process over a wallet: every request goes through
// app.inject with the daemon's own Host and the session token, unless a test
// says otherwise. Used over the purchase world (test/wallet/purchase-world.ts)
// and over a bare wallet for the security and input tests.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createWalletDaemon, type WalletDaemon } from '../../src/wallet-daemon/app.ts';
import type { WalletDaemonDeps } from '../../src/wallet-daemon/deps.ts';
import type { SessionView } from '../../src/wallet-daemon/sessions.ts';
import type { World } from '../wallet/purchase-world.ts';

export const HOST = '127.0.0.1';
export const PORT = 7005;
export const OWN_HOST = `${HOST}:${PORT}`;

export type Daemon = WalletDaemon & {
  token: string;
  /** One request with the daemon's Host and the token (override either in `headers`; `null` drops one). */
  call: (method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string | null>) => Promise<LightMyRequestResponse>;
  /** Long-polls the session until its step is one of `steps`; fails the test if it ends elsewhere. */
  until: (sessionId: string, ...steps: SessionView['step'][]) => Promise<SessionView>;
};

export async function startDaemon(
  base: Omit<WalletDaemonDeps, 'token' | 'listening'> & { listening?: WalletDaemonDeps['listening'] },
  ctx: { after: (fn: () => Promise<unknown>) => void },
): Promise<Daemon> {
  const token = randomBytes(32).toString('base64url');
  const d = await createWalletDaemon({ listening: { host: HOST, port: () => PORT }, ...base, token });
  ctx.after(() => d.app.close());
  const call: Daemon['call'] = async (method, url, body, headers = {}) => {
    const h: Record<string, string> = { host: OWN_HOST, authorization: `Bearer ${token}` };
    if (body !== undefined) h['content-type'] = 'application/json';
    for (const [k, v] of Object.entries(headers)) {
      if (v === null) delete h[k];
      else h[k] = v;
    }
    return d.app.inject({ method, url, headers: h, ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}) });
  };
  const until: Daemon['until'] = async (sessionId, ...steps) => {
    let version = 0;
    // Each round waits for the next change; a purchase has fewer than 20 changes.
    for (let round = 0; round < 40; round++) {
      const res = await call('GET', `/api/payments/${sessionId}?after=${version}&wait=10`);
      assert.equal(res.statusCode, 200, res.body);
      const v = res.json<SessionView>();
      if (steps.includes(v.step)) return v;
      if (v.step === 'done' || v.step === 'failed' || v.step === 'cancelled') assert.fail(`session ended at ${v.step}, expected ${steps.join('/')}: ${res.body}`);
      version = v.version;
    }
    assert.fail(`session ${sessionId} never reached ${steps.join('/')}`);
  };
  return { ...d, token, call, until };
}

/** The daemon over the purchase world's wallet, clock and network. */
export function worldDeps(world: World, extra: Partial<WalletDaemonDeps> = {}): Omit<WalletDaemonDeps, 'token' | 'listening'> {
  return { wallet: world.wallet, seed: world.seed, passphrase: world.deps.passphrase, now: world.deps.now, fetch: world.deps.fetch, ...extra };
}

/** A payment URI for the world's shop and catalogue articles. */
export function payUri(world: World, items = 'ARTICLE-A:1,ARTICLE-C:2'): string {
  return `quittance://pay?shop=${encodeURIComponent(world.merchantUrl)}&items=${encodeURIComponent(items)}`;
}
