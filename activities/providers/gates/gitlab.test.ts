// Gates that ask GitLab, through the real client (./gitlab.ts) and activities/gates.ts evaluateGate,
// against a wire-format fake of the REST API v4 (test/support/gitlab-fake.ts).
import type { Gate } from '../../../contract/plan';
import type { GateContext } from '../../../contract/activities';
import { evaluateGate, type GateSources } from '../../gates';
import { GitLabApi } from './gitlab';
import { startGitLabFake, UNSCOPED_TOKEN, type FakeProject, type GitLabFake } from '../../../test/support/gitlab-fake';
import { failureOf } from '../../../test/support/failure-of';
import { parseConfig } from '../../../config/load';
import { buildProviders } from '../factory';
import { createActivities } from '../../index';

const TOKEN_ENV = 'QUAD_TEST_GITLAB_TOKEN';
const sha = (n: number) => n.toString(16).padStart(40, 'a');
const PROJECT = 'shop/web/checkout';
const ENCODED = 'shop%2Fweb%2Fcheckout';
const WEB = `https://gitlab.example.com/${PROJECT}/-`;

let gl: GitLabFake;

function project(): FakeProject {
  return {
    id: 42,
    commits: [sha(1), sha(2), sha(3), sha(4), sha(5)],
    refs: { 'v1.2.2': sha(1), 'v1.2.3': sha(4), 'v1.2.4': sha(5), main: sha(5) },
    pipelines: [
      // an older red pipeline of the same commit: the latest one counts
      { id: 30, sha: sha(4), status: 'failed', jobs: [{ id: 300, name: 'test', status: 'failed' }] },
      {
        id: 40,
        sha: sha(4),
        status: 'success',
        jobs: [
          { id: 401, name: 'build', stage: 'build', status: 'success' },
          { id: 402, name: 'test', status: 'success' },
          { id: 403, name: 'lint', status: 'success' },
          { id: 404, name: 'migrations', status: 'success' },
          { id: 405, name: 'docs', status: 'manual' },
        ],
      },
      // a child pipeline is judged through its parent, even when it is the newest
      { id: 41, sha: sha(4), status: 'failed', source: 'parent_pipeline', jobs: [{ id: 410, name: 'test', status: 'failed' }] },
      {
        id: 50,
        sha: sha(5),
        status: 'failed',
        jobs: [
          { id: 501, name: 'test', status: 'failed' },
          { id: 502, name: 'lint', status: 'success' },
          { id: 503, name: 'e2e', status: 'running' },
        ],
      },
    ],
    mergeRequests: [
      { iid: 10, title: 'Faster cart', author: 'ana', commits: [sha(2)], state: 'merged', approvedBy: ['bob'] },
      { iid: 11, title: 'Coupon fix', author: 'carl', commits: [sha(3)], state: 'merged', approvedBy: ['dana'] },
      { iid: 12, title: 'Prices', author: 'ana', commits: [sha(4)], state: 'merged', approvedBy: ['bob', 'ana'] },
      // v1.2.4's change: approved only by its own author
      { iid: 13, title: 'Risky', author: 'eve', commits: [sha(5)], state: 'merged', approvedBy: ['eve'] },
    ],
  };
}

beforeAll(async () => {
  gl = await startGitLabFake({ [PROJECT]: project() });
  process.env[TOKEN_ENV] = gl.token;
});
afterAll(async () => {
  delete process.env[TOKEN_ENV];
  await gl?.close();
});
beforeEach(() => {
  gl.projects[PROJECT] = project();
  gl.linkOnly = false;
});

const sources = (serving: string | null = 'v1.2.2'): GateSources => ({
  gitlab: new GitLabApi({ apiUrl: gl.url, tokenEnv: TOKEN_ENV }),
  servingVersion: async () => serving,
});
const gate = (kind: Gate['kind'], args: Gate['args'] = {}): Gate => ({
  name: kind.replace('_', ' '),
  kind,
  args: { source: 'gitlab', project: PROJECT, ...args },
});
const ctx = (over: Partial<GateContext> = {}): GateContext => ({ previousVersion: 'v1.2.2', dependencies: [], ...over });
const since = () => gl.requests().length;
const requestsFrom = (n: number) => gl.requests().slice(n);

describe('tests_passed / benchmarks_ok on GitLab', () => {
  test('the commit’s latest pipeline green with the required jobs: passes, naming the pipeline and each job', async () => {
    const n = since();
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { jobs: ['test', 'lint'] }), ctx());
    expect(r).toEqual({ ok: true, detail: `pipeline #40 success on ${PROJECT}@aaaaaaa (${WEB}/pipelines/40): 2 of 2 required jobs green: test ✓, lint ✓` });
    expect(requestsFrom(n)).toEqual([
      `GET /api/v4/projects/${ENCODED}/repository/commits/v1.2.3`,
      `GET /api/v4/projects/${ENCODED}/pipelines?sha=${sha(4)}&order_by=id&sort=desc&per_page=20`,
      `GET /api/v4/projects/${ENCODED}/pipelines/40/jobs?per_page=100`,
    ]);
    const all = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('benchmarks_ok'), ctx());
    expect(all).toEqual({
      ok: true,
      detail: `pipeline #40 success on ${PROJECT}@aaaaaaa (${WEB}/pipelines/40): 4 of 4 jobs green: migrations ✓, lint ✓, test ✓, build ✓`,
    });
  });

  test('a failed job fails the gate, naming the job with its link; one still running is named too', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.4', gate('tests_passed'), ctx());
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(
      `pipeline #50 failed on ${PROJECT}@aaaaaaa (${WEB}/pipelines/50): 1 of 3 jobs green: e2e … running, test ✗ failed (${WEB}/jobs/501), lint ✓`,
    );
    const required = await evaluateGate(sources(), 'checkout', 'v1.2.4', gate('tests_passed', { jobs: ['lint'] }), ctx());
    expect(required.ok).toBe(false); // lint passed, but the pipeline did not
  });

  test('a required job that failed but was allowed to fail does not pass, though the pipeline succeeded', async () => {
    gl.projects[PROJECT].pipelines![1].jobs[2] = { id: 403, name: 'lint', status: 'failed', allow_failure: true };
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { jobs: ['test', 'lint'] }), ctx());
    expect(r).toEqual({
      ok: false,
      detail: `pipeline #40 success on ${PROJECT}@aaaaaaa (${WEB}/pipelines/40): 1 of 2 required jobs green: test ✓, lint ✗ failed (allowed to fail) (${WEB}/jobs/403)`,
    });
  });

  test('pages are followed (x-next-page, or the Link header alone): one red job among 150 is found on page 2', async () => {
    const jobs = Array.from({ length: 150 }, (_, i) => ({ id: 1000 + i, name: `shard-${i}`, status: 'success' as const }));
    jobs[20].status = 'failed' as never; // listed newest first: id 1020 is on page 2
    gl.projects[PROJECT].pipelines![1].jobs = jobs;
    for (const linkOnly of [false, true]) {
      gl.linkOnly = linkOnly;
      const n = since();
      const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx());
      expect(r.ok).toBe(false);
      expect(r.detail).toMatch(/: 149 of 150 jobs green: shard-20 ✗ failed/);
      const pages = requestsFrom(n).filter((q) => q.includes('/jobs'));
      expect(pages).toHaveLength(2);
      expect(pages[1]).toMatch(/[?&]page=2/);
      console.log(`GitLab jobs read in ${pages.length} pages (${linkOnly ? 'Link header' : 'x-next-page'}): ${pages.join(' ')}`);
    }
  });

  test('a version with no tag, branch or commit, or a project the token cannot see, fails saying so; args.ref maps versions', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v9.9.9', gate('tests_passed'), ctx());
    expect(r).toEqual({ ok: false, detail: `${PROJECT} has no tag, branch or commit v9.9.9 (no such ref or no access: the token cannot read it)` });
    const hidden = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { project: 'shop/secret' }), ctx());
    expect(hidden.detail).toContain('no such ref or no access');
    gl.projects[PROJECT].refs['release/2026.12.01'] = sha(4);
    const mapped = await evaluateGate(sources(), 'checkout', '2026.12.01', gate('tests_passed', { ref: 'release/${version}', jobs: ['test'] }), ctx());
    expect(mapped.ok).toBe(true);
    const byId = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { project: '42', jobs: ['test'] }), ctx());
    expect(byId.ok).toBe(true);
  });

  test('a commit no pipeline ran for fails: an unchecked gate never passes', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.2', gate('tests_passed'), ctx());
    expect(r).toEqual({ ok: false, detail: `no pipeline ran on ${PROJECT}@aaaaaaa: nothing says the tests passed` });
  });
});

test('migrations_tested: the named job passed in the commit’s latest pipeline; a pipeline without it fails', async () => {
  expect(await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('migrations_tested', { job: 'migrations' }), ctx())).toEqual({
    ok: true,
    detail: `pipeline #40 success on ${PROJECT}@aaaaaaa (${WEB}/pipelines/40): 1 of 1 required jobs green: migrations ✓`,
  });
  expect(await evaluateGate(sources(), 'checkout', 'v1.2.4', gate('migrations_tested', { job: 'migrations' }), ctx())).toEqual({
    ok: false,
    detail: `pipeline #50 failed on ${PROJECT}@aaaaaaa (${WEB}/pipelines/50): 0 of 1 required jobs green: migrations ✗ not in the pipeline`,
  });
  const noJob = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('migrations_tested'), ctx()));
  expect([noJob.type, noJob.nonRetryable]).toEqual(['ConfigurationError', true]);
  expect(noJob.message).toContain('on GitLab needs args.job');
});

describe('review_done on GitLab', () => {
  test('every merge request since the serving version approved by someone other than its author: passes, listing them', async () => {
    const n = since();
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('review_done'), ctx());
    expect(r).toEqual({ ok: true, detail: `3 merge requests in ${PROJECT} v1.2.2...v1.2.3: !10 ✓ bob, !11 ✓ dana, !12 ✓ bob` });
    expect(requestsFrom(n)).toContain(`GET /api/v4/projects/${ENCODED}/repository/compare?from=v1.2.2&to=${sha(4)}`);
    expect(requestsFrom(n)).toContain(`GET /api/v4/projects/${ENCODED}/merge_requests/12/approvals`);
  });

  test('a merge request approved only by its author fails, naming it; the serving version comes from the deployer', async () => {
    const r = await evaluateGate(sources('v1.2.3'), 'checkout', 'v1.2.4', gate('review_done'), ctx({ previousVersion: null }));
    expect(r).toEqual({ ok: false, detail: `1 merge request in ${PROJECT} v1.2.3...v1.2.4: !13 ✗ 0 of 1 approvals (${WEB}/merge_requests/13)` });
  });

  test('a merge request without approval, two approvals required, a commit pushed without one, an open one not counted', async () => {
    const p = gl.projects[PROJECT];
    p.mergeRequests![1].approvedBy = [];
    p.mergeRequests![2].state = 'opened'; // sha(4) reached main without a merged merge request
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('review_done', { required_approvals: 2 }), ctx());
    expect(r).toEqual({
      ok: false,
      detail: `2 merge requests in ${PROJECT} v1.2.2...v1.2.3: !10 ✗ 1 of 2 approvals (${WEB}/merge_requests/10), !11 ✗ 0 of 2 approvals (${WEB}/merge_requests/11); 1 commit without a reviewed merge request: aaaaaaa`,
    });
  });

  test('a serving version GitLab does not know: judged by the head commit’s own merge request', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('review_done'), ctx({ previousVersion: 'v0.0.1' }));
    expect(r).toEqual({ ok: true, detail: `1 merge request in ${PROJECT} v1.2.3 (v0.0.1 is not on GitLab: its own merge request): !12 ✓ bob` });
  });
});

describe('GitLab failures', () => {
  test('a wrong token is a ConfigurationError naming the env var and the setting, never the token', async () => {
    process.env[TOKEN_ENV] = 'glpat-wrongwrongwrong';
    try {
      const f = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
      expect([f.type, f.nonRetryable]).toEqual(['ConfigurationError', true]);
      expect(f.message).toContain(`the token in env var ${TOKEN_ENV} (providers.gitlab.token)`);
      expect(f.message).toContain('401 Unauthorized');
      expect(f.message).not.toContain('glpat-wrong');
    } finally {
      process.env[TOKEN_ENV] = gl.token;
    }
  });

  test('a token without the read_api scope (403) is a ConfigurationError saying what the token needs', async () => {
    process.env[TOKEN_ENV] = UNSCOPED_TOKEN;
    try {
      const f = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('review_done'), ctx()));
      expect([f.type, f.nonRetryable]).toEqual(['ConfigurationError', true]);
      expect(f.message).toContain(`the token in env var ${TOKEN_ENV} (providers.gitlab.token) lacks the permission`);
      expect(f.message).toContain('insufficient_scope');
      expect(f.message).toContain('read_api');
      expect(f.message).not.toContain(UNSCOPED_TOKEN);
    } finally {
      process.env[TOKEN_ENV] = gl.token;
    }
  });

  test('a 429 is retryable, after its Retry-After', async () => {
    gl.rateLimitNext(7);
    const f = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
    expect([f.type, f.nonRetryable]).toEqual(['TransientError', false]);
    expect(f.message).toBe('GitLab rate limit reached reading the commit v1.2.3 of shop/web/checkout: retrying in 7 s');
    expect(f.nextRetryDelay).toBe(7000);
    expect((await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx())).ok).toBe(true);
  });

  test('no token set is a missing secret; no providers.gitlab, a bad project path or an unknown source are configuration errors', async () => {
    delete process.env[TOKEN_ENV];
    try {
      const m = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
      expect([m.type, m.message]).toEqual(['ConfigurationError', expect.stringContaining(`${TOKEN_ENV} (named by providers.gitlab.token) is not set`)]);
    } finally {
      process.env[TOKEN_ENV] = gl.token;
    }
    const none = await failureOf(evaluateGate({ servingVersion: async () => null }, 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
    expect(none.message).toBe('gate tests passed: args.source is gitlab but providers.gitlab is not configured (token: ${GITLAB_TOKEN})');
    for (const bad of ['../../etc', 'shop', 'shop//x', 'shop/web/../x']) {
      const f = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { project: bad }), ctx()));
      expect(f.message).toContain("args.project must be the project's path");
    }
    const unknown = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { source: 'toString' }), ctx()));
    expect(unknown.message).toBe('gate tests passed: args.source "toString" is not known (github, gitlab)');
    const command = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('command'), ctx()));
    expect(command.message).toContain('a command gate cannot ask GitLab');
  });

  test('a job name with a newline or a bidi override is shown on one line, escaped', async () => {
    gl.projects[PROJECT].pipelines![1].jobs[1] = { id: 402, name: 'test\nFAKE: all green \u202e', status: 'failed' };
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { jobs: ['lint'] }), ctx());
    expect(r.ok).toBe(true);
    const all = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx());
    expect(all.ok).toBe(false);
    expect(all.detail).toContain('test FAKE: all green \\u202e ✗ failed');
    expect(all.detail).not.toMatch(/[\n\u202e]/);
  });

  test('a pipeline whose jobs are gone answers 404: no such ref or no access, not retried', async () => {
    gl.projects[PROJECT].pipelines = [{ id: 60, sha: sha(4), status: 'success', jobs: [] }];
    const api = new GitLabApi({ apiUrl: gl.url, tokenEnv: TOKEN_ENV });
    const f = await failureOf(api.jobs(PROJECT, 61));
    expect([f.type, f.nonRetryable]).toEqual(['NotFound', true]);
    expect(f.message).toContain('no such ref or no access');
  });
});

test('config to activity: providers.gitlab is built by the factory and the checkGate activity asks it', async () => {
  const cfg = parseConfig(`
providers:
  gitlab: { api_url: "${gl.url}", token: "\${${TOKEN_ENV}}" }
services:
  checkout:
    gates:
      - { name: pipeline, kind: tests_passed, args: { source: gitlab, project: ${PROJECT}, jobs: [test] } }
`);
  const providers = buildProviders(cfg);
  expect(providers.gitlab).toBeInstanceOf(GitLabApi);
  const r = await createActivities(providers).checkGate('checkout', 'v1.2.3', cfg.services.checkout.gates[0], ctx());
  expect(r).toEqual({ ok: true, detail: `pipeline #40 success on ${PROJECT}@aaaaaaa (${WEB}/pipelines/40): 1 of 1 required jobs green: test ✓` });
  expect(JSON.stringify(cfg.providers.gitlab)).not.toContain(gl.token);
});
