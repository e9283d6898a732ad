// Output and input helpers shared by every command group: one JSON flag, one
// way to print a result, one way to report a coded refusal (exit 1).
import { readPassphrase } from '../crypto/index.ts';
import { EXIT, type Io } from './command.ts';

export const JSON_OUT = { type: 'boolean', description: 'print the result as JSON' } as const;

/** The key passphrase: QUITTANCE_PASSPHRASE from the command's environment, else a prompt. */
export function passphrase(io: Io, prompt: string): Promise<string> {
  return readPassphrase({ environment: io.env, prompt });
}

export function printResult(io: Io, json: boolean, value: unknown, text: string): void {
  io.out(json ? JSON.stringify(value, null, 2) + '\n' : text);
}

/** Reports a refusal with its stable code: JSON on stdout with --json, `CODE: message` on stderr otherwise. */
export function failWith(io: Io, json: boolean, r: { code: string; message: string; details?: unknown }): number {
  if (json) io.out(JSON.stringify({ ok: false, code: r.code, message: r.message, ...(r.details !== undefined ? { details: r.details } : {}) }) + '\n');
  else io.err(`${r.code}: ${r.message}\n`);
  return EXIT.FAILED;
}
