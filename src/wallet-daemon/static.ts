// The wallet page's built files (index.html and its assets), served from one
// directory for GET and HEAD outside /api. Deliberately small (no directory
// listings, no dotfiles, nothing outside the directory, symlinks resolved and
// held to it) rather than a general static server.
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Larger files are not page assets. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function notFound(reply: FastifyReply, path: string): FastifyReply {
  return reply.code(404).send({ code: 'HTTP_NOT_FOUND', message: `no file ${path}` });
}

/** The file under `root` that `urlPath` names, or undefined when it names none it may. */
async function fileFor(root: string, urlPath: string): Promise<string | undefined> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const rel = path === '/' ? 'index.html' : path.slice(1);
  const segments = rel.split('/');
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

export async function staticRoutes(app: FastifyInstance, dir: string): Promise<void> {
  const root = await realpath(resolve(dir));
  const handler = async (request: { url: string }, reply: FastifyReply) => {
    const urlPath = request.url.split('?')[0]!;
    if (urlPath === '/api' || urlPath.startsWith('/api/')) return notFound(reply, urlPath);
    const file = await fileFor(root, urlPath);
    if (file === undefined) return notFound(reply, urlPath);
    return reply.type(TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream').send(await readFile(file));
  };
  app.get('/*', handler);
  app.get('/', handler);
}
