// `npm run build:web`: builds every page of web/pages into web/dist/<page>/
// (web/vite.config.ts says how), one after the other; a failed page fails the build.
import { rmSync } from 'node:fs';
import { build } from 'vite';
import { DIST_DIR, pageConfig, pages } from './vite.config.ts';

const found = pages();
if (found.length === 0) throw new Error('no pages: web/pages/<name>/index.html expected');
// Pages removed since the last build must not linger in dist.
rmSync(DIST_DIR, { recursive: true, force: true });
for (const page of found) await build(pageConfig(page));
console.log(`built ${found.length} pages into ${DIST_DIR}: ${found.join(', ')}`);
