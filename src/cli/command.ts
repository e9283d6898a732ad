// A tiny command framework on node:util parseArgs: every command has a summary,
// a usage line, documented options and `--help`. Unknown options are errors.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export type Io = {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process should stop (SIGINT/SIGTERM) — long-running commands wait on it. */
  stopSignal: Promise<void>;
};

export type OptionSpec = ParseArgsOptionsConfig[string] & { description: string; valueName?: string };

export type Command = {
  name: string;
  summary: string;
  /** Positional arguments, e.g. "ID" or "FILE". */
  args?: string;
  options: Record<string, OptionSpec>;
  /** Extra paragraphs for --help. */
  details?: string;
  run: (parsed: { values: Record<string, unknown>; positionals: string[] }, io: Io) => Promise<number>;
};

export type Group = { name: string; summary: string; commands: Command[] };

/** Exit codes: 0 ok, 1 a check failed / operation refused, 2 usage error. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export class UsageError extends Error {}

export function commandHelp(prefix: string, c: Command): string {
  const lines = [`Usage: quittance ${prefix} ${c.name}${c.args ? ` ${c.args}` : ''} [options]`, '', c.summary, ''];
  const opts = Object.entries(c.options);
  if (opts.length) {
    lines.push('Options:');
    for (const [name, o] of opts) {
      const flag = `--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}${o.multiple ? ' (repeatable)' : ''}`;
      lines.push(`  ${flag.padEnd(28)} ${o.description}`);
    }
  }
  lines.push(`  ${'--help'.padEnd(28)} show this help`);
  if (c.details) lines.push('', c.details.trim());
  return lines.join('\n') + '\n';
}

export function groupHelp(g: Group): string {
  const lines = [`Usage: quittance ${g.name} <command> [options]`, '', g.summary, '', 'Commands:'];
  for (const c of g.commands) lines.push(`  ${c.name.padEnd(16)} ${c.summary}`);
  lines.push('', `Run 'quittance ${g.name} <command> --help' for a command's options.`);
  return lines.join('\n') + '\n';
}

export function parseCommandArgs(c: Command, argv: string[]) {
  const options: ParseArgsOptionsConfig = { help: { type: 'boolean' } };
  for (const [name, o] of Object.entries(c.options)) {
    const { description: _d, valueName: _v, ...spec } = o;
    options[name] = spec;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** An integer option in [min, max], or undefined when it was not given; anything else is a usage error. */
export function integerOption(raw: unknown, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer ${min}..${max}, got ${String(raw)}`);
  }
  return n;
}

export function parsePort(raw: unknown, fallback: number): number {
  return integerOption(raw, 'port', 0, 65535) ?? fallback;
}
