// The GitHub Issues sink against a wire-format fake of the REST API (test/support/github-issues-fake).
import { failureOf } from '../../../test/support/failure-of';
import { startGitHubIssuesFake, type GitHubIssuesFake } from '../../../test/support/github-issues-fake';
import { JWT_TEMPLATE, sampleIncident } from '../../../test/support/incident-fixture';
import { GitHubIssueSink } from './github';

let gh: GitHubIssuesFake;
beforeAll(async () => {
  gh = await startGitHubIssuesFake('acme/checkout');
});
afterAll(() => gh.close());

const sink = (token = gh.token, repo = 'acme/checkout') => new GitHubIssueSink({ repo, tokenEnv: 'GH_TOKEN', url: gh.url, env: { GH_TOKEN: token } });

test('an issue with Bearer auth, the API version, labels and a Markdown body; the same incident again returns the open issue', async () => {
  const incident = sampleIncident();
  const url = await sink().open(incident);
  expect(url).toBe('https://github.com/acme/checkout/issues/1');
  expect(await sink().open(incident)).toBe(url);
  expect(gh.issues).toHaveLength(1);
  const post = gh.requests.find((r) => r.method === 'POST')!;
  expect(post.headers).toMatchObject({ authorization: `Bearer ${gh.token}`, 'x-github-api-version': '2022-11-28', accept: 'application/vnd.github+json' });
  const issue = gh.issues[0];
  expect(issue.labels.map((l) => l.name)).toEqual(['incident', 'quad']);
  expect(issue.body).toContain(`- \`${JWT_TEMPLATE}\` — 412 on canary, 0 on baseline`);
  expect(issue.body).toContain('- **stage**: canary 5 %');
  expect(issue.body).toContain(`[Release in the Temporal Web UI](${incident.url})`);
  // a different release opens its own
  expect(await sink().open(sampleIncident({ releaseId: 'release-checkout-v1.2.5-bad' }))).toBe('https://github.com/acme/checkout/issues/2');
});

test('401, a read-only token’s 403 and an unknown repo’s 404 are ConfigurationErrors without the token; a rate-limit 403 and 5xx are retried', async () => {
  const bad = await failureOf(sink('ghp_wrongwrongwrong').open(sampleIncident()));
  expect(bad).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { status: 401 } });
  expect(bad.message).not.toContain('ghp_wrongwrongwrong');
  const ro = await failureOf(sink(gh.readOnlyToken).open(sampleIncident({ at: 1 })));
  expect(ro).toMatchObject({
    type: 'ConfigurationError',
    details: { status: 403 },
    message: expect.stringMatching(/Issues: read and write on acme\/checkout/),
  });
  expect(await failureOf(sink(gh.token, 'acme/nope').open(sampleIncident()))).toMatchObject({ type: 'ConfigurationError', details: { status: 404 } });
  gh.failNext({ status: 403, body: { message: 'API rate limit exceeded for user ID 1.' }, headers: { 'x-ratelimit-remaining': '0' } });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({ type: 'TransientError', nonRetryable: false });
  gh.failNext({ status: 502, body: { message: 'Server Error' } });
  expect(await failureOf(sink().open(sampleIncident()))).toMatchObject({ type: 'TransientError' });
});
