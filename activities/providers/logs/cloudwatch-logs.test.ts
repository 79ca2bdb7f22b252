// The CloudWatch Logs source against a real moto server over HTTP: lines go in with PutLogEvents to one
// stream per version, come back through FilterLogEvents by stream prefix or a plain-term filter
// pattern, paginated, and the comparison names the canary's new error. Error answers from moto itself.
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../../../test/support/moto';
import { failureOf } from '../../../test/support/failure-of';
import { CloudWatchLogsSource, type CloudWatchLogsOptions } from './cloudwatch-logs';
import { compareLogs } from './compare';

useFakeAwsCredentials();
const REGION = 'us-east-1';
const GROUP = '/ecs/checkout';

let moto: LocalMoto;
let logs: CloudWatchLogsClient;
const opened: CloudWatchLogsSource[] = [];
const source = (o: Partial<CloudWatchLogsOptions> = {}) => {
  const s = new CloudWatchLogsSource({
    logGroup: GROUP,
    streamPrefix: '${service}/${version}/',
    region: REGION,
    endpoint: moto.endpoint,
    maxAttempts: 1,
    ...o,
  });
  opened.push(s);
  return s;
};

const from = Date.now() - 10 * 60_000;
const to = from + 5 * 60_000;
let jwtLines = 0;

beforeAll(async () => {
  moto = await startMoto();
  logs = new CloudWatchLogsClient({ region: REGION, endpoint: moto.endpoint });
  await logs.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
  const put = async (stream: string, lines: string[]) => {
    await logs.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream }));
    await logs.send(
      new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, logEvents: lines.map((message, i) => ({ timestamp: from + i * 100, message })) }),
    );
  };
  const noise = (version: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      i % 40 === 39 ? `WARN slow query took ${300 + i}ms on table carts` : `INFO GET /cart 200 in ${i % 7}ms version=${version}`,
    );
  const bad = noise('v1.2.4-bad', 300).map((line, i) =>
    i % 12 === 0 ? `ERROR JWT validation failed: signature mismatch for kid=${(0x5e3a1f00 + i).toString(16)} version=v1.2.4-bad` : line,
  );
  jwtLines = bad.filter((l) => l.includes('JWT')).length;
  await put('checkout/v1.2.4-bad/task-1', bad);
  await put('checkout/v1.2.3/task-1', noise('v1.2.3', 2000));
  // a line outside the window, which must not be counted
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: GROUP,
      logStreamName: 'checkout/v1.2.4-bad/task-1',
      logEvents: [{ timestamp: to + 60_000, message: 'ERROR JWT validation failed: signature mismatch for kid=abcdef12' }],
    }),
  );
}, 60_000);
afterAll(async () => {
  opened.forEach((s) => s.close());
  logs?.destroy();
  await moto?.stop();
});

test('the canary’s stream against the baseline’s: the JWT signature new on the canary, with its counts', async () => {
  const cmp = await compareLogs(source(), { service: 'checkout', version: 'v1.2.4-bad', previousVersion: 'v1.2.3', from, to });
  expect(jwtLines).toBe(25);
  expect(cmp.signatures).toEqual([
    expect.objectContaining({
      template: 'JWT validation failed: signature mismatch for kid=<hex> version=v<num>-bad',
      canary: 25,
      baseline: 0,
      level: 'error',
    }),
  ]);
  expect(cmp.hint).toMatch(/— 25 on canary, 0 on baseline: check secret or signing-key rotation/);
});

test('a plain-term filter pattern picks one version’s lines; pages are followed up to the limit', async () => {
  const s = source({ streamPrefix: undefined, filterPattern: '"version=${version}"' });
  const all = await s.fetch({ service: 'checkout', version: 'v1.2.4-bad', from, to, limit: 10_000 });
  expect(all.events).toHaveLength(300 - 7); // the 7 slow-query warnings carry no version
  expect(all.events.every((e) => e.message.includes('version=v1.2.4-bad'))).toBe(true);
  const cut = await s.fetch({ service: 'checkout', version: 'v1.2.3', from, to, limit: 150 });
  expect(cut.events.length).toBeLessThanOrEqual(150);
  expect(cut.truncated).toBe(true);
});

test('the streams are found by prefix; the request for one page, as CloudTrail would show it', async () => {
  const s = source({ filterPattern: '?ERROR ?WARN' });
  const streams = await s.streams({ service: 'checkout', version: 'v1.2.4-bad', from, to, limit: 500 });
  expect(streams).toEqual(['checkout/v1.2.4-bad/task-1']);
  expect(await s.streams({ service: 'checkout', version: 'v1.2.4-bad', from: to + 120_000, to: to + 180_000, limit: 500 })).toEqual([]);
  expect(s.request({ service: 'checkout', version: 'v1.2.4-bad', from, to, limit: 500 }, streams, 'tok')).toEqual({
    logGroupName: GROUP,
    logStreamNames: ['checkout/v1.2.4-bad/task-1'],
    filterPattern: '?ERROR ?WARN',
    startTime: from,
    endTime: to - 1,
    limit: 500,
    nextToken: 'tok',
  });
});

test('a missing log group is a ConfigurationError naming the setting; an unreachable endpoint is retryable; a config that cannot tell versions apart is refused', async () => {
  const missing = await failureOf(source({ logGroup: '/ecs/nope' }).fetch({ service: 'checkout', version: 'v1', from, to, limit: 10 }));
  expect(missing).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
  expect(missing.message).toMatch(/providers\.logs\.log_group/);
  const down = await failureOf(source({ endpoint: 'http://127.0.0.1:9' }).fetch({ service: 'checkout', version: 'v1', from, to, limit: 10 }));
  expect(down).toMatchObject({ type: 'TransientError', nonRetryable: false });
  expect(() => new CloudWatchLogsSource({ logGroup: GROUP, filterPattern: 'ERROR' })).toThrow(/put \$\{version\} in stream_prefix/);
  await expect(source({ streamPrefix: '${svc}/${version}' }).streams({ service: 'checkout', version: 'v1', from, to, limit: 1 })).rejects.toThrow(
    /only \$\{service\}/,
  );
});
