// A small HTTP proxy between the AWS SDK and moto, for what moto cannot tell: how many times each
// operation was called (moto keeps no call log), and answers moto never gives (throttling, a lost
// answer, a state it never reports). Every request still goes to the real moto unless a test queued
// another answer for it. Listens on 127.0.0.1 only. Headers pass through unchanged, so SigV4 signatures
// (checked by moto once its IAM is switched on) stay valid.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsCall {
  /** the operation: the query protocol's Action, the JSON protocol's X-Amz-Target suffix, or a named Lambda REST call */
  op: string;
  method: string;
  path: string;
  /** the answer's status; undefined when the answer was dropped */
  status?: number;
  /** the request body, parsed: form fields (query protocol) or JSON */
  body: unknown;
}

export interface CannedAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface AwsProxy {
  /** pass as the SDK client's (or the deployer's) `endpoint` */
  endpoint: string;
  calls: AwsCall[];
  /** calls of one operation so far */
  count(op: string): number;
  /** calls of one operation, with their bodies */
  callsOf(op: string): AwsCall[];
  /** forgets the calls and every queued answer */
  reset(): void;
  /** the next `times` calls of `op` get this answer and never reach moto */
  answerNext(op: string, answer: CannedAnswer, times?: number): void;
  /** the next `times` calls of `op` reach moto (the change is made) but the caller gets no answer: a connection cut mid-call */
  dropAnswerNext(op: string, times?: number): void;
  /** moto's JSON answers to `op` pass through `edit` (to show a state moto never reports) until reset */
  editAnswers(op: string, edit: (body: any) => any): void;
  close(): Promise<void>;
}

// Lambda speaks REST: the operations the tests look at, by method and path.
const LAMBDA_OPS: Array<[string, RegExp, string]> = [
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/aliases\/[^/]+$/, 'GetAlias'],
  ['PUT', /^\/2015-03-31\/functions\/[^/]+\/aliases\/[^/]+$/, 'UpdateAlias'],
  ['POST', /^\/2015-03-31\/functions\/[^/]+\/aliases$/, 'CreateAlias'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/versions$/, 'ListVersionsByFunction'],
  ['POST', /^\/2015-03-31\/functions\/[^/]+\/versions$/, 'PublishVersion'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+\/configuration$/, 'GetFunctionConfiguration'],
  ['PUT', /^\/2015-03-31\/functions\/[^/]+\/code$/, 'UpdateFunctionCode'],
  ['GET', /^\/2015-03-31\/functions\/[^/]+$/, 'GetFunction'],
  ['POST', /^\/2015-03-31\/functions$/, 'CreateFunction'],
];

function classify(req: IncomingMessage, raw: string): { op: string; body: unknown } {
  const path = (req.url ?? '/').split('?')[0];
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return { op: target.slice(target.lastIndexOf('.') + 1), body: parseJson(raw) };
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const form = Object.fromEntries(new URLSearchParams(raw));
    return { op: form.Action ?? `${req.method} ${path}`, body: form };
  }
  const lambda = LAMBDA_OPS.find(([m, re]) => m === req.method && re.test(path));
  return { op: lambda ? lambda[2] : `${req.method} ${path}`, body: parseJson(raw) };
}

function parseJson(raw: string): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** An error answer in the query protocol (ELBv2, EC2, IAM): the XML the SDK reads the code from. */
export function queryError(status: number, code: string, message: string): CannedAnswer {
  return {
    status,
    headers: { 'content-type': 'text/xml' },
    body: `<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>`,
  };
}

/** An error answer in the JSON protocol (ECS). */
export function jsonError(status: number, type: string, message: string): CannedAnswer {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: JSON.stringify({ __type: type, message }) };
}

/** An error answer of a REST-JSON service (Lambda): the type travels in a header. */
export function restError(status: number, type: string, message: string): CannedAnswer {
  return { status, headers: { 'content-type': 'application/json', 'x-amzn-errortype': type }, body: JSON.stringify({ Type: 'User', message }) };
}

export async function startAwsProxy(upstream: string): Promise<AwsProxy> {
  const target = new URL(upstream);
  const calls: AwsCall[] = [];
  const canned = new Map<string, CannedAnswer[]>();
  const drops = new Map<string, number>();
  const edits = new Map<string, (body: any) => any>();

  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const text = raw.toString('utf8');
    const { op, body } = classify(req, text);
    const call: AwsCall = { op, method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0], body };
    calls.push(call);

    const queued = canned.get(op);
    if (queued?.length) {
      const a = queued.shift()!;
      call.status = a.status;
      res.writeHead(a.status, { 'x-amzn-requestid': 'proxy', ...a.headers });
      res.end(a.body);
      return;
    }
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const drop = drops.get(op) ?? 0;
        if (drop > 0) {
          // moto made the change; the caller never learns it
          drops.set(op, drop - 1);
          req.socket.destroy();
          return;
        }
        call.status = answer.statusCode;
        let out = Buffer.concat(chunks);
        const headers = { ...answer.headers };
        const edit = edits.get(op);
        if (edit && (answer.statusCode ?? 500) < 300) {
          out = Buffer.from(JSON.stringify(edit(JSON.parse(out.toString('utf8')))));
          headers['content-length'] = String(out.length);
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        res.end(out);
      });
    });
    up.on('error', (err) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err.message}`);
    });
    up.end(raw);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    count: (op) => calls.filter((c) => c.op === op).length,
    callsOf: (op) => calls.filter((c) => c.op === op),
    reset() {
      calls.length = 0;
      canned.clear();
      drops.clear();
      edits.clear();
    },
    answerNext(op, answer, times = 1) {
      const q = canned.get(op) ?? [];
      for (let i = 0; i < times; i++) q.push(answer);
      canned.set(op, q);
    },
    dropAnswerNext(op, times = 1) {
      drops.set(op, (drops.get(op) ?? 0) + times);
    },
    editAnswers(op, edit) {
      edits.set(op, edit);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The (target group → weight) pairs a ModifyListener / ModifyRule request carried (query protocol form fields). */
export function weightsSent(call: AwsCall): Record<string, number> {
  const form = call.body as Record<string, string>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(form)) {
    const m = /^(.*ForwardConfig\.TargetGroups\.member\.\d+)\.TargetGroupArn$/.exec(k);
    if (m) out[v] = Number(form[`${m[1]}.Weight`]);
  }
  return out;
}
