// How every party's web page is built: each web/pages/<name>/index.html is a
// page (found by listing the folder, so adding a page needs no change here)
// and is built on its own into web/dist/<name>/ with its assets under it, so
// its server can serve that one folder at any prefix (/shop/, /admin/, or /
// for the wallet daemon): `base: './'` keeps every asset URL relative.
// `npm run build:web` (web/build.ts) builds them all; `vite --config
// web/vite.config.ts` serves the page named by QUITTANCE_WEB_PAGE for development.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';

const web = dirname(fileURLToPath(import.meta.url));
export const PAGES_DIR = join(web, 'pages');
export const DIST_DIR = join(web, 'dist');

/** Every page: the folders of web/pages holding an index.html. */
export function pages(): string[] {
  return readdirSync(PAGES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(PAGES_DIR, d.name, 'index.html')))
    .map((d) => d.name)
    .sort();
}

export function pageConfig(page: string): UserConfig {
  return {
    configFile: false,
    root: join(PAGES_DIR, page),
    base: './',
    publicDir: false,
    // Preact's automatic JSX runtime through Vite's own transformer (no Babel plugin needed).
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    server: { fs: { allow: [web] } },
    build: {
      outDir: resolve(DIST_DIR, page),
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      // No inline module-preload polyfill: the pages' CSP allows scripts from their own origin only.
      modulePreload: { polyfill: false },
    },
    logLevel: 'warn',
  };
}

export default defineConfig(pageConfig(process.env.QUITTANCE_WEB_PAGE ?? 'storefront'));
