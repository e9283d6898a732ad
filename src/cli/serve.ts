// What every `quittance <party> serve` shares: the listen options, one JSON
// ready line that scripts wait for, and a clean stop on SIGINT/SIGTERM.
import type { FastifyInstance } from 'fastify';
import { parsePort, type Io, type OptionSpec } from './command.ts';

export function listenOptions(defaultPort: number): Record<'port' | 'host', OptionSpec> {
  return {
    port: { type: 'string', description: `TCP port (default ${defaultPort}; 0 picks a free one)`, valueName: 'N' },
    host: { type: 'string', description: 'address to listen on (default 127.0.0.1)', valueName: 'HOST' },
  };
}

/** Parses --port/--host before anything is opened, so a typo costs nothing. */
export function listenAddress(values: Record<string, unknown>, defaultPort: number): { port: number; host: string } {
  return { port: parsePort(values.port, defaultPort), host: typeof values.host === 'string' ? values.host : '127.0.0.1' };
}

/** The Fastify logger settings for a server run from the CLI (QUITTANCE_LOG_LEVEL, default info). */
export function serverLogger(io: Io): { level: string } {
  return { level: io.env.QUITTANCE_LOG_LEVEL ?? 'info' };
}

/** Listens, prints `{"event":"ready","party":…,"url":…}`, serves until stopped, then closes the app. */
export async function serveUntilStopped(app: FastifyInstance, io: Io, party: string, address: { port: number; host: string }): Promise<void> {
  try {
    const url = await app.listen(address);
    io.out(JSON.stringify({ event: 'ready', party, url }) + '\n');
    await io.stopSignal;
  } finally {
    await app.close();
  }
}
