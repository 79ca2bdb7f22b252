// The incident activity as the worker builds it from YAML (parseConfig → buildProviders →
// createActivities): CloudWatch Logs on a real moto server read for the breach window, the incident
// opened in the PagerDuty fake with the canary's new signature and its counts, then resolved; a manual
// rollback opens one only with on_manual_rollback; a log source that fails still opens the incident.
// The config's settings refused with messages a person can act on.
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../test/support/moto';
import { startPagerDutyFake, type PagerDutyFake } from '../test/support/pagerduty-fake';
import { parseConfig } from '../config/load';
import { ConfigError } from '../config/errors';
import { buildProviders } from './providers/factory';
import { createActivities } from '.';
import type { IncidentRequest } from '../contract/activities';

useFakeAwsCredentials();
const REGION = 'us-east-1';
const GROUP = '/ecs/checkout';
const from = Date.now() - 5 * 60_000;

let moto: LocalMoto;
let pd: PagerDutyFake;

beforeAll(async () => {
  [moto, pd] = await Promise.all([startMoto(), startPagerDutyFake()]);
  const logs = new CloudWatchLogsClient({ region: REGION, endpoint: moto.endpoint });
  await logs.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
  const put = async (stream: string, lines: string[]) => {
    await logs.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream }));
    await logs.send(
      new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, logEvents: lines.map((message, i) => ({ timestamp: from + i * 50, message })) }),
    );
  };
  const ok = (n: number) => Array.from({ length: n }, (_, i) => `{"level":"info","msg":"GET /cart 200 in ${i % 9}ms"}`);
  await put('checkout/v1.2.4-bad/7f3a', [
    ...ok(200),
    ...Array.from({ length: 17 }, (_, i) => `{"level":"error","msg":"connect ECONNREFUSED 10.0.3.17:5432 (pool ${i})"}`),
  ]);
  await put('checkout/v1.2.3/1b2c', ok(3000));
  logs.destroy();
}, 60_000);
afterAll(async () => {
  await pd?.close();
  await moto?.stop();
});

const yaml = (
  incidentsExtra = '',
  logs = `{ type: cloudwatch, log_group: "${GROUP}", stream_prefix: "\${service}/\${version}/", region: ${REGION}, endpoint: "{{MOTO}}" }`,
) =>
  `services: { checkout: {} }
providers:
  incidents: { type: pagerduty, routing_key: "\${PD_ROUTING_KEY}", url: "${pd.enqueueUrl}"${incidentsExtra} }
  logs: ${logs.replace('{{MOTO}}', moto.endpoint)}
`;

const request = (over: Partial<IncidentRequest> = {}): IncidentRequest => ({
  releaseId: 'release:checkout',
  service: 'checkout',
  version: 'v1.2.4-bad',
  previousVersion: 'v1.2.3',
  title: 'checkout v1.2.4-bad rolled back: canary 5 %',
  evidence: 'error rate 7.8 %',
  rootCauseHint: 'v1.2.4-bad raised the error rate at canary 5 %',
  at: Date.now(),
  stage: 'canary 5 %',
  window: { from, to: Date.now() },
  rollbackFinished: true,
  ...over,
});

const activitiesFor = (text: string) => createActivities(buildProviders(parseConfig(text), { env: { PD_ROUTING_KEY: pd.routingKey } }));

test('the canary’s new error from CloudWatch Logs becomes the top signature and the hint; the alert is resolved after the rollback', async () => {
  const req = request();
  const summary = await activitiesFor(yaml()).openIncident(req);
  expect(summary).toBe(
    [
      `quad:release:checkout:${req.at} · top log signature: \`connect ECONNREFUSED <ip>:<num> (pool <num>)\` — 17 on canary, 0 on baseline`,
      'hint: check the dependency it calls (10.0.3.17:5432): reachable from the new version, same address and credentials',
    ].join('\n'),
  );
  const alert = pd.alerts.get(`quad:release:checkout:${req.at}`)!;
  expect(alert.events.map((e) => e.event_action)).toEqual(['trigger', 'resolve']);
  expect(alert.events[0].payload.custom_details.hint).toBe(
    '`connect ECONNREFUSED <ip>:<num> (pool <num>)` — 17 on canary, 0 on baseline: check the dependency it calls (10.0.3.17:5432): reachable from the new version, same address and credentials\nv1.2.4-bad raised the error rate at canary 5 %',
  );
});

test('a rollback that did not finish is opened and left open', async () => {
  const req = request({ at: Date.now() + 1, rollbackFinished: false });
  await activitiesFor(yaml()).openIncident(req);
  expect(pd.alerts.get(`quad:release:checkout:${req.at}`)!.status).toBe('triggered');
});

test('a manual rollback opens one only with on_manual_rollback, marked as manual', async () => {
  const req = request({ at: Date.now() + 2, manual: { by: 'ana', why: 'customers report errors' } });
  expect(await activitiesFor(yaml()).openIncident(req)).toBe('');
  expect(pd.alerts.has(`quad:release:checkout:${req.at}`)).toBe(false);
  await activitiesFor(yaml(', on_manual_rollback: true')).openIncident(req);
  const trigger = pd.alerts.get(`quad:release:checkout:${req.at}`)!.events[0];
  expect(trigger.payload).toMatchObject({ class: 'manual rollback', custom_details: { trigger: 'manual rollback by ana', reason: 'customers report errors' } });
});

test('logs that cannot be read do not stop the incident: it says why they are missing', async () => {
  const req = request({ at: Date.now() + 3 });
  const summary = await activitiesFor(
    yaml('', `{ type: cloudwatch, log_group: "/ecs/nope", stream_prefix: "\${version}/", region: ${REGION}, endpoint: "{{MOTO}}" }`),
  ).openIncident(req);
  expect(summary).toBe(`quad:release:checkout:${req.at}`);
  const details = pd.alerts.get(summary)!.events[0].payload.custom_details;
  expect(details.top_log_signatures[0]).toMatch(/^logs could not be read from cloudwatch: CloudWatch Logs DescribeLogStreams .*ResourceNotFoundException/);
  expect(details.hint).toBe('v1.2.4-bad raised the error rate at canary 5 %');
});

describe('config: providers.incidents and providers.logs', () => {
  const problems = (text: string): string[] => {
    try {
      parseConfig(text, 'test.yml');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  };
  const cfg = (incidents: string, logs = '') => `services: { checkout: {} }\nproviders:\n  incidents: ${incidents}\n${logs ? `  logs: ${logs}\n` : ''}`;

  test('each tool type names what it is missing and refuses what belongs to another', () => {
    expect(problems(cfg('{ type: pagerduty }'))).toEqual([
      'providers.incidents.routing_key: type pagerduty needs routing_key: the ${ENV_VAR} holding an Events API v2 integration key, found nothing',
    ]);
    expect(problems(cfg('{ type: github, token: "${GH_TOKEN}" }'))).toEqual([
      'providers.incidents.repo: type github needs repo: owner/name of the repository issues open in, found nothing',
    ]);
    expect(problems(cfg('{ type: jira, url: "https://acme.atlassian.net", project: ops, email: ops@acme.com, token: "${JIRA_API_TOKEN}" }'))).toEqual([
      'providers.incidents.project: a Jira project key, e.g. OPS, found string "ops"',
    ]);
    expect(problems(cfg('{ type: opsgenie, api_key: "${OG}", routing_key: "${PD}" }'))).toEqual([
      'providers.incidents.routing_key: routing_key is for type pagerduty, not opsgenie, found string "${PD}"',
    ]);
    expect(problems(cfg('{ type: pagerduty, routing_key: "abc123inline" }'))[0]).toMatch(/a secret must be written as \$\{ENV_VAR\}, never inline/);
    expect(problems(cfg('{ type: victorops }'))[0]).toBe(
      'providers.incidents.type: expected one of "file", "webhook", "pagerduty", "opsgenie", "github", "jira", found string "victorops"',
    );
  });

  test('cloudwatch logs must tell versions apart; settings of another type and bad hint rules are refused', () => {
    expect(problems(cfg('{ type: file }', '{ type: cloudwatch, log_group: /ecs/checkout }'))).toEqual([
      'providers.logs.stream_prefix: type cloudwatch must tell one version\'s lines from another\'s: put ${version} in stream_prefix (e.g. "${service}/${version}/") or in filter_pattern, found nothing',
    ]);
    expect(problems(cfg('{ type: file }', '{ type: sandbox, log_group: /ecs/checkout }'))).toEqual([
      'providers.logs.log_group: log_group is for type: cloudwatch, not sandbox, found string "/ecs/checkout"',
    ]);
    expect(problems(cfg('{ type: file }', '{ type: none, hints: [{ match: "(", hint: x }] }'))[0]).toBe(
      'providers.logs.hints[0].match: must be a valid regular expression, e.g. "cart total|pricing", found string "("',
    );
    // and a valid config builds
    expect(
      parseConfig(
        cfg(
          '{ type: webhook, url: "https://h.example/i", signing_secret: "${SIG}" }',
          '{ type: sandbox, hints: [{ match: "cart total", hint: "check pricing" }] }',
        ),
      ).providers.logs,
    ).toMatchObject({
      type: 'sandbox',
      window_minutes: 15,
      limit: 10000,
    });
  });
});
