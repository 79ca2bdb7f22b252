// The small HTTP server the incident tools' fakes are built on: records every request (method, path,
// query, headers, raw and parsed body), can be told to answer the next N requests with a given status
// and body (a tool that is down, rate limited, or refuses a credential), and otherwise hands the request
// to the fake's own handler. Bad JSON and unknown paths get the handler's own error answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: string;
  /** the parsed JSON body, or undefined when it was not JSON */
  body: unknown;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type FakeHandler = (req: Recorded) => Answer;

export interface HttpFake {
  url: string;
  requests: Recorded[];
  /** the next `times` requests are answered with this instead of the handler's answer */
  failNext(answer: Answer, times?: number): void;
  close(): Promise<void>;
}

export async function startHttpFake(handler: FakeHandler): Promise<HttpFake> {
  const requests: Recorded[] = [];
  const queued: Answer[] = [];
  const send = (res: ServerResponse, a: Answer) => {
    const text = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
    res.writeHead(a.status, { ...(text ? { 'content-type': 'application/json' } : {}), ...a.headers }).end(text);
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://fake');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = undefined;
      }
      const r: Recorded = { method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers, raw, body };
      requests.push(r);
      const forced = queued.shift();
      try {
        send(res, forced ?? handler(r));
      } catch (err) {
        send(res, { status: 500, body: { message: (err as Error).message } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    failNext(answer, times = 1) {
      for (let i = 0; i < times; i++) queued.push(answer);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
