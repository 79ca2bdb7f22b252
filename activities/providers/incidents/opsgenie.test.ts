// The Opsgenie sink against a wire-format fake of the Alert API v2 (test/support/opsgenie-fake).
import { failureOf } from '../../../test/support/failure-of';
import { startOpsgenieFake, type OpsgenieFake } from '../../../test/support/opsgenie-fake';
import { JWT_TEMPLATE, sampleIncident } from '../../../test/support/incident-fixture';
import { OpsgenieIncidentSink } from './opsgenie';

let og: OpsgenieFake;
beforeAll(async () => {
  og = await startOpsgenieFake();
});
afterAll(() => og.close());

const sink = (env: NodeJS.ProcessEnv = { OPSGENIE_API_KEY: og.apiKey }) =>
  new OpsgenieIncidentSink({ apiKeyEnv: 'OPSGENIE_API_KEY', url: og.url, env, responders: [{ type: 'team', name: 'payments' }] });

test('an alert with GenieKey auth, the alias as dedup key, the description and details; a retry adds no alert; resolve closes it', async () => {
  const incident = sampleIncident();
  const alias = await sink().open(incident);
  await sink().open(incident);
  expect(og.alerts.size).toBe(1);
  const a = og.alerts.get(alias)!;
  expect(a).toMatchObject({ message: incident.title, priority: 'P1', count: 2, status: 'open', tags: ['quad', 'checkout', 'auto-rollback'] });
  expect(a.description).toContain(`${JWT_TEMPLATE} — 412 on canary, 0 on baseline`);
  expect(a.description).toContain('error_rate breach: canary 8.10 vs baseline 0 (limit 1)');
  expect(a.details).toMatchObject({ stage: 'canary 5 %', 'previous version': 'v1.2.3', 'web ui': incident.url });
  expect(og.requests[0].headers.authorization).toBe(`GenieKey ${og.apiKey}`);
  expect(og.requests[0].body).toMatchObject({ responders: [{ type: 'team', name: 'payments' }] });
  await sink().resolve(incident, alias);
  expect(a.status).toBe('closed');
  expect(og.requests.at(-1)!.path).toBe(`/v2/alerts/${encodeURIComponent(alias)}/close`);
  expect(og.requests.at(-1)!.query.get('identifierType')).toBe('alias');
});

test('a bad key is a ConfigurationError without the key; 422 is rejected with Opsgenie’s words; 429 and 5xx retried', async () => {
  const f = await failureOf(sink({ OPSGENIE_API_KEY: 'not-the-key-1234' }).open(sampleIncident()));
  expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { status: 401 } });
  expect(f.message).toMatch(/OPSGENIE_API_KEY/);
  expect(f.message).not.toContain('not-the-key-1234');
  og.failNext({ status: 422, body: { message: 'Request body is not processable.', errors: { message: 'Message can not be empty.' } } });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({
    type: 'RequestRejected',
    nonRetryable: true,
    message: expect.stringMatching(/Message can not be empty/),
  });
  og.failNext({ status: 429, body: { message: 'You are making too many requests!' } });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({ type: 'TransientError' });
  og.failNext({ status: 503, body: { message: 'Service unavailable' } });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({ type: 'TransientError' });
});
