#!/usr/bin/env node
// Quittance runs as TypeScript on Node 24 (type stripping). npm scripts use the
// pinned Node 24 from devDependencies; a bare `node` may be older.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `quittance needs Node.js 24 or newer (this is ${process.version}).\n` +
      'Run it through npm so the pinned Node 24 is used: `npx quittance …` or `npm exec quittance -- …`.\n',
  );
  process.exit(2);
}
const { main } = await import('../src/cli/main.ts');
main(process.argv.slice(2));
