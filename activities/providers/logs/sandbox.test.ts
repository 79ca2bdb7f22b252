// The sandbox log source against a real sandbox: a -bad version's processes write their JWT errors to
// stdout among ordinary lines, the admin API serves them per version and window, and the comparison
// names the JWT signature with the exact count of 500s the bad version served.
import { startSandbox, type Sandbox } from '../../../sandbox/sandbox';
import { SandboxLogSource } from './sandbox';
import { compareLogs } from './compare';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, initial: { checkout: 'v1.2.3' }, retireAfterMs: 60_000 });
});
afterAll(async () => {
  await sandbox?.stop();
});

async function serve(n: number): Promise<Array<{ status: number; version: string | null }>> {
  const out: Array<{ status: number; version: string | null }> = [];
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, async () => {
        const r = await fetch(`${sandbox.url}/cart`);
        await r.arrayBuffer();
        return { status: r.status, version: r.headers.get('x-sandbox-version') };
      }),
    );
    out.push(...batch);
  }
  return out;
}

const settle = async (until: () => boolean) => {
  for (let i = 0; i < 500 && !until(); i++) await new Promise((r) => setTimeout(r, 20));
};

test('a bad canary’s JWT errors rank first, with the counts it served, and nothing from the healthy baseline', async () => {
  const from = Date.now();
  const put = await fetch(`${sandbox.adminUrl}/admin/services/checkout/traffic`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: 'v1.2.4-bad', previousVersion: 'v1.2.3', percent: 50 }),
  });
  expect(put.status).toBe(200);
  const replies = await serve(600);
  const served500 = replies.filter((r) => r.version === 'v1.2.4-bad' && r.status === 500).length;
  expect(served500).toBeGreaterThan(5);
  expect(replies.filter((r) => r.version === 'v1.2.3' && r.status === 500)).toHaveLength(0);
  // stdout lines reach the parent a moment after the answer
  const logsOf = (v: string) => sandbox.service('checkout')!.versions.get(v)!.process.logs;
  await settle(() => logsOf('v1.2.4-bad').between(from, Date.now() + 1, 'error', 10_000).lines.length >= served500);
  const to = Date.now() + 1;

  const cmp = await compareLogs(new SandboxLogSource({ url: sandbox.adminUrl }), {
    service: 'checkout',
    version: 'v1.2.4-bad',
    previousVersion: 'v1.2.3',
    from,
    to,
  });
  expect(cmp.signatures[0]).toMatchObject({
    template: 'JWT validation failed: signature mismatch for kid=<hex>',
    level: 'error',
    canary: served500,
    baseline: 0,
  });
  // the slow-query warning both versions write now and then is no regression
  expect(cmp.signatures.map((s) => s.template)).not.toContainEqual(expect.stringMatching(/slow query/));
  expect(cmp.hint).toBe(
    `\`JWT validation failed: signature mismatch for kid=<hex>\` — ${served500} on canary, 0 on baseline: check secret or signing-key rotation: the new version may read a different secret or key than the one serving`,
  );

  // the admin API's own view: every line counted in `total`, only warn and above returned
  const r = (await (await fetch(`${sandbox.adminUrl}/admin/services/checkout/logs?version=v1.2.4-bad&from=${from}&to=${to}&min_level=warn`)).json()) as {
    lines: Array<{ level: string; message: string }>;
    total: number;
  };
  expect(r.lines.every((l) => l.level === 'warn' || l.level === 'error')).toBe(true);
  const accessLines = replies.filter((x) => x.version === 'v1.2.4-bad').length;
  expect(r.total).toBeGreaterThanOrEqual(accessLines + served500);
});

test('the logs door answers bad input with a 400 and stays up; a version that never ran has no lines', async () => {
  const base = `${sandbox.adminUrl}/admin/services/checkout/logs`;
  for (const q of [
    'version=../etc&from=0&to=1',
    'version=v1&from=x&to=1',
    'version=v1&from=5&to=1',
    'version=v1&from=0&to=1&min_level=loud',
    'version=v1&from=0&to=1&limit=0',
    'version=v1&from=0&to=1&limit=1e9',
  ]) {
    const res = await fetch(`${base}?${q}`);
    expect([q, res.status]).toEqual([q, 400]);
    expect(((await res.json()) as { error: string }).error).toMatch(/version|from|to|min_level|limit/);
  }
  const none = (await (await fetch(`${base}?version=v9.9.9&from=0&to=${Date.now()}`)).json()) as { lines: unknown[]; total: number };
  expect(none).toMatchObject({ lines: [], total: 0, truncated: false });
  expect((await fetch(`${sandbox.adminUrl}/admin/health`)).status).toBe(200);
});
