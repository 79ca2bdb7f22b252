// What the webhook receivers (Jira, the flag tools) share: a JSON answer, a request body read up to a
// bound, and a server that turns an unexpected error into a logged 500. An oversize body is read to its end (and dropped) so the sender gets its 413 rather than a reset
// connection; past 16 times the bound the connection is cut.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export function sendJson(res: ServerResponse, code: number, doc?: unknown): void {
  if (doc === undefined) {
    res.writeHead(code).end();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
}

/**
 * The body, or null when it is over `maxBytes`. An oversize body is drained up to `drainLimit` (so the
 * sender reads its 413) and the connection cut beyond it.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, drainLimit = 16 * maxBytes): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
      else if (size > drainLimit) req.destroy();
    });
    req.on('end', () => resolve(size > maxBytes ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export interface WebhookServer {
  server: Server;
  start(listen?: { port?: number; host?: string }): Promise<{ port: number }>;
  stop(): Promise<void>;
}

/**
 * A receiver around `handle`: an error it did not answer is logged and answered 500 with `failure` (the
 * senders retry on 5xx, right for an outage; the details stay in the log). Listens on 127.0.0.1 by default.
 */
export function webhookServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  o: { log: (line: string) => void; name: string; failure: string },
): WebhookServer {
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      o.log(`${o.name}: ${(err as Error)?.stack ?? String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: o.failure });
    });
  });
  return {
    server,
    start: (listen = {}) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(listen.port ?? 0, listen.host ?? '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port }));
      }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
