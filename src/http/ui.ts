// A party's web page (built by Vite into web/dist/<page>/) served at a prefix
// of its own server: `serveUi(app, { page: 'merchant-admin', prefix: '/admin/' })`.
//
// Deliberately small, like the wallet daemon's static handler: GET/HEAD only,
// plain names only (no `..`, no dotfiles, no backslashes, symlinks resolved and
// held inside the page's folder), a fixed table of content types. The page's
// routes carry `config: { ui: true }`: they are not API routes, so the OpenAPI
// document leaves them out (test/http/openapi.test.ts skips them).
//
// Caching: Vite names assets after their content hash, so `assets/…` is cached
// for a year; index.html and config.json are revalidated every time, so a new
// build shows at once. The pages may not be framed (no clickjacking of an
// approve button) and load scripts from their own origin only.
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A web page's route, not an API route (left out of the OpenAPI document). */
    ui?: boolean;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Larger files are not page assets. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** web/dist, next to src/ in this package. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export type UiOptions = {
  /** The folder under web/dist (web/pages/<page>). */
  page: string;
  /** Where the page lives on this server: starts and ends with '/'. */
  prefix: string;
  /** Another dist folder (tests). Default: web/dist of this package. */
  distDir?: string;
  /** Served as `<prefix>config.json`: public settings the page reads at start (never secrets). */
  config?: () => unknown;
};

const NOT_BUILT = (page: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Page not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The web pages are not built</h1>
<p>This server would show its page <code>${page}</code> here. Run <code>npm run build:web</code> (or <code>npm start</code>, which builds first) and reload.</p>
</body></html>
`;

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', CSP);
}

/** The file under `root` that `rel` names, or undefined when it names none it may. */
async function fileFor(root: string, rel: string): Promise<string | undefined> {
  let path: string;
  try {
    path = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  const segments = (path === '' ? 'index.html' : path).split('/');
  // No parent steps, hidden files, empty segments, backslashes or NULs: nothing but plain names.
  if (segments.some((s) => s === '' || s.startsWith('.') || s.includes('\\') || s.includes('\0'))) return undefined;
  try {
    const real = await realpath(resolve(root, ...segments));
    if (!real.startsWith(root + sep)) return undefined;
    const s = await stat(real);
    return s.isFile() && s.size <= MAX_FILE_BYTES ? real : undefined;
  } catch {
    return undefined;
  }
}

export function serveUi(app: FastifyInstance, opts: UiOptions): void {
  if (!/^\/([A-Za-z0-9_-]+\/)*$/.test(opts.prefix)) throw new TypeError(`prefix: a path starting and ending with '/' expected, got ${opts.prefix}`);
  if (!/^[a-z0-9-]+$/.test(opts.page)) throw new TypeError(`page: a folder name expected, got ${opts.page}`);
  const dir = resolve(opts.distDir ?? WEB_DIST, opts.page);
  const config = { ui: true };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    securityHeaders(reply);
    const rel = request.url.split('?')[0]!.slice(opts.prefix.length);
    if (opts.config && rel === 'config.json') return reply.header('cache-control', 'no-cache').type('application/json').send(JSON.stringify(opts.config()));
    // Looked for on every request: building the pages while the server runs is enough.
    if (!existsSync(join(dir, 'index.html'))) return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT(opts.page));
    const root = await realpath(dir);
    const file = await fileFor(root, rel);
    if (file === undefined) return reply.code(404).header('cache-control', 'no-store').send({ code: 'HTTP_NOT_FOUND', message: `no file ${opts.prefix}${rel}` });
    const immutable = rel.startsWith('assets/');
    return reply
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream')
      .send(await readFile(file));
  };

  // Without the slash the page's relative asset URLs would resolve one level up.
  if (opts.prefix !== '/') {
    const bare = opts.prefix.slice(0, -1);
    app.get(bare, { config }, async (_request, reply) => securityHeaders(reply).redirect(opts.prefix, 308));
  }
  app.get(opts.prefix, { config }, handler);
  app.get(`${opts.prefix}*`, { config }, handler);
}
