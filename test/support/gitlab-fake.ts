// A stand-in for the GitLab REST API v4 (no GitLab runs here), speaking its wire format for the endpoints
// the gates read, under /api/v4: GET /projects/:id/repository/commits/:ref, …/commits/:sha/merge_requests,
// …/repository/compare?from=&to=, /projects/:id/pipelines?sha=&order_by=id&sort=desc,
// …/pipelines/:pid/jobs, …/merge_requests/:iid/approvals. As GitLab does: :id is the numeric id or the
// URL-encoded path (group%2Fsub%2Fname); a PRIVATE-TOKEN header or 401 {"message":"401 Unauthorized"};
// 404 {"message":"404 Project Not Found"} for an unknown project, "404 Commit Not Found" for an unknown ref;
// per_page (default 20, ≤ 100) and page with x-page / x-next-page / x-total… and a Link header; a 429
// with Retry-After on demand; 403 insufficient_scope for UNSCOPED_TOKEN. Built on ./http-fake (it records every request). History is linear.
import { startHttpFake, type Answer, type HttpFake, type Recorded } from './http-fake';

export interface FakeJob {
  id: number;
  name: string;
  stage?: string;
  status: 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'manual';
  allow_failure?: boolean;
}

export interface FakePipeline {
  id: number;
  sha: string;
  ref?: string;
  status: 'created' | 'pending' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'manual';
  /** "push", "merge_request_event", "parent_pipeline" (a child pipeline), … */
  source?: string;
  jobs: FakeJob[];
}

export interface FakeMergeRequest {
  iid: number;
  title: string;
  author: string;
  /** the commits it brought onto the default branch */
  commits: string[];
  state: 'merged' | 'opened' | 'closed';
  approvedBy: string[];
}

export interface FakeProject {
  id: number;
  /** shas, oldest first */
  commits: string[];
  /** tags and branches: name → sha */
  refs: Record<string, string>;
  pipelines?: FakePipeline[];
  mergeRequests?: FakeMergeRequest[];
}

export interface GitLabFake {
  /** the API root, e.g. http://127.0.0.1:PORT/api/v4 (providers.gitlab.api_url) */
  url: string;
  token: string;
  /** by path, e.g. shop/web/checkout */
  projects: Record<string, FakeProject>;
  /** "GET /api/v4/…?query" of every request, in order */
  requests(): string[];
  /** the next request is answered 429 with Retry-After: seconds, as GitLab's rate limiter does */
  rateLimitNext(seconds: number): void;
  /** answer lists with the Link header only (no x-next-page), as keyset-paginated endpoints do */
  linkOnly: boolean;
  close(): Promise<void>;
}

const WEB = 'https://gitlab.example.com';
const notFound = (what: string): Answer => ({ status: 404, body: { message: `404 ${what} Not Found` } });

/** A token GitLab knows but without the read_api scope: every call is 403 insufficient_scope. */
export const UNSCOPED_TOKEN = 'glpat-unscoped0123456789';

export async function startGitLabFake(projects: Record<string, FakeProject>, token = 'glpat-fake0123456789abcdef'): Promise<GitLabFake> {
  let base = '';
  const fake = { linkOnly: false } as GitLabFake;

  const page = <T>(req: Recorded, items: T[]): Answer => {
    const perPage = Math.min(Math.max(Number(req.query.get('per_page') ?? 20) || 20, 1), 100);
    const n = Math.max(Number(req.query.get('page') ?? 1) || 1, 1);
    const pages = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (p: number, rel: string) => {
      const q = new URLSearchParams(req.query);
      q.set('page', String(p));
      q.set('per_page', String(perPage));
      return `<${base}${req.path}?${q}>; rel="${rel}"`;
    };
    const links = [...(n > 1 ? [link(n - 1, 'prev')] : []), ...(n < pages ? [link(n + 1, 'next')] : []), link(1, 'first'), link(pages, 'last')];
    const headers: Record<string, string> = { link: links.join(', ') };
    if (!fake.linkOnly) {
      Object.assign(headers, {
        'x-page': String(n),
        'x-per-page': String(perPage),
        'x-total': String(items.length),
        'x-total-pages': String(pages),
        'x-next-page': n < pages ? String(n + 1) : '',
        'x-prev-page': n > 1 ? String(n - 1) : '',
      });
    }
    return { status: 200, body: items.slice((n - 1) * perPage, n * perPage), headers };
  };

  const handle = (req: Recorded): Answer => {
    if (req.method !== 'GET') return { status: 405, body: { message: '405 Method Not Allowed' } };
    const sent = req.headers['private-token'] ?? (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (sent === UNSCOPED_TOKEN) {
      return {
        status: 403,
        body: {
          error: 'insufficient_scope',
          error_description: 'The request requires higher privileges than provided by the access token.',
          scope: 'api read_api',
        },
      };
    }
    if (sent !== token) return { status: 401, body: { message: '401 Unauthorized' } };
    const m = /^\/api\/v4\/projects\/([^/]+)\/(.+)$/.exec(req.path);
    if (!m) return { status: 404, body: { error: '404 Not Found' } };
    const id = decodeURIComponent(m[1]);
    const path = Object.keys(projects).find((p) => p === id || String(projects[p].id) === id);
    if (!path) return notFound('Project');
    const project = projects[path];
    const rest = m[2];
    const shaOf = (ref: string) => project.refs[ref] ?? project.commits.find((c) => c === ref || (ref.length >= 8 && c.startsWith(ref)));
    const web = (p: string) => `${WEB}/${path}/-/${p}`;
    const user = (username: string) => ({ id: username.length, username, name: username, state: 'active', web_url: `${WEB}/${username}` });
    const mrJson = (mr: FakeMergeRequest) => ({
      id: 1000 + mr.iid,
      iid: mr.iid,
      project_id: project.id,
      title: mr.title,
      state: mr.state,
      merged_at: mr.state === 'merged' ? '2026-11-30T10:00:00.000Z' : null,
      author: user(mr.author),
      target_branch: 'main',
      source_branch: `mr-${mr.iid}`,
      merge_commit_sha: mr.state === 'merged' ? mr.commits.at(-1) : null,
      web_url: web(`merge_requests/${mr.iid}`),
    });
    let r: RegExpExecArray | null;
    if ((r = /^repository\/commits\/([^/]+)\/merge_requests$/.exec(rest))) {
      const sha = shaOf(decodeURIComponent(r[1]));
      if (!sha) return notFound('Commit');
      return page(req, (project.mergeRequests ?? []).filter((mr) => mr.commits.includes(sha)).map(mrJson));
    }
    if ((r = /^repository\/commits\/([^/]+)$/.exec(rest))) {
      const sha = shaOf(decodeURIComponent(r[1]));
      if (!sha) return notFound('Commit');
      const i = project.commits.indexOf(sha);
      return {
        status: 200,
        body: {
          id: sha,
          short_id: sha.slice(0, 8),
          title: `commit ${sha.slice(0, 8)}`,
          message: `commit ${sha.slice(0, 8)}`,
          parent_ids: i > 0 ? [project.commits[i - 1]] : [],
          web_url: web(`commit/${sha}`),
        },
      };
    }
    if (rest === 'repository/compare') {
      const [from, to] = [shaOf(req.query.get('from') ?? ''), shaOf(req.query.get('to') ?? '')];
      if (!from || !to) return notFound('Ref');
      const commits = project.commits
        .slice(project.commits.indexOf(from) + 1, project.commits.indexOf(to) + 1)
        .map((sha) => ({ id: sha, short_id: sha.slice(0, 8), title: `commit ${sha.slice(0, 8)}` }));
      return {
        status: 200,
        body: {
          commit: commits.at(-1) ?? null,
          commits,
          diffs: [],
          compare_timeout: false,
          compare_same_ref: from === to,
          web_url: web(`compare/${from}...${to}`),
        },
      };
    }
    if (rest === 'pipelines') {
      const sha = req.query.get('sha');
      const desc = req.query.get('sort') !== 'asc';
      const list = (project.pipelines ?? [])
        .filter((p) => !sha || p.sha === sha)
        .sort((a, b) => (desc ? b.id - a.id : a.id - b.id))
        .map((p) => ({
          id: p.id,
          iid: p.id,
          project_id: project.id,
          sha: p.sha,
          ref: p.ref ?? 'main',
          status: p.status,
          source: p.source ?? 'push',
          web_url: web(`pipelines/${p.id}`),
        }));
      return page(req, list);
    }
    if ((r = /^pipelines\/(\d+)\/jobs$/.exec(rest))) {
      const p = (project.pipelines ?? []).find((x) => x.id === Number(r![1]));
      if (!p) return { status: 404, body: { message: '404 Not found' } };
      const jobs = [...p.jobs]
        .sort((a, b) => b.id - a.id)
        .map((j) => ({
          id: j.id,
          name: j.name,
          stage: j.stage ?? 'test',
          status: j.status,
          allow_failure: j.allow_failure ?? false,
          ref: p.ref ?? 'main',
          web_url: web(`jobs/${j.id}`),
          pipeline: { id: p.id, project_id: project.id, sha: p.sha, ref: p.ref ?? 'main', status: p.status },
        }));
      return page(req, jobs);
    }
    if ((r = /^merge_requests\/(\d+)\/approvals$/.exec(rest))) {
      const mr = (project.mergeRequests ?? []).find((x) => x.iid === Number(r![1]));
      if (!mr) return { status: 404, body: { message: '404 Not found' } };
      return {
        status: 200,
        body: {
          id: 1000 + mr.iid,
          iid: mr.iid,
          project_id: project.id,
          title: mr.title,
          state: mr.state,
          approved: mr.approvedBy.length > 0,
          approvals_required: 1,
          approvals_left: Math.max(1 - mr.approvedBy.length, 0),
          approved_by: mr.approvedBy.map((u) => ({ user: user(u) })),
        },
      };
    }
    return { status: 404, body: { error: '404 Not Found' } };
  };

  const http: HttpFake = await startHttpFake(handle);
  base = http.url;
  Object.assign(fake, {
    url: `${http.url}/api/v4`,
    token,
    projects,
    requests: () => http.requests.map((q) => `${q.method} ${q.path}${[...q.query].length ? `?${q.query}` : ''}`),
    rateLimitNext: (seconds: number) =>
      http.failNext({
        status: 429,
        body: 'Retry later',
        headers: { 'content-type': 'text/plain', 'retry-after': String(seconds), 'ratelimit-limit': '2000', 'ratelimit-remaining': '0' },
      }),
    close: () => http.close(),
  });
  return fake;
}
