// `quad dashboards apply` against a real moto server: the dashboard is written with PutDashboard, and
// GetDashboard / ListDashboards give back the very body; --dry-run writes nothing; a service without
// CloudWatch metrics is skipped saying why; an endpoint that does not answer fails with exit 1.
import yaml from 'js-yaml';
import { CloudWatchClient, GetDashboardCommand, ListDashboardsCommand } from '@aws-sdk/client-cloudwatch';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../../test/support/moto';
import { parseConfig } from '../../config/load';
import { runCli } from '../cli';
import { planDashboards } from './body';

jest.setTimeout(60_000);
useFakeAwsCredentials();
const REGION = 'us-east-1';

let moto: LocalMoto;
let cw: CloudWatchClient;
beforeAll(async () => {
  moto = await startMoto();
  console.log(`moto_server answered after ${moto.startMs} ms`);
  cw = new CloudWatchClient({ region: REGION, endpoint: moto.endpoint });
});
afterAll(async () => {
  cw?.destroy();
  await moto?.stop();
});

const configFor = (endpoint: string) =>
  parseConfig(
    yaml.dump({
      services: {
        checkout: {
          metrics: {
            type: 'cloudwatch',
            region: REGION,
            endpoint,
            namespace: 'Shop/App',
            dimensions: { Service: '${service}', Version: '${version}' },
            metrics: { requests: 'Requests', errors: 'Errors', latency: 'LatencyMs', cpu: 'CPUUtilization' },
          },
          rollout_plan: [{ traffic_percent: 10, duration_minutes: 5, criteria: ['error_rate < 0.5%'] }, { traffic_percent: 100 }],
        },
        web: {},
      },
    }),
  );

async function quad(args: string[], endpoint = moto.endpoint) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    config: configFor(endpoint),
    env: process.env,
  });
  return { code, stdout, stderr };
}

const names = async () => ((await cw.send(new ListDashboardsCommand({}))).DashboardEntries ?? []).map((e) => e.DashboardName);

test('--dry-run prints the body and writes nothing', async () => {
  const r = await quad(['dashboards', 'apply', '--dry-run']);
  expect(r.code).toBe(0);
  const [doc] = JSON.parse(r.stdout);
  expect(doc).toMatchObject({ DashboardName: 'quad-checkout', region: REGION });
  expect(doc.DashboardBody.widgets.length).toBeGreaterThan(3);
  expect(r.stderr).toBe('skipped web: its metrics are sandbox, not CloudWatch\n');
  expect(await names()).toEqual([]);
});

test('apply writes quad-checkout; GetDashboard and ListDashboards show it with the body; a second apply replaces it', async () => {
  const r = await quad(['dashboards', 'apply']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^applied quad-checkout in us-east-1: 5 widgets\n$/);
  expect(r.stderr).toBe('skipped web: its metrics are sandbox, not CloudWatch\n');

  const got = await cw.send(new GetDashboardCommand({ DashboardName: 'quad-checkout' }));
  const body = JSON.parse(got.DashboardBody!);
  const planned = planDashboards(configFor(moto.endpoint), {}, 'checkout')[0];
  expect(planned.kind === 'dashboard' && body).toEqual(planned.kind === 'dashboard' && JSON.parse(JSON.stringify(planned.dashboard.body)));
  const errorRate = body.widgets.find((w: { properties: { title?: string } }) => /error rate/.test(w.properties.title ?? ''));
  expect(errorRate.properties.annotations.horizontal.map((a: { value: number }) => a.value)).toEqual([0.5, 1]);
  expect(got.DashboardArn).toMatch(/:dashboard\/quad-checkout$/);
  expect(await names()).toEqual(['quad-checkout']);

  const again = await quad(['dashboards', 'apply', '--service', 'checkout', '--canary', 'v1.2.4', '--baseline', 'v1.2.3']);
  expect(again.code).toBe(0);
  const replaced = JSON.parse((await cw.send(new GetDashboardCommand({ DashboardName: 'quad-checkout' }))).DashboardBody!);
  expect(replaced.variables.map((v: { defaultValue: string }) => v.defaultValue)).toEqual(['v1.2.4', 'v1.2.3']);
  expect(await names()).toEqual(['quad-checkout']);
});

test('--service naming a service without CloudWatch metrics, or none, is refused (exit 2); a bad version too', async () => {
  const web = await quad(['dashboards', 'apply', '--service', 'web']);
  expect(web).toMatchObject({ code: 2, stdout: '' });
  expect(web.stderr).toContain('skipped web: its metrics are sandbox, not CloudWatch');
  const unknown = await quad(['dashboards', 'apply', '--service', 'nope']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('unknown service "nope"');
  const bad = await quad(['dashboards', 'apply', '--canary', 'v1;rm -rf /']);
  expect(bad.code).toBe(2);
});

test('an endpoint that does not answer: exit 1 with the call, the dashboard and the error, no credentials', async () => {
  const r = await quad(['dashboards', 'apply'], 'http://127.0.0.1:9');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/quad: PutDashboard quad-checkout in us-east-1 failed: \w+/);
  expect(r.stderr).not.toContain(process.env.AWS_SECRET_ACCESS_KEY);
  console.log(`unreachable endpoint: ${r.stderr.trim().split('\n').at(-1)}`);
});
