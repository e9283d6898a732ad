// Where the passphrase for keys at rest comes from: an environment variable for
// services and scripts, else the terminal with echo off. Never from a command
// line argument (visible to every user in `ps`).
import { openSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';

export interface PassphraseOptions {
  /** Name of the environment variable to read (default QUITTANCE_PASSPHRASE). */
  env?: string;
  /** Shown on the terminal when asking. */
  prompt?: string;
  /** For tests: the environment to read instead of process.env. */
  environment?: Readonly<Record<string, string | undefined>>;
}

export async function readPassphrase(opts: PassphraseOptions = {}): Promise<string> {
  const name = opts.env ?? 'QUITTANCE_PASSPHRASE';
  const fromEnv = (opts.environment ?? process.env)[name];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new Error(`${name} is set but empty; set it to the key passphrase or unset it to be asked`);
    return fromEnv;
  }
  const tty = openTerminal();
  if (tty === undefined) {
    throw new Error(`no passphrase: set ${name} in the environment (no terminal to ask on)`);
  }
  try {
    return await ask(tty.input, tty.output, opts.prompt ?? 'Passphrase: ');
  } finally {
    tty.close();
  }
}

function openTerminal(): { input: ReadStream; output: NodeJS.WriteStream | WriteStream; close(): void } | undefined {
  if (process.stdin.isTTY) return { input: process.stdin as ReadStream, output: process.stderr, close: () => process.stdin.pause() };
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return undefined;
  }
  const input = new ReadStream(fd);
  const output = new WriteStream(fd);
  return { input, output, close: () => input.destroy() };
}

// Raw mode: the terminal neither echoes nor line-edits, so we handle Enter,
// Backspace and Ctrl-C / Ctrl-D ourselves.
function ask(input: ReadStream, output: NodeJS.WritableStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      output.write('\n');
      if (error) reject(error);
      else if (value === '') reject(new Error('empty passphrase'));
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new Error('passphrase entry cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    output.write(prompt);
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
