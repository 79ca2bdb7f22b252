// The webhook deployer against a real local HTTP server that records what it receives.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookDeployer } from './webhook';
import { failureOf } from '../../../test/support/failure-of';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('WebhookDeployer', () => {
  let server: http.Server;
  let base: string;
  const received: Received[] = [];
  // what the next request to /deploy answers
  let answer: { status: number; body: string; headers?: Record<string, string> } = { status: 200, body: '{"ok":true}' };
  let statusAnswer: { status: number; body: string } = { status: 404, body: '' };
  const target = { service: 'checkout', version: 'v1.2.4', previousVersion: 'v1.2.3' };
  const TOKEN = 'whk-93c1f0d2a8b7';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (req.url?.startsWith('/hang')) return; // never answers
        if (req.url?.startsWith('/redirect')) {
          res.writeHead(302, { location: `${base}/deploy` }).end();
          return;
        }
        const a: typeof answer = req.url?.startsWith('/status') ? statusAnswer : answer;
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.QUAD_TEST_WEBHOOK_TOKEN = TOKEN;
  });
  afterAll(async () => {
    delete process.env.QUAD_TEST_WEBHOOK_TOKEN;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
  beforeEach(() => {
    received.length = 0;
    answer = { status: 200, body: '{"ok":true}' };
  });

  it('POSTs the absolute split as JSON with the bearer token from the named env var', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/deploy?team=payments`, tokenEnv: '${QUAD_TEST_WEBHOOK_TOKEN}' });
    expect(await deployer.setTraffic(target, 25)).toEqual({ percent: 25, version: 'v1.2.4', previousVersion: 'v1.2.3' });
    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/deploy?team=payments');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(JSON.parse(req.body)).toEqual({ service: 'checkout', version: 'v1.2.4', previousVersion: 'v1.2.3', percent: 25 });
  });

  it('sends the same Idempotency-Key for the same step and a new one for another', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/deploy` });
    await deployer.setTraffic(target, 25);
    await deployer.setTraffic(target, 25);
    await deployer.setTraffic(target, 50);
    await deployer.setTraffic({ ...target, region: 'eu-west-1' }, 50);
    const keys = received.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(new Set(keys).size).toBe(3);
    expect(received[0].headers.authorization).toBeUndefined();
    expect(JSON.parse(received[3].body)).toMatchObject({ region: 'eu-west-1', percent: 50 });
  });

  it('a receiver that is down (503) or rate limits (429) stays retryable, with status and body, never showing the token', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/deploy`, tokenEnv: 'QUAD_TEST_WEBHOOK_TOKEN' });
    answer = { status: 503, body: `{"error":"deploy queue full","echo":"Bearer ${TOKEN}"}` };
    const err = await failureOf(deployer.setTraffic(target, 25));
    expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false, details: { system: 'webhook deployer', status: 503 } });
    expect(err.message).toMatch(/^webhook deployer POST http:\/\/127\.0\.0\.1:\d+\/deploy: HTTP 503: .*deploy queue full.* \(retrying\)$/);
    expect(err.message).not.toContain(TOKEN);

    answer = { status: 429, body: 'slow down', headers: { 'retry-after': '7' } };
    expect(await failureOf(deployer.setTraffic(target, 25))).toMatchObject({ type: 'TransientError', nonRetryable: false, nextRetryDelay: 7000 });
  });

  it('401, 403 and 404 are non-retryable ConfigurationErrors saying what to fix; another 4xx a rejected request', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/deploy`, tokenEnv: 'QUAD_TEST_WEBHOOK_TOKEN', configPath: 'services.checkout.deployer' });
    answer = { status: 401, body: `{"error":"bad token ${TOKEN}"}` };
    const e401 = await failureOf(deployer.setTraffic(target, 25));
    expect(e401).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { status: 401 } });
    expect(e401.message).toMatch(
      /^webhook deployer did not accept the bearer token in env var QUAD_TEST_WEBHOOK_TOKEN for POST .*: set QUAD_TEST_WEBHOOK_TOKEN on the worker to a token the receiver accepts$/,
    );
    expect(e401.message).not.toContain(TOKEN);

    answer = { status: 403, body: 'not allowed to deploy checkout' };
    const e403 = await failureOf(deployer.setTraffic(target, 25));
    expect(e403).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { status: 403 } });
    expect(e403.message).toMatch(/lacks the permission \(HTTP 403: not allowed to deploy checkout\)/);

    answer = { status: 404, body: 'no such route' };
    const e404 = await failureOf(deployer.setTraffic(target, 25));
    expect(e404).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
    expect(e404.message).toMatch(/check services\.checkout\.deployer\.url$/);

    answer = { status: 422, body: '{"error":"percent must be one of 0, 50, 100"}' };
    expect(await failureOf(deployer.setTraffic(target, 25))).toMatchObject({ type: 'RequestRejected', nonRetryable: true, details: { status: 422 } });
  });

  it('refuses to run without its token, and does not follow redirects: both are configuration errors', async () => {
    const missing = new WebhookDeployer({ url: `${base}/deploy`, tokenEnv: 'QUAD_TEST_NO_SUCH_TOKEN', configPath: 'services.checkout.deployer' });
    const noToken = await failureOf(missing.setTraffic(target, 25));
    expect(noToken).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
    expect(noToken.message).toBe(
      'webhook deployer: the env var QUAD_TEST_NO_SUCH_TOKEN (named by services.checkout.deployer.token) is not set on the worker: ' +
        'set it where the worker runs, then retry the release',
    );
    expect(received).toHaveLength(0);

    const redirected = new WebhookDeployer({ url: `${base}/redirect`, tokenEnv: 'QUAD_TEST_WEBHOOK_TOKEN' });
    const moved = await failureOf(redirected.setTraffic(target, 25));
    expect(moved).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { status: 302 } });
    expect(moved.message).toMatch(/HTTP 302 redirect to http:\/\/127\.0\.0\.1:\d+\/deploy, not followed/);
    expect(received.map((r) => r.url)).toEqual(['/redirect']);
  });

  it('a missing or malformed URL is refused when the worker builds the deployer', () => {
    expect(() => new WebhookDeployer({ url: '' })).toThrow(
      expect.objectContaining({ type: 'ConfigurationError', message: expect.stringMatching(/url is missing/) }),
    );
    expect(() => new WebhookDeployer({ url: 'deploy.internal/quad' })).toThrow(/is not a URL/);
    expect(() => new WebhookDeployer({ url: 'ftp://deploy.internal/quad' })).toThrow(/must be http\(s\)/);
  });

  it('times out on a receiver that never answers, and a retry may do better', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/hang`, timeoutMs: 300 });
    const err = await failureOf(deployer.setTraffic(target, 25));
    expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false });
    expect(err.message).toMatch(/no answer within 0\.3 s/);
  });

  it('reads the current split from the status URL, null on 404 or without one', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/deploy`, statusUrl: `${base}/status`, tokenEnv: 'QUAD_TEST_WEBHOOK_TOKEN' });
    statusAnswer = { status: 200, body: '{"percent":25,"version":"v1.2.4","previousVersion":"v1.2.3"}' };
    expect(await deployer.currentTraffic({ ...target, region: 'eu-west-1' })).toEqual({ percent: 25, version: 'v1.2.4', previousVersion: 'v1.2.3' });
    expect(received[0].url).toBe('/status?service=checkout&region=eu-west-1');
    expect(received[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
    statusAnswer = { status: 404, body: '' };
    expect(await deployer.currentTraffic(target)).toBeNull();
    expect(await new WebhookDeployer({ url: `${base}/deploy` }).currentTraffic(target)).toBeNull();
  });
});
