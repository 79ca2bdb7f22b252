// What the webhook receivers (Jira, the flag tools) share: a JSON answer, and a request body read up to a
// bound. An oversize body is read to its end (and dropped) so the sender gets its 413 rather than a reset
// connection; past 16 times the bound the connection is cut.
import type { IncomingMessage, ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, code: number, doc?: unknown): void {
  if (doc === undefined) {
    res.writeHead(code).end();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
}

/** The body, or null when it is over `maxBytes`. */
export function readBoundedBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  const drainLimit = 16 * maxBytes;
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
