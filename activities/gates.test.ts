// Gates that ask GitHub, through the real client (providers/gates/github.ts) against a wire-format fake of
// the REST API (test/support/github-fake.ts), and the rollback plan judged against the plan itself.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Gate } from '../contract/plan';
import type { GateContext } from '../contract/activities';
import { evaluateGate, isMigration, type GateSources } from './gates';
import { GitHubApi } from './providers/gates/github';
import { startGitHubFake, type FakeRepo, type GitHubFake } from '../test/support/github-fake';
import { failureOf } from '../test/support/failure-of';

const TOKEN_ENV = 'QUAD_TEST_GITHUB_TOKEN';
const sha = (n: number) => n.toString(16).padStart(40, 'a');
const REPO = 'shop/checkout';

let gh: GitHubFake;
let runbook: Server;
let runbookUrl: string;

function repo(): FakeRepo {
  return {
    commits: [sha(1), sha(2), sha(3), sha(4), sha(5)],
    tags: { 'v1.2.2': sha(1), 'v1.2.3': sha(4), 'v1.2.4': sha(5) },
    checkRuns: {
      // test failed once and was re-run green: the newest run counts
      [sha(4)]: [
        { id: 1, name: 'test', status: 'completed', conclusion: 'failure' },
        { id: 2, name: 'lint', status: 'completed', conclusion: 'success' },
        { id: 3, name: 'test', status: 'completed', conclusion: 'success' },
        { id: 4, name: 'migrations', status: 'completed', conclusion: 'success' },
        { id: 5, name: 'docs', status: 'completed', conclusion: 'skipped' },
      ],
      [sha(5)]: [
        { id: 6, name: 'test', status: 'completed', conclusion: 'failure' },
        { id: 7, name: 'lint', status: 'in_progress', conclusion: null },
      ],
    },
    statuses: { [sha(4)]: [{ context: 'bench/p95', state: 'success' }], [sha(5)]: [{ context: 'bench/p95', state: 'failure' }] },
    pulls: [
      { number: 10, title: 'Faster cart', author: 'ana', commits: [sha(2)], merged: true, reviews: [{ by: 'bob', state: 'APPROVED' }] },
      {
        number: 11,
        title: 'Coupon fix',
        author: 'carl',
        commits: [sha(3)],
        merged: true,
        reviews: [
          { by: 'dana', state: 'CHANGES_REQUESTED' },
          { by: 'dana', state: 'APPROVED' },
        ],
      },
      { number: 12, title: 'Prices', author: 'ana', commits: [sha(4)], merged: true, reviews: [{ by: 'bob', state: 'APPROVED' }] },
      // v1.2.4's commit: approved only by its own author, and a stale approval dismissed
      {
        number: 13,
        title: 'Risky',
        author: 'eve',
        commits: [sha(5)],
        merged: true,
        reviews: [
          { by: 'eve', state: 'APPROVED' },
          { by: 'bob', state: 'APPROVED' },
          { by: 'bob', state: 'DISMISSED' },
        ],
      },
    ],
  };
}

beforeAll(async () => {
  gh = await startGitHubFake({ [REPO]: repo() });
  process.env[TOKEN_ENV] = gh.token;
  runbook = createServer((req, res) => {
    res.writeHead(req.url === '/runbooks/checkout' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/runbooks/checkout' ? 'how to roll checkout back' : 'not found');
  });
  await new Promise<void>((r) => runbook.listen(0, '127.0.0.1', () => r()));
  runbookUrl = `http://127.0.0.1:${(runbook.address() as AddressInfo).port}`;
});
afterAll(async () => {
  delete process.env[TOKEN_ENV];
  await gh?.close();
  await new Promise<void>((r) => runbook?.close(() => r()));
});
beforeEach(() => {
  gh.repos[REPO] = repo();
  gh.rateLimitAfter = null;
  gh.requests.length = 0;
});

const sources = (serving: string | null = 'v1.2.2'): GateSources => ({
  github: new GitHubApi({ apiUrl: gh.url, tokenEnv: TOKEN_ENV }),
  servingVersion: async () => serving,
});
const gate = (kind: Gate['kind'], args: Gate['args'] = {}): Gate => ({ name: kind.replace('_', ' '), kind, args: { source: 'github', repo: REPO, ...args } });
const ctx = (over: Partial<GateContext> = {}): GateContext => ({ previousVersion: 'v1.2.2', dependencies: [], ...over });

describe('tests_passed / benchmarks_ok on GitHub', () => {
  test('the required checks green on the version’s commit (a re-run counts, the newest run wins): passes, naming each', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { checks: ['test', 'lint', 'bench/p95'] }), ctx());
    expect(r).toEqual({ ok: true, detail: `3 of 3 required checks green on ${REPO}@aaaaaaa: test ✓, lint ✓, bench/p95 ✓` });
    expect(gh.requests[0]).toBe('GET /repos/shop/checkout/commits/v1.2.3');
  });

  test('a red check and one still running fail the gate with the evidence and a link', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.4', gate('tests_passed', { checks: ['test', 'lint'] }), ctx());
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(`0 of 2 required checks green on ${REPO}@aaaaaaa: test ✗ failure (https://github.com/${REPO}/runs/6), lint … in_progress`);
  });

  test('a required check nobody reported fails: not reported', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { checks: ['test', 'e2e'] }), ctx());
    expect(r).toEqual({ ok: false, detail: `1 of 2 required checks green on ${REPO}@aaaaaaa: test ✓, e2e ✗ not reported` });
  });

  test('without a list, every reported check must be green (skipped ones aside), and a failing commit status counts', async () => {
    const green = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('benchmarks_ok'), ctx());
    expect(green.ok).toBe(true);
    expect(green.detail).toMatch(/^4 of 4 checks green/);
    const red = await evaluateGate(sources(), 'checkout', 'v1.2.4', gate('benchmarks_ok'), ctx());
    expect(red.ok).toBe(false);
    expect(red.detail).toContain(`bench/p95 ✗ failure (https://github.com/${REPO}/status/bench/p95)`);
  });

  test('a commit with nothing reported fails: an unchecked gate never passes', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.2', gate('tests_passed'), ctx());
    expect(r).toEqual({ ok: false, detail: `no check run or commit status reported on ${REPO}@aaaaaaa: nothing says the tests passed` });
  });

  test('pages are followed: one red run among 150 green is found on page 2', async () => {
    const runs = Array.from({ length: 150 }, (_, i) => ({ id: 100 + i, name: `shard-${i}`, status: 'completed' as const, conclusion: 'success' as const }));
    runs[120].conclusion = 'failure' as never;
    gh.repos[REPO].checkRuns![sha(4)] = runs;
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx());
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^150 of 151 checks green .*shard-120 ✗ failure/);
    expect(gh.requests.filter((q) => q.includes('/check-runs'))).toEqual([
      `GET /repos/${REPO}/commits/${sha(4)}/check-runs?per_page=100`,
      `GET /repos/${REPO}/commits/${sha(4)}/check-runs?per_page=100&page=2`,
    ]);
  });

  test('a version with no tag, branch or commit on GitHub fails, saying so; args.ref maps versions to tags', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v9.9.9', gate('tests_passed'), ctx());
    expect(r).toEqual({ ok: false, detail: `${REPO} has no tag, branch or commit v9.9.9 (or the token cannot read it)` });
    gh.repos[REPO].tags['release-2026.12.01'] = sha(4);
    const mapped = await evaluateGate(sources(), 'checkout', '2026.12.01', gate('tests_passed', { ref: 'release-${version}', checks: ['test'] }), ctx());
    expect(mapped.ok).toBe(true);
  });
});

test('migrations_tested: the named CI job passed on the version’s commit', async () => {
  expect(await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('migrations_tested', { job: 'migrations' }), ctx())).toEqual({
    ok: true,
    detail: `1 of 1 required checks green on ${REPO}@aaaaaaa: migrations ✓`,
  });
  const missing = await evaluateGate(sources(), 'checkout', 'v1.2.4', gate('migrations_tested', { job: 'migrations' }), ctx());
  expect(missing).toEqual({ ok: false, detail: `0 of 1 required checks green on ${REPO}@aaaaaaa: migrations ✗ not reported` });
  const noJob = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('migrations_tested'), ctx()));
  expect([noJob.type, noJob.nonRetryable]).toEqual(['ConfigurationError', true]);
});

describe('review_done on GitHub', () => {
  test('every pull request since the serving version approved by someone else, changes re-approved: passes, listing them', async () => {
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('review_done'), ctx());
    expect(r).toEqual({ ok: true, detail: `3 pull requests in ${REPO} v1.2.2...v1.2.3: #10 ✓ bob, #11 ✓ dana, #12 ✓ bob` });
    expect(gh.requests).toContain(`GET /repos/${REPO}/compare/v1.2.2...${sha(4)}?per_page=100`);
  });

  test('a pull request approved only by its author (another approval dismissed) fails; the serving version comes from the deployer', async () => {
    const r = await evaluateGate(sources('v1.2.3'), 'checkout', 'v1.2.4', gate('review_done'), ctx({ previousVersion: null }));
    expect(r).toEqual({ ok: false, detail: `1 pull request in ${REPO} v1.2.3...v1.2.4: #13 ✗ 0 of 1 approvals (https://github.com/${REPO}/pull/13)` });
  });

  test('changes requested still standing, two approvals required, and a commit pushed without a pull request', async () => {
    const repoNow = gh.repos[REPO];
    repoNow.pulls![1].reviews = [{ by: 'dana', state: 'CHANGES_REQUESTED' }];
    repoNow.pulls!.splice(2, 1); // sha(4) now came in without a pull request
    const r = await evaluateGate(sources(), 'checkout', 'v1.2.3', gate('review_done', { required_approvals: 2 }), ctx());
    expect(r.ok).toBe(false);
    expect(r.detail).toBe(
      `2 pull requests in ${REPO} v1.2.2...v1.2.3: #10 ✗ 1 of 2 approvals (https://github.com/${REPO}/pull/10), #11 ✗ changes requested by dana (https://github.com/${REPO}/pull/11); 1 commit without a reviewed pull request: aaaaaaa`,
    );
  });
});

describe('GitHub failures', () => {
  test('a wrong token is a ConfigurationError naming the env var, never the token', async () => {
    process.env[TOKEN_ENV] = 'ghp_wrongwrongwrongwrong';
    try {
      const f = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
      expect([f.type, f.nonRetryable]).toEqual(['ConfigurationError', true]);
      expect(f.message).toContain(`the token in env var ${TOKEN_ENV}`);
      expect(f.message).toContain('Bad credentials');
      expect(f.message).not.toContain('ghp_wrong');
    } finally {
      process.env[TOKEN_ENV] = gh.token;
    }
  });

  test('the rate limit is retryable, after its reset', async () => {
    gh.rateLimitAfter = 1;
    const f = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
    expect([f.type, f.nonRetryable]).toEqual(['TransientError', false]);
    expect(f.message).toMatch(/rate limit reached reading the check runs/);
    expect(f.nextRetryDelay).toBeDefined();
  });

  test('an unknown repository is a non-retryable error; no token set is a missing secret; no providers.github is a configuration error', async () => {
    const f = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { repo: 'shop/nope' }), ctx()));
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('GET /repos/shop/nope/commits/v1.2.3');
    delete process.env[TOKEN_ENV];
    try {
      const m = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
      expect(m.message).toContain(TOKEN_ENV);
    } finally {
      process.env[TOKEN_ENV] = gh.token;
    }
    const none = await failureOf(evaluateGate({ servingVersion: async () => null }, 'checkout', 'v1.2.3', gate('tests_passed'), ctx()));
    expect(none.message).toContain('providers.github is not configured');
    const badRepo = await failureOf(evaluateGate(sources(), 'checkout', 'v1.2.3', gate('tests_passed', { repo: '../../etc' }), ctx()));
    expect(badRepo.message).toContain('args.repo must be owner/name');
  });
});

describe('rollback_plan', () => {
  const plan: Gate = { name: 'rollback plan', kind: 'rollback_plan' };
  const migrate = { name: 'db migration', kind: 'command' as const, args: { command: ['./migrate.sh', 'up'] } };
  const warm = { name: 'cache warm-up', kind: 'webhook' as const, args: { url: 'https://ops.internal/warm' } };

  test('a migration without a down-migration fails, naming it; with one it passes; a cache warm-up needs none', async () => {
    const missing = await evaluateGate(sources(), 'checkout', 'v1.2.3', plan, ctx({ dependencies: [migrate, warm] }));
    expect(missing).toEqual({
      ok: false,
      detail: 'no way back for db migration: declare an undo (the down-migration) on it, or args.runbook_url for a documented rollback',
    });
    const declared = await evaluateGate(
      sources(),
      'checkout',
      'v1.2.3',
      plan,
      ctx({ dependencies: [{ ...migrate, undo: { kind: 'command', args: { command: ['./migrate.sh', 'down'] } } }, warm] }),
    );
    expect(declared).toEqual({ ok: true, detail: 'down-migrations declared for db migration; traffic and flags return to the previous version by themselves' });
    expect(await evaluateGate(sources(), 'checkout', 'v1.2.3', plan, ctx())).toEqual({
      ok: true,
      detail: 'no migrations in the plan; traffic and flags return to the previous version by themselves',
    });
  });

  test('a runbook that answers 200 covers it; one that does not fails the gate', async () => {
    const ok = await evaluateGate(
      sources(),
      'checkout',
      'v1.2.3',
      { ...plan, args: { runbook_url: `${runbookUrl}/runbooks/checkout` } },
      ctx({ dependencies: [migrate] }),
    );
    expect(ok.ok).toBe(true);
    expect(ok.detail).toContain('answers 200 (it covers db migration, which declare no undo)');
    const gone = await evaluateGate(sources(), 'checkout', 'v1.2.3', { ...plan, args: { runbook_url: `${runbookUrl}/runbooks/gone` } }, ctx());
    expect(gone).toEqual({ ok: false, detail: `the runbook ${runbookUrl}/runbooks/gone answers 404, not 200` });
  });

  test('what counts as a migration: the name, the command, or args.migration', () => {
    expect(isMigration(migrate)).toBe(true);
    expect(isMigration({ name: 'schema', kind: 'command', args: { command: ['bin/rails', 'db:migrate'] } })).toBe(true);
    expect(isMigration({ name: 'schema', kind: 'webhook', args: { url: 'https://x', migration: true } })).toBe(true);
    expect(isMigration({ name: 'migrate search index', kind: 'webhook', args: { migration: false } })).toBe(false);
    expect(isMigration(warm)).toBe(false);
  });
});
