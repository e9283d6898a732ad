// A shop backend for webhook tests: a real HTTP server on 127.0.0.1:0 that
// records every request (headers and the raw body, as received) and answers
// what the test says — a status, a delay, or a dropped connection.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Received = { path: string; headers: IncomingHttpHeaders; body: string; at: number };

/** What to do with the next request: answer a status (after delayMs), or drop the connection. */
export type Answer = { status: number; delayMs?: number } | 'drop';

export type Receiver = {
  url: string;
  received: Received[];
  /** Answers in order; when they run out, `otherwise`. */
  answers: Answer[];
  otherwise: Answer;
  close: () => Promise<void>;
};

export async function startReceiver(otherwise: Answer = { status: 200 }): Promise<Receiver> {
  const state: Pick<Receiver, 'received' | 'answers' | 'otherwise'> = { received: [], answers: [], otherwise };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const answer = state.answers.shift() ?? state.otherwise;
      if (answer === 'drop') {
        req.socket.destroy();
        return;
      }
      setTimeout(() => res.writeHead(answer.status, { 'content-type': 'text/plain' }).end('ok'), answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/hooks/quittance`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
