import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { JsonlIncidentSink } from './jsonl-file';
import { createHmac } from 'node:crypto';
import { WebhookIncidentSink, signIncidentBody } from './webhook';
import type { IncidentInput } from '../types';

const incident: IncidentInput = {
  releaseId: 'release:checkout',
  service: 'checkout',
  version: 'v1.2.4-bad',
  title: 'checkout v1.2.4-bad rolled back',
  evidence: 'error rate 8 %',
  rootCauseHint: 'look at the error logs',
  at: 1795700000000,
};

test('file sink records the incident with its evidence and hint', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'quad-')), 'incidents.jsonl');
  const id = await new JsonlIncidentSink(path).open(incident);
  expect(id).toBe('INC-checkout-1795700000000');
  expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ id, evidence: 'error rate 8 %', rootCauseHint: 'look at the error logs' });
});

test('webhook sink POSTs JSON with an idempotency key and returns the tool’s URL', async () => {
  const seen: { headers: Record<string, unknown>; body: unknown }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(seen.length === 1 ? 201 : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ url: 'https://incidents.example/INC-7' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    const sink = new WebhookIncidentSink(url);
    expect(await sink.open(incident)).toBe('https://incidents.example/INC-7');
    expect(seen[0].headers['idempotency-key']).toBe('release:checkout:1795700000000');
    expect(seen[0].body).toMatchObject({ title: incident.title, evidence: incident.evidence });
    await expect(sink.open(incident)).rejects.toThrow(/^incident webhook POST http:\/\/127\.0\.0\.1:\d+\/hook: HTTP 500/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

describe('webhook sink failures', () => {
  // each request answers the status named in its path, e.g. /401?routing_key=…
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = Number(/^\/(\d{3})/.exec(req.url ?? '')?.[1] ?? 200);
      res
        .writeHead(status, { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '30' } : {}) })
        .end(JSON.stringify({ status: 'invalid', message: `answer ${status}` }));
    });
  });
  let base = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdef';
  const failureOf = async (path: string) => {
    const err = await new WebhookIncidentSink(`${base}${path}?routing_key=${ROUTING_KEY}`).open(incident).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect(f.message).not.toContain(ROUTING_KEY);
    return f;
  };

  test('401 and 403 are non-retryable ConfigurationErrors that point at providers.incidents.url, without its key', async () => {
    for (const status of [401, 403]) {
      const f = await failureOf(`/${status}`);
      expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: [{ system: 'incident webhook', status }] });
      expect(f.message).toMatch(/providers\.incidents\.url/);
    }
    expect((await failureOf('/404')).type).toBe('ConfigurationError');
  });

  test('a tool that is down (503) stays retryable, after its Retry-After', async () => {
    const f = await failureOf('/503');
    expect(f).toMatchObject({ type: 'TransientError', nonRetryable: false, nextRetryDelay: 30_000 });
  });

  test('an unreachable tool is retryable; a missing or malformed URL is refused when the worker builds the sink', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hook`;
    await new Promise((r) => closed.close(r));
    const err = await new WebhookIncidentSink(url).open(incident).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false, message: expect.stringMatching(/ECONNREFUSED/) });
    expect(() => new WebhookIncidentSink('')).toThrow(
      expect.objectContaining({ type: 'ConfigurationError', message: expect.stringMatching(/providers\.incidents\.url is not set/) }),
    );
    expect(() => new WebhookIncidentSink('incidents.example/hook')).toThrow(/is not a URL/);
  });
});

describe('webhook signing', () => {
  test('with a signing secret the body is signed over timestamp and body; a receiver recomputes it; the secret is never sent or shown', async () => {
    const secret = 'whsec_0123456789abcdef';
    const seen: { headers: Record<string, unknown>; raw: string }[] = [];
    const server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        seen.push({ headers: req.headers, raw });
        res.writeHead(seen.length === 1 ? 202 : 500).end(seen.length === 1 ? '' : `bad ${secret}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const sink = new WebhookIncidentSink(url, 10_000, {
        signingSecretEnv: 'QUAD_INCIDENT_SIGNING_SECRET',
        env: { QUAD_INCIDENT_SIGNING_SECRET: secret },
        now: () => 1795700000,
      });
      await sink.open(incident);
      const { headers, raw } = seen[0];
      expect(headers['x-quad-timestamp']).toBe('1795700000');
      const expected = `sha256=${createHmac('sha256', secret).update(`1795700000.${raw}`).digest('hex')}`;
      expect(headers['x-quad-signature']).toBe(expected);
      expect(signIncidentBody(secret, 1795700000, raw)).toBe(expected);
      expect(raw).not.toContain(secret);
      expect(JSON.stringify(headers)).not.toContain(secret);
      // the tool echoing the secret in an error: cut from the message
      const err = (await sink.open(incident).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/HTTP 500/);
      expect(err.message).not.toContain(secret);
      // a secret env var that is not set: refused, naming the variable
      await expect(new WebhookIncidentSink(url, 10_000, { signingSecretEnv: 'QUAD_INCIDENT_SIGNING_SECRET', env: {} }).open(incident)).rejects.toMatchObject({
        type: 'ConfigurationError',
        message: expect.stringMatching(/QUAD_INCIDENT_SIGNING_SECRET/),
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
