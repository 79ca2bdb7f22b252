// The Jira sink against a wire-format fake of Jira Cloud's REST API v3 (test/support/jira-issues-fake).
import { failureOf } from '../../../test/support/failure-of';
import { startJiraIssuesFake, type JiraIssuesFake } from '../../../test/support/jira-issues-fake';
import { JWT_TEMPLATE, sampleIncident } from '../../../test/support/incident-fixture';
import { JiraIssueSink } from './jira';

let jira: JiraIssuesFake;
beforeAll(async () => {
  jira = await startJiraIssuesFake('OPS');
});
afterAll(() => jira.close());

const sink = (token = jira.token, project = 'OPS') =>
  new JiraIssueSink({ url: jira.url, project, email: jira.email, tokenEnv: 'JIRA_API_TOKEN', env: { JIRA_API_TOKEN: token } });

test('an issue with basic auth and an ADF description; the same incident again finds it by its label', async () => {
  const incident = sampleIncident();
  const url = await sink().open(incident);
  expect(url).toBe(`${jira.url}/browse/OPS-1`);
  expect(await sink().open(incident)).toBe(url);
  expect(jira.issues).toHaveLength(1);
  const f = jira.issues[0].fields;
  expect(f).toMatchObject({ issuetype: { name: 'Bug' }, summary: incident.title });
  expect(f.labels).toEqual(['quad', expect.stringMatching(/^quad-incident-[0-9a-f]{16}$/)]);
  const texts = JSON.stringify(f.description);
  expect(f.description).toMatchObject({ type: 'doc', version: 1 });
  expect(texts).toContain(`"text":"${JWT_TEMPLATE} — 412 on canary, 0 on baseline","marks":[{"type":"code"}]`);
  expect(texts).toContain('error_rate breach: canary 8.10 vs baseline 0 (limit 1), 5080 requests');
});

test('a bad token (401), no Create Issues (403) are ConfigurationErrors without the token; an unknown project is rejected with Jira’s words; 429 retried', async () => {
  const bad = await failureOf(sink('ATATTwrongwrongwrong').open(sampleIncident()));
  expect(bad).toMatchObject({
    type: 'ConfigurationError',
    details: { status: 401 },
    message: expect.stringMatching(/JIRA_API_TOKEN for quad-bot@example\.com/),
  });
  expect(bad.message).not.toContain('ATATTwrongwrongwrong');
  expect(await failureOf(sink(jira.browseOnlyToken).open(sampleIncident({ at: 2 })))).toMatchObject({ type: 'ConfigurationError', details: { status: 403 } });
  expect(await failureOf(sink(jira.token, 'NOPE').open(sampleIncident({ at: 3 })))).toMatchObject({
    type: 'RequestRejected',
    nonRetryable: true,
    message: expect.stringMatching(/valid project is required/),
  });
  jira.failNext({ status: 429, body: '', headers: { 'retry-after': '5' } });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({ type: 'TransientError', nextRetryDelay: 5000 });
});
