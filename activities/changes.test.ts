// The release's changes through the real GitHub client against the wire-format fake: the compare API,
// each commit's pull requests, sorted by label.
import { releaseChanges, summarize } from './changes';
import { GitHubApi } from './providers/gates/github';
import { startGitHubFake, type GitHubFake } from '../test/support/github-fake';
import { failureOf } from '../test/support/failure-of';

const TOKEN_ENV = 'QUAD_TEST_CHANGES_TOKEN';
const sha = (n: number) => n.toString(16).padStart(40, 'b');
const REPO = 'shop/checkout';
const source = { repo: REPO, featureLabels: ['feature', 'enhancement'], fixLabels: ['bug'] };
let gh: GitHubFake;
let api: GitHubApi;

beforeAll(async () => {
  gh = await startGitHubFake({
    [REPO]: {
      commits: [sha(1), sha(2), sha(3), sha(4), sha(5), sha(6)],
      tags: { 'v1.2.2': sha(1), 'v1.2.3': sha(6) },
      pulls: [
        { number: 10, title: 'Faster cart', author: 'ana', commits: [sha(2)], merged: true, labels: ['Feature'], reviews: [] },
        { number: 11, title: 'Coupon rounding', author: 'carl', commits: [sha(3)], merged: true, labels: ['bug'], reviews: [] },
        { number: 12, title: 'Gift cards', author: 'ana', commits: [sha(4)], merged: true, labels: ['enhancement', 'ui'], reviews: [] },
        { number: 13, title: 'Bump deps', author: 'bot', commits: [sha(5)], merged: true, reviews: [] },
        { number: 14, title: 'Abandoned', author: 'eve', commits: [sha(6)], merged: false, reviews: [] },
      ],
    },
  });
  process.env[TOKEN_ENV] = gh.token;
  api = new GitHubApi({ apiUrl: gh.url, tokenEnv: TOKEN_ENV });
});
afterAll(() => gh?.close());

test('between the serving version and this one: features, fixes and the rest by label, a commit without a merged pull request counted, the compare link', async () => {
  const c = await releaseChanges(api, source, 'checkout', 'v1.2.3', 'v1.2.2');
  expect(c).toEqual({
    summary: '2 features, 1 bug fix, 1 other change, 1 commit without a pull request',
    features: 2,
    fixes: 1,
    other: 1,
    direct: 1,
    items: [
      { kind: 'feature', number: 10, title: 'Faster cart', url: `https://github.com/${REPO}/pull/10` },
      { kind: 'fix', number: 11, title: 'Coupon rounding', url: `https://github.com/${REPO}/pull/11` },
      { kind: 'feature', number: 12, title: 'Gift cards', url: `https://github.com/${REPO}/pull/12` },
      { kind: 'other', number: 13, title: 'Bump deps', url: `https://github.com/${REPO}/pull/13` },
    ],
    url: `https://github.com/${REPO}/compare/v1.2.2...v1.2.3`,
  });
  expect(gh.requests).toContain(`GET /repos/${REPO}/compare/v1.2.2...${sha(6)}?per_page=100`);
});

test('a first release (no serving version) lists its own commit; a version GitHub does not know says so', async () => {
  expect((await releaseChanges(api, source, 'checkout', 'v1.2.3', null)).summary).toBe('1 commit without a pull request');
  expect((await releaseChanges(api, source, 'checkout', 'v9.9.9', 'v1.2.2')).summary).toBe(`${REPO} has no v9.9.9`);
});

test('without providers.github it is a configuration error; the summary words', async () => {
  const f = await failureOf(releaseChanges(undefined, source, 'checkout', 'v1.2.3', 'v1.2.2'));
  expect([f.type, f.nonRetryable]).toEqual(['ConfigurationError', true]);
  expect(summarize({ features: 1, fixes: 2, other: 0, direct: 0 })).toBe('1 feature, 2 bug fixes');
  expect(summarize({ features: 0, fixes: 0, other: 0, direct: 0 })).toBe('no changes');
});
