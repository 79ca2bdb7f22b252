// The sandbox deployer's whole lifecycle against a real sandbox: the new version is up and listening
// before any traffic reaches it, promote leaves it alone, retire stops what no longer serves, and a
// revert sends every request back to the previous version in one call. The sandbox runs with its default
// (no retire grace period): a version out of the split stays up until retire.
import { startSandbox, type Sandbox } from '../../../sandbox/sandbox';
import { SandboxDeployer } from './sandbox';

interface VersionRow {
  version: string;
  state: string;
  requests: number;
}

describe('SandboxDeployer lifecycle', () => {
  let sandbox: Sandbox;
  let deployer: SandboxDeployer;
  const target = { service: 'shop', version: 'v2.0.0', previousVersion: 'v1.9.0' };
  const versions = async () => ((await (await fetch(`${sandbox.adminUrl}/admin/services/shop/versions`)).json()) as { versions: VersionRow[] }).versions;
  const stateOf = async (v: string) => (await versions()).find((r) => r.version === v)?.state;
  const serve = async (n: number) => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${sandbox.url}/svc/shop/`);
      await res.text();
      const v = res.headers.get('x-sandbox-version') ?? '?';
      seen[v] = (seen[v] ?? 0) + 1;
    }
    return seen;
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, adminPort: 0, initial: { shop: 'v1.9.0' } });
    deployer = new SandboxDeployer({ url: sandbox.adminUrl });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('prepares the new version beside the serving one, running and with no traffic; twice is the same', async () => {
    expect((await deployer.prepare(target)).detail).toMatch(/^v2\.0\.0 running \(pid \d+\), no traffic$/);
    expect((await deployer.prepare(target)).detail).toMatch(/^v2\.0\.0 running/);
    expect(await stateOf('v2.0.0')).toBe('running');
    expect(await serve(20)).toEqual({ 'v1.9.0': 20 });
  });

  it('shifts, reverts in one call, and retire stops the canary that no longer serves', async () => {
    await deployer.shift(target, 50);
    expect(await serve(20)).toEqual({ 'v1.9.0': 10, 'v2.0.0': 10 });
    expect(await deployer.revert(target)).toMatchObject({ percent: 0 });
    expect(await serve(20)).toEqual({ 'v1.9.0': 20 });
    expect((await deployer.retire(target)).detail).toBe('stopped v2.0.0');
    expect(await stateOf('v2.0.0')).toBe('stopped');
    expect((await deployer.retire(target)).detail).toBe('nothing left to stop');
  });

  it('promotes: the new version alone serves, the old one stays warm for a revert, and retire releases it', async () => {
    await deployer.prepare(target);
    await deployer.shift(target, 100);
    expect(await deployer.promote(target)).toEqual({ percent: 100, version: 'v2.0.0', previousVersion: null });
    expect(await serve(10)).toEqual({ 'v2.0.0': 10 });
    expect(await stateOf('v1.9.0')).toBe('running');
    // blue-green undo after the switch: blue is still there, and a revert is one call
    expect(await deployer.revert(target)).toMatchObject({ percent: 0, previousVersion: 'v1.9.0' });
    expect(await serve(10)).toEqual({ 'v1.9.0': 10 });
    await deployer.shift(target, 100);
    await deployer.promote(target);
    expect((await deployer.retire(target)).detail).toBe('stopped v1.9.0');
    expect(await deployer.currentTraffic(target)).toEqual({ percent: 100, version: 'v2.0.0', previousVersion: null });
  });

  it('smoke-checks the prepared version through its own endpoint before any user reaches it', async () => {
    const next = { service: 'shop', version: 'v2.1.0', previousVersion: 'v2.0.0' };
    await deployer.prepare(next);
    const url = await deployer.endpoint(next);
    expect(url).toBe(`${sandbox.url}/pin/v2.1.0/svc/shop`);
    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-sandbox-version')).toBe('v2.1.0');
    await res.text();
    expect(await serve(10)).toEqual({ 'v2.0.0': 10 });
    expect((await versions()).find((r) => r.version === 'v2.1.0')?.requests).toBe(1);
  });

  it('check says whether the sandbox can be reached', async () => {
    expect(await deployer.check('shop')).toEqual([{ name: 'reach the sandbox for shop', ok: true, detail: sandbox.adminUrl }]);
    const down = new SandboxDeployer({ url: 'http://127.0.0.1:9', timeoutMs: 2000 });
    expect(await down.check('shop')).toEqual([{ name: 'reach the sandbox for shop', ok: false, detail: expect.stringContaining('is the sandbox running') }]);
  });
});
