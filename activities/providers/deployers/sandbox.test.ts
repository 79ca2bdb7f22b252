// The sandbox deployer against a real sandbox (router + per-version processes) on 127.0.0.1.
import http from 'node:http';
import { startSandbox, type Sandbox } from '../../../sandbox/sandbox';
import { SandboxApiError, SandboxDeployer } from './sandbox';

function versionOf(url: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['x-sandbox-version'] as string | undefined));
      })
      .on('error', reject);
  });
}

describe('SandboxDeployer', () => {
  let sandbox: Sandbox;
  let deployer: SandboxDeployer;
  const target = { service: 'checkout', version: 'v1.2.4', previousVersion: 'v1.2.3' };
  const changes = async (service = 'checkout') =>
    ((await (await fetch(`${sandbox.adminUrl}/admin/services/${service}/changes`)).json()) as { changes: unknown[] }).changes;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, adminPort: 0, initial: { checkout: 'v1.2.3' } });
    deployer = new SandboxDeployer({ url: sandbox.adminUrl });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('reads what is serving now', async () => {
    expect(await deployer.currentTraffic(target)).toEqual({ percent: 100, version: 'v1.2.3', previousVersion: null });
    expect(await deployer.currentTraffic({ ...target, service: 'never-deployed' })).toBeNull();
  });

  it('sets an absolute split that the router serves, and a retry deploys nothing twice', async () => {
    expect(await deployer.setTraffic(target, 50)).toEqual({ percent: 50, version: 'v1.2.4', previousVersion: 'v1.2.3' });
    expect(await deployer.setTraffic(target, 50)).toEqual({ percent: 50, version: 'v1.2.4', previousVersion: 'v1.2.3' });
    expect(await changes()).toHaveLength(2); // initial + one real change
    const seen = await Promise.all(Array.from({ length: 10 }, () => versionOf(`${sandbox.url}/`)));
    expect(seen.filter((v) => v === 'v1.2.4')).toHaveLength(5);
    expect(seen.filter((v) => v === 'v1.2.3')).toHaveLength(5);

    // undo: back to 0 %, and the canary gets nothing
    expect(await deployer.setTraffic(target, 0)).toMatchObject({ percent: 0 });
    const after = await Promise.all(Array.from({ length: 10 }, () => versionOf(`${sandbox.url}/`)));
    expect(after).toEqual(Array(10).fill('v1.2.3'));
    expect(await deployer.currentTraffic(target)).toEqual({ percent: 0, version: 'v1.2.4', previousVersion: 'v1.2.3' });
    expect(await changes()).toHaveLength(3);
  });

  it('keeps each region as its own sandbox service', async () => {
    await deployer.setTraffic({ ...target, region: 'eu-west-1' }, 10);
    expect(await deployer.currentTraffic({ ...target, region: 'eu-west-1' })).toMatchObject({ percent: 10 });
    expect(await deployer.currentTraffic(target)).toMatchObject({ percent: 0 });
    expect(await changes('checkout.eu-west-1')).toHaveLength(1);
  });

  it('gives a version its own endpoint on the router (not the admin port), with the region key, that reaches it alone', async () => {
    // the split is 0 % for v1.2.4 here: the endpoint still reaches it (it stays warm until retire)
    expect(await deployer.endpoint(target)).toBe(`${sandbox.url}/pin/v1.2.4/svc/checkout`);
    expect(sandbox.url).not.toBe(sandbox.adminUrl);
    const regional = await deployer.endpoint({ ...target, region: 'eu-west-1' });
    expect(regional).toBe(`${sandbox.url}/pin/v1.2.4/svc/checkout.eu-west-1`);
    expect(await versionOf(`${await deployer.endpoint(target)}/cart`)).toBe('v1.2.4');
    expect(await versionOf(`${regional}/`)).toBe('v1.2.4');
    // a configured router URL wins over asking the sandbox
    const configured = new SandboxDeployer({ url: sandbox.adminUrl, routerUrl: 'http://router.example:8080/' });
    expect(await configured.endpoint(target)).toBe('http://router.example:8080/pin/v1.2.4/svc/checkout');
  });

  it('uses its own admin URL as the router when the sandbox serves both on one port, and null when it cannot know', async () => {
    const shared = await startSandbox({ port: 0 });
    try {
      const d = new SandboxDeployer({ url: `${shared.url}/` });
      expect(await d.endpoint(target)).toBe(`${shared.url}/pin/v1.2.4/svc/checkout`);
    } finally {
      await shared.stop();
    }
    // a sandbox that does not say where its router is (an older one): no endpoint rather than a guess
    const old = http.createServer((_req, res) => res.end(JSON.stringify({ ok: true })));
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (old.address() as { port: number }).port;
      expect(await new SandboxDeployer({ url: `http://127.0.0.1:${port}` }).endpoint(target)).toBeNull();
    } finally {
      await new Promise<void>((r) => old.close(() => r()));
    }
    // a sandbox that is down is an error to retry, not "no endpoint"
    await expect(new SandboxDeployer({ url: 'http://127.0.0.1:1', timeoutMs: 2000 }).endpoint(target)).rejects.toBeInstanceOf(SandboxApiError);
  });

  it('sends sticky when the target asks (an A/B split), and drops it on revert and promote', async () => {
    const ab = { service: 'shop', version: 'v2.0.0', previousVersion: 'v1.0.0', sticky: true };
    const traffic = async () => (await (await fetch(`${sandbox.adminUrl}/admin/services/shop/traffic`)).json()) as Record<string, unknown>;
    const userSees = (user: string) =>
      new Promise<string | undefined>((resolve, reject) => {
        http
          .get(`${sandbox.url}/svc/shop/`, { headers: { 'x-quad-user': user } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.headers['x-sandbox-version'] as string | undefined));
          })
          .on('error', reject);
      });
    await deployer.setTraffic({ ...ab, sticky: false }, 100); // the service's first split, plain
    expect(await deployer.shift(ab, 50)).toEqual({ percent: 50, version: 'v2.0.0', previousVersion: 'v1.0.0' });
    expect(await traffic()).toMatchObject({ percent: 50, sticky: true });
    // a retried shift is no change; users keep one side, and 100 users split 50/50 exactly
    await deployer.shift(ab, 50);
    const seen = await Promise.all(Array.from({ length: 100 }, (_, k) => userSees(`user-${k}`)));
    expect(seen.filter((v) => v === 'v2.0.0')).toHaveLength(50);
    for (const k of [0, 1, 17, 99]) for (let i = 0; i < 5; i += 1) expect(await userSees(`user-${k}`)).toBe(seen[k]);
    const shopChanges = (await changes('shop')) as Array<{ percent: number; sticky: boolean }>;
    expect(shopChanges.map((c) => [c.percent, c.sticky])).toEqual([
      [100, false],
      [50, true],
    ]);

    // a plain shift (a canary) sends no stickiness
    await deployer.shift({ ...ab, sticky: undefined }, 50);
    expect(await traffic()).toMatchObject({ percent: 50, sticky: false });
    await deployer.shift(ab, 50);

    // revert: everyone on the previous version, nobody split, so not sticky
    expect(await deployer.revert(ab)).toEqual({ percent: 0, version: 'v2.0.0', previousVersion: 'v1.0.0' });
    expect(await traffic()).toMatchObject({ percent: 0, sticky: false });
    // promote: B alone, not sticky either
    await deployer.shift(ab, 50);
    expect(await deployer.promote(ab)).toEqual({ percent: 100, version: 'v2.0.0', previousVersion: null });
    expect(await traffic()).toMatchObject({ percent: 100, previousVersion: null, sticky: false });
  });

  it('fails with the sandbox message on bad input and a clear error when the sandbox is down', async () => {
    await expect(deployer.setTraffic({ ...target, version: 'v1; rm -rf /' }, 10)).rejects.toThrow(/HTTP 400: version must match/);
    await expect(deployer.setTraffic(target, 120)).rejects.toThrow(/percent/);
    const down = new SandboxDeployer({ url: 'http://127.0.0.1:1', timeoutMs: 2000 });
    const err = await down.currentTraffic(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxApiError);
    expect((err as Error).message).toMatch(/is the sandbox running at http:\/\/127\.0\.0\.1:1/);
  });
});
