// The layering rule of docs/ARCHITECTURE.md, checked on the real import graph:
// imports point down only, and parties never import each other.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = new URL('../src/', import.meta.url).pathname;

// What each top-level folder of src/ may import (besides itself and npm packages).
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  crypto: ['protocol'],
  store: ['protocol'],
  http: ['protocol'],
  ca: ['protocol', 'crypto', 'store', 'http'],
  bank: ['protocol', 'crypto', 'store', 'http'],
  payment: ['protocol', 'crypto', 'store', 'http'],
  merchant: ['protocol', 'crypto', 'store', 'http'],
  notary: ['protocol', 'crypto', 'store', 'http'],
  wallet: ['protocol', 'crypto', 'store'],
  'wallet-daemon': ['protocol', 'crypto', 'store', 'http', 'wallet'],
  cli: ['protocol', 'crypto', 'store', 'http', 'ca', 'bank', 'payment', 'merchant', 'notary', 'wallet', 'wallet-daemon'],
};

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

test('imports point down only; parties never import each other', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of tsFiles(SRC)) {
    const layer = relative(SRC, file).split('/')[0]!;
    const allowed = ALLOWED[layer];
    if (!allowed) {
      violations.push(`${relative(SRC, file)}: folder src/${layer} has no entry in the layer table`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const target = relative(SRC, join(file, '..', m[1]!)).split('/')[0]!;
      checked++;
      if (target !== layer && !allowed.includes(target)) violations.push(`${relative(SRC, file)} imports ${m[1]} (src/${target})`);
    }
    if (layer === 'protocol' && /from\s*'node:/.test(text)) violations.push(`${relative(SRC, file)}: node: import in the pure core`);
  }
  assert.ok(checked > 10, 'the scan found imports to check');
  assert.deepEqual(violations, []);
});
