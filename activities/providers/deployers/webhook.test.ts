// The webhook deployer against a real local HTTP server that records what it receives.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookDeployer, WebhookDeployerError } from './webhook';

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
  let answer: { status: number; body: string } = { status: 200, body: '{"ok":true}' };
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
        const a = req.url?.startsWith('/status') ? statusAnswer : answer;
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
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

  it('fails with status and body on an error answer, never showing the token', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/deploy`, tokenEnv: 'QUAD_TEST_WEBHOOK_TOKEN' });
    answer = { status: 503, body: `{"error":"deploy queue full","echo":"Bearer ${TOKEN}"}` };
    const err = (await deployer.setTraffic(target, 25).catch((e: unknown) => e)) as WebhookDeployerError;
    expect(err).toBeInstanceOf(WebhookDeployerError);
    expect(err.message).toMatch(/^webhook POST http:\/\/127\.0\.0\.1:\d+\/deploy: HTTP 503: .*deploy queue full/);
    expect(err.message).not.toContain(TOKEN);
    expect(err).toMatchObject({ status: 503, retryable: true });

    answer = { status: 401, body: 'bad token' };
    await expect(deployer.setTraffic(target, 25)).rejects.toMatchObject({ status: 401, retryable: false });
  });

  it('refuses to run without its token, and does not follow redirects', async () => {
    const missing = new WebhookDeployer({ url: `${base}/deploy`, tokenEnv: 'QUAD_TEST_NO_SUCH_TOKEN' });
    await expect(missing.setTraffic(target, 25)).rejects.toThrow(/QUAD_TEST_NO_SUCH_TOKEN is not set/);
    expect(received).toHaveLength(0);

    const redirected = new WebhookDeployer({ url: `${base}/redirect`, tokenEnv: 'QUAD_TEST_WEBHOOK_TOKEN' });
    await expect(redirected.setTraffic(target, 25)).rejects.toThrow(WebhookDeployerError);
    expect(received.map((r) => r.url)).toEqual(['/redirect']);
  });

  it('times out on a receiver that never answers', async () => {
    const deployer = new WebhookDeployer({ url: `${base}/hang`, timeoutMs: 300 });
    await expect(deployer.setTraffic(target, 25)).rejects.toThrow(/no answer within 0\.3 s/);
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
