// Every group and command documents itself, and a wrong invocation is a usage
// error (exit 2) that says what was wrong, never a silent default.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GROUPS } from '../../src/cli/main.ts';
import { cli, spawnBin } from './helpers.ts';

describe('quittance --help', () => {
  test('the groups list is not empty (so the loops below check something)', () => {
    assert.ok(GROUPS.length >= 2);
    assert.ok(GROUPS.every((g) => g.commands.length > 0));
  });

  for (const g of GROUPS) {
    test(`${g.name} --help: exit 0, usage line, every command listed`, async () => {
      const r = await cli([g.name, '--help'], {});
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^Usage: quittance ${g.name} <command>`, 'm'));
      for (const c of g.commands) assert.match(r.out, new RegExp(`^  ${c.name} +${escape(c.summary)}$`, 'm'));
    });

    for (const c of g.commands) {
      test(`${g.name} ${c.name} --help: exit 0, usage line and every option`, async () => {
        const r = await cli([g.name, c.name, '--help'], {});
        assert.equal(r.code, 0, r.err);
        assert.equal(r.err, '');
        assert.match(r.out, new RegExp(`^Usage: quittance ${g.name} ${c.name}\\b`, 'm'));
        for (const name of Object.keys(c.options)) assert.match(r.out, new RegExp(`^  --${name}\\b`, 'm'), `--${name} documented`);
        assert.match(r.out, /^ {2}--help\b/m);
        // No code identifiers leaked into prose (a refactor once turned "passphrase" into "S.passphrase").
        assert.doesNotMatch(r.out, /\b[A-Z]\.[a-z]\w*/);
      });
    }
  }

  test('--help on its own prints the top help with every group, exit 0', async () => {
    const r = await cli(['--help'], {});
    assert.equal(r.code, 0);
    assert.match(r.out, /^Usage: quittance <group> <command> \[options\]$/m);
    for (const g of GROUPS) assert.match(r.out, new RegExp(`^  ${g.name} `, 'm'));
  });

  test('no arguments: help, exit 2', async () => {
    const r = await cli([], {});
    assert.equal(r.code, 2);
    assert.match(r.out, /^Usage: quittance <group> <command>/m);
  });

  test('a group without a command: its help, exit 2', async () => {
    const r = await cli(['ca'], {});
    assert.equal(r.code, 2);
    assert.match(r.out, /^Usage: quittance ca <command>/m);
  });
});

describe('usage errors exit 2 and say why', () => {
  test('unknown group', async () => {
    const r = await cli(['bogus', 'init'], {});
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown group 'bogus'/);
    assert.equal(r.out, '');
  });

  test('unknown command', async () => {
    const r = await cli(['ca', 'frobnicate'], {});
    assert.equal(r.code, 2);
    assert.match(r.err, /quittance ca: unknown command 'frobnicate'/);
  });

  test('unknown option (rejected before any work is done)', async () => {
    const r = await cli(['ca', 'init', '--data', '/nonexistent/never-created', '--frobnicate'], {});
    assert.equal(r.code, 2);
    assert.match(r.err, /quittance ca init: .*'--frobnicate'/);
    assert.match(r.err, /^Usage: quittance ca init/m);
  });

  test('a missing required option', async () => {
    const r = await cli(['doc', 'verify', 'x.jws'], {});
    assert.equal(r.code, 2);
    assert.match(r.err, /--ca is required/);
  });

  test('a string option given no value', async () => {
    const r = await cli(['ca', 'list', '--data'], {});
    assert.equal(r.code, 2);
    assert.match(r.err, /--data/);
  });
});

describe('the real entry point (bin/quittance.js)', () => {
  test('--help: exit 0 and the usage on stdout', () => {
    const r = spawnBin(['--help']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Usage: quittance <group> <command> \[options\]$/m);
  });

  test('an unknown group: exit 2 and the message on stderr', () => {
    const r = spawnBin(['bogus']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown group 'bogus'/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
