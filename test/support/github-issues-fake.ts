// A local stand-in for the GitHub REST API's issue endpoints (docs.github.com, API version 2022-11-28):
//   GET  /repos/{owner}/{repo}/issues?state=open&labels=a,b&per_page=N   (issues with every label)
//   POST /repos/{owner}/{repo}/issues {title, body?, labels?}  → 201 {number, html_url, ...}
// Auth `Authorization: Bearer <token>` (or `token <token>`); 401 {message: "Bad credentials",
// documentation_url}; a read-only token gets 403 {message: "Resource not accessible by personal access
// token"} on POST; an unknown repo 404 {message: "Not Found"}; a missing title 422 {message: "Validation
// Failed", errors: [{resource, field, code}]}. An unknown X-GitHub-Api-Version is a 400, as GitHub answers.
import { randomBytes } from 'node:crypto';
import { startHttpFake, type HttpFake } from './http-fake';

export interface GhIssue {
  number: number;
  title: string;
  body: string | null;
  labels: Array<{ name: string }>;
  state: 'open' | 'closed';
  html_url: string;
}

export interface GitHubIssuesFake extends HttpFake {
  repo: string;
  token: string;
  readOnlyToken: string;
  issues: GhIssue[];
}

const DOCS = 'https://docs.github.com/rest/issues/issues';

export async function startGitHubIssuesFake(repo = 'acme/checkout'): Promise<GitHubIssuesFake> {
  const token = `ghp_${randomBytes(18).toString('hex')}`;
  const readOnlyToken = `ghp_${randomBytes(18).toString('hex')}`;
  const issues: GhIssue[] = [];
  const fake = await startHttpFake((r) => {
    const version = r.headers['x-github-api-version'];
    if (version !== undefined && version !== '2022-11-28' && version !== '2026-03-10')
      return { status: 400, body: { message: `Unsupported 'X-GitHub-Api-Version' header value: ${String(version)}`, documentation_url: DOCS } };
    const auth = /^(?:Bearer|token) (.+)$/.exec(String(r.headers.authorization ?? ''))?.[1];
    if (auth !== token && auth !== readOnlyToken) return { status: 401, body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' } };
    const m = /^\/repos\/([^/]+\/[^/]+)\/issues$/.exec(r.path);
    if (!m || m[1] !== repo) return { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
    if (r.method === 'GET') {
      const want = (r.query.get('labels') ?? '').split(',').filter(Boolean);
      const state = r.query.get('state') ?? 'open';
      const perPage = Math.min(Number(r.query.get('per_page') ?? 30), 100);
      const found = issues.filter((i) => (state === 'all' || i.state === state) && want.every((l) => i.labels.some((x) => x.name === l)));
      return { status: 200, body: found.slice().reverse().slice(0, perPage) };
    }
    if (r.method !== 'POST') return { status: 404, body: { message: 'Not Found', documentation_url: DOCS } };
    if (auth === readOnlyToken)
      return { status: 403, body: { message: 'Resource not accessible by personal access token', documentation_url: DOCS, status: '403' } };
    const b = (r.body ?? {}) as { title?: unknown; body?: unknown; labels?: unknown };
    if (typeof b.title !== 'string' || b.title.length === 0)
      return {
        status: 422,
        body: { message: 'Validation Failed', errors: [{ resource: 'Issue', field: 'title', code: 'missing_field' }], documentation_url: DOCS },
      };
    const number = issues.length + 1;
    const issue: GhIssue = {
      number,
      title: b.title,
      body: typeof b.body === 'string' ? b.body : null,
      labels: (Array.isArray(b.labels) ? b.labels : []).map((name) => ({ name: String(name) })),
      state: 'open',
      html_url: `https://github.com/${repo}/issues/${number}`,
    };
    issues.push(issue);
    return { status: 201, body: { id: 1000 + number, ...issue } };
  });
  return { ...fake, repo, token, readOnlyToken, issues };
}
