// A stand-in for the GitHub REST API (no GitHub runs here), speaking its wire format for the endpoints the
// gates read: GET /repos/{o}/{r}/commits/{ref}, …/commits/{sha}/check-runs, …/commits/{ref}/status,
// …/compare/{base}...{head}, …/commits/{sha}/pulls, …/pulls/{n}/reviews. As GitHub does: a Bearer token
// or 401 {"message":"Bad credentials"}; 404 {"message":"Not Found"} for an unknown repository or compare;
// 422 "No commit found for SHA" for an unknown ref; per_page (≤ 100) and page with a Link header; a rate
// limit (403 with x-ratelimit-remaining: 0 and x-ratelimit-reset) when `rateLimitAfter` requests were made.
// History is linear: `commits` in order, a tag names one of them.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCheckRun {
  id: number;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;
}

export interface FakePull {
  number: number;
  title: string;
  author: string;
  /** the commits it brought in (merge, squash or rebase: the commits on the default branch) */
  commits: string[];
  merged: boolean;
  labels?: string[];
  reviews: Array<{ by: string; state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' }>;
}

export interface FakeRepo {
  /** shas, oldest first */
  commits: string[];
  tags: Record<string, string>;
  checkRuns?: Record<string, FakeCheckRun[]>;
  statuses?: Record<string, Array<{ context: string; state: 'success' | 'pending' | 'failure' | 'error' }>>;
  pulls?: FakePull[];
}

export interface GitHubFake {
  url: string;
  token: string;
  repos: Record<string, FakeRepo>;
  /** "GET /repos/…?query" of every request, in order */
  requests: string[];
  /** after this many more requests, answer the rate limit (403, remaining 0) until reset() */
  rateLimitAfter: number | null;
  close(): Promise<void>;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-api-version-selected': '2022-11-28', ...headers });
  res.end(JSON.stringify(body));
};

export async function startGitHubFake(repos: Record<string, FakeRepo>, token = 'ghp_fake0123456789abcdefTOKEN'): Promise<GitHubFake> {
  const fake: GitHubFake = { url: '', token, repos, requests: [], rateLimitAfter: null, close: async () => undefined };
  let base = '';

  const page = <T>(req: IncomingMessage, res: ServerResponse, path: string, items: T[], wrap: (slice: T[]) => unknown) => {
    const q = new URL(req.url!, base).searchParams;
    const perPage = Math.min(Math.max(Number(q.get('per_page') ?? 30) || 30, 1), 100);
    const n = Math.max(Number(q.get('page') ?? 1) || 1, 1);
    const slice = items.slice((n - 1) * perPage, n * perPage);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (p: number, rel: string) => `<${base}${path}?per_page=${perPage}&page=${p}>; rel="${rel}"`;
    const links = [...(n < last ? [link(n + 1, 'next'), link(last, 'last')] : []), ...(n > 1 ? [link(1, 'first'), link(n - 1, 'prev')] : [])];
    json(res, 200, wrap(slice), links.length ? { link: links.join(', ') } : {});
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    fake.requests.push(`${req.method} ${req.url}`);
    if (req.method !== 'GET') return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    if (req.headers.authorization !== `Bearer ${token}`) {
      return json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    }
    if (fake.rateLimitAfter !== null && fake.rateLimitAfter-- <= 0) {
      fake.rateLimitAfter = 0;
      const reset = Math.ceil(Date.now() / 1000) + 2;
      return json(
        res,
        403,
        { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
        { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset), 'x-ratelimit-resource': 'core' },
      );
    }
    const path = new URL(req.url!, base).pathname;
    const m = /^\/repos\/([^/]+\/[^/]+)\/(.+)$/.exec(path);
    const repo = m && repos[decodeURIComponent(m[1])];
    if (!m || !repo) return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
    const rest = m[2];
    const shaOf = (ref: string) => repo.tags[ref] ?? repo.commits.find((c) => c === ref || (ref.length >= 7 && c.startsWith(ref)));
    const html = (p: string) => `https://github.com/${m[1]}/${p}`;
    const pullJson = (p: FakePull) => ({
      number: p.number,
      title: p.title,
      html_url: html(`pull/${p.number}`),
      state: 'closed',
      merged_at: p.merged ? '2026-11-30T10:00:00Z' : null,
      labels: (p.labels ?? []).map((name) => ({ name })),
      user: { login: p.author },
    });
    let r: RegExpExecArray | null;
    if ((r = /^commits\/([^/]+)\/check-runs$/.exec(rest))) {
      const sha = shaOf(decodeURIComponent(r[1]));
      if (!sha) return json(res, 422, { message: `No commit found for SHA: ${r[1]}`, documentation_url: 'https://docs.github.com/rest' });
      const runs = (repo.checkRuns?.[sha] ?? []).map((c) => ({ ...c, head_sha: sha, html_url: html(`runs/${c.id}`), app: { slug: 'github-actions' } }));
      return page(req, res, path, runs, (slice) => ({ total_count: runs.length, check_runs: slice }));
    }
    if ((r = /^commits\/([^/]+)\/status$/.exec(rest))) {
      const sha = shaOf(decodeURIComponent(r[1]));
      if (!sha) return json(res, 422, { message: `No commit found for SHA: ${r[1]}`, documentation_url: 'https://docs.github.com/rest' });
      const statuses = (repo.statuses?.[sha] ?? []).map((s) => ({ ...s, target_url: html(`status/${s.context}`) }));
      const state = statuses.some((s) => s.state === 'failure' || s.state === 'error')
        ? 'failure'
        : statuses.every((s) => s.state === 'success')
          ? 'success'
          : 'pending';
      return page(req, res, path, statuses, (slice) => ({ state, sha, total_count: statuses.length, statuses: slice }));
    }
    if ((r = /^commits\/([^/]+)\/pulls$/.exec(rest))) {
      const sha = shaOf(decodeURIComponent(r[1]));
      if (!sha) return json(res, 422, { message: `No commit found for SHA: ${r[1]}`, documentation_url: 'https://docs.github.com/rest' });
      return page(req, res, path, (repo.pulls ?? []).filter((p) => p.commits.includes(sha)).map(pullJson), (slice) => slice);
    }
    if ((r = /^commits\/([^/]+)$/.exec(rest))) {
      const sha = shaOf(decodeURIComponent(r[1]));
      if (!sha) return json(res, 422, { message: `No commit found for SHA: ${decodeURIComponent(r[1])}`, documentation_url: 'https://docs.github.com/rest' });
      return json(res, 200, { sha, html_url: html(`commit/${sha}`), commit: { message: `commit ${sha.slice(0, 7)}` } });
    }
    if ((r = /^compare\/(.+)\.\.\.(.+)$/.exec(rest))) {
      const [a, b] = [shaOf(decodeURIComponent(r[1])), shaOf(decodeURIComponent(r[2]))];
      if (!a || !b)
        return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/commits/commits#compare-two-commits', status: '404' });
      const between = repo.commits
        .slice(repo.commits.indexOf(a) + 1, repo.commits.indexOf(b) + 1)
        .map((sha) => ({ sha, commit: { message: `commit ${sha.slice(0, 7)}` } }));
      return page(req, res, path, between, (slice) => ({
        status: 'ahead',
        ahead_by: between.length,
        behind_by: 0,
        total_commits: between.length,
        commits: slice,
      }));
    }
    if ((r = /^pulls\/(\d+)\/reviews$/.exec(rest))) {
      const p = (repo.pulls ?? []).find((x) => x.number === Number(r![1]));
      if (!p) return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
      const reviews = p.reviews.map((v, i) => ({
        id: i + 1,
        user: { login: v.by },
        state: v.state,
        submitted_at: `2026-11-30T09:${String(i).padStart(2, '0')}:00Z`,
      }));
      return page(req, res, path, reviews, (slice) => slice);
    }
    return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      json(res, 500, { message: `fake: ${(err as Error).message}` });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = base;
  fake.close = () => new Promise<void>((r) => server.close(() => r()));
  return fake;
}
