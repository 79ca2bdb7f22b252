// The PagerDuty sink against a wire-format fake of the Events API v2 (test/support/pagerduty-fake).
import { failureOf } from '../../../test/support/failure-of';
import { startPagerDutyFake, type PagerDutyFake } from '../../../test/support/pagerduty-fake';
import { JWT_TEMPLATE, sampleIncident } from '../../../test/support/incident-fixture';
import { PagerDutyIncidentSink } from './pagerduty';

let pd: PagerDutyFake;
beforeAll(async () => {
  pd = await startPagerDutyFake();
});
afterAll(() => pd.close());

const sink = (env: NodeJS.ProcessEnv = { PD_ROUTING_KEY: pd.routingKey }) =>
  new PagerDutyIncidentSink({ routingKeyEnv: 'PD_ROUTING_KEY', url: pd.enqueueUrl, env });

test('a trigger carries the regression, the signatures, the hint and the link; a retry folds into the same alert; resolve closes it', async () => {
  const incident = sampleIncident();
  const ref = await sink().open(incident);
  expect(await sink().open(incident)).toBe(ref); // the activity retried after a lost answer
  expect(pd.alerts.size).toBe(1);
  const alert = pd.alerts.get(ref)!;
  expect(alert.status).toBe('triggered');
  const e = alert.events[0];
  expect(e).toMatchObject({ event_action: 'trigger', dedup_key: 'quad:release-checkout-v1.2.4-bad:1795700000000', client_url: incident.url });
  expect(e.payload).toMatchObject({
    severity: 'critical',
    source: 'checkout (eu-west-1)',
    component: 'checkout',
    group: 'canary 5 %',
    timestamp: '2026-11-26T13:33:20.000Z',
  });
  expect(e.payload.summary).toContain(`top log signature: \`${JWT_TEMPLATE}\` — 412 on canary, 0 on baseline`);
  expect(e.payload.custom_details).toMatchObject({
    version: 'v1.2.4-bad',
    'previous version': 'v1.2.3',
    regressed: ['error_rate breach: canary 8.10 vs baseline 0 (limit 1), 5080 requests', 'latency_p95 ok: canary 4.20 vs baseline 4 (limit 300)'],
    top_log_signatures: [`\`${JWT_TEMPLATE}\` — 412 on canary, 0 on baseline`],
    hint: incident.rootCauseHint,
  });
  expect(e.links).toEqual([{ href: incident.url, text: 'Release in the Temporal Web UI' }]);
  await sink().resolve(incident, ref);
  expect(alert.status).toBe('resolved');
  expect(alert.events.at(-1)).toEqual({ routing_key: pd.routingKey, event_action: 'resolve', dedup_key: ref });
});

test('a manual rollback is marked as such', async () => {
  const ref = await sink().open(
    sampleIncident({ at: 1795700001000, manual: { by: 'alice', why: 'customers report failed payments' }, findings: [], signatures: [] }),
  );
  const p = pd.alerts.get(ref)!.events[0].payload;
  expect(p.class).toBe('manual rollback');
  expect(p.custom_details).toMatchObject({ trigger: 'manual rollback by alice', reason: 'customers report failed payments' });
});

test('an invalid routing key is a non-retryable rejection that never shows the key; 429 and 5xx are retried', async () => {
  const wrong = 'f'.repeat(32);
  const f = await failureOf(sink({ PD_ROUTING_KEY: wrong }).open(sampleIncident()));
  expect(f).toMatchObject({ type: 'RequestRejected', nonRetryable: true, details: { system: 'PagerDuty', status: 400 } });
  expect(f.message).toMatch(/Invalid routing key/);
  expect(f.message).not.toContain(wrong);
  pd.failNext({
    status: 429,
    body: { status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' },
    headers: { 'retry-after': '2' },
  });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({ type: 'TransientError', nonRetryable: false, nextRetryDelay: 2000 });
  pd.failNext({ status: 502, body: '<html>Bad Gateway</html>' });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({ type: 'TransientError', nonRetryable: false });
  for (const status of [401, 403]) {
    pd.failNext({ status, body: { status: 'Unauthorized', message: 'Unauthorized' } });
    const g = await failureOf(sink().open(sampleIncident()));
    expect(g).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
    expect(g.message).toMatch(/PD_ROUTING_KEY/);
    expect(g.message).not.toContain(pd.routingKey);
  }
});

test('a routing key env var that is not set names the variable, never a value', async () => {
  const f = await failureOf(sink({}).open(sampleIncident()));
  expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { envVar: 'PD_ROUTING_KEY' } });
});
