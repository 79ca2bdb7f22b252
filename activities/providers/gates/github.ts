// The GitHub REST API, read-only, for the gates that ask it: a version's commit (tag, branch or SHA
// resolved through the API), its check runs and commit statuses, the pull requests between two versions
// (the compare API, then each commit's pull requests) and their reviews. Plain fetch: five GET
// endpoints, Link-header pagination and the repo's own failure mapping (../../failures) are all it needs.
// The token is read from its env var per request (never stored in config, a plan or a message).
// Failures: 401 and a 403 that is not a rate limit are ConfigurationErrors (the token); a rate limit
// (403 with x-ratelimit-remaining: 0, or 429) and 5xx are retryable, after the reset or Retry-After.
import { configurationError, httpFailure, missingSecret, networkFailure, retryAfterMs, transientFailure } from '../../failures';
import { broughtIn } from './brought-in';

const SYSTEM = 'GitHub';
const API_VERSION = '2022-11-28';
/** pages read at most per list: 1,000 check runs or commits is already more than a gate should judge */
const MAX_PAGES = 10;

export interface GitHubOptions {
  /** https://api.github.com, or a GitHub Enterprise Server's https://host/api/v3 */
  apiUrl?: string;
  /** env var holding the token (fine-grained: Checks, Commit statuses, Contents, Pull requests: read) */
  tokenEnv: string;
  timeoutMs?: number;
}

export interface CheckRun {
  name: string;
  status: string;
  conclusion: string | null;
  html_url?: string;
}

export interface CommitStatus {
  context: string;
  state: 'success' | 'pending' | 'failure' | 'error';
  target_url?: string | null;
}

export interface PullRequest {
  number: number;
  title: string;
  html_url: string;
  merged_at: string | null;
  labels: Array<{ name: string }>;
  user: { login: string } | null;
}

export interface Review {
  user: { login: string } | null;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED' | 'PENDING';
  submitted_at?: string;
}

const REPO = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

export function checkRepo(repo: unknown, where: string): string {
  if (typeof repo !== 'string' || !REPO.test(repo))
    throw configurationError(`${where}: args.repo must be owner/name, e.g. shop/checkout, got ${JSON.stringify(repo)}`);
  return repo;
}

export class GitHubApi {
  private readonly base: string;
  constructor(private readonly opts: GitHubOptions) {
    this.base = (opts.apiUrl ?? 'https://api.github.com').replace(/\/+$/, '');
  }

  /** The commit a tag, branch or SHA names; null when the repository has none of that name (422). A 404 is the repository itself. */
  async commitOf(repo: string, ref: string): Promise<{ sha: string; html_url: string } | null> {
    const r = await this.get<{ sha: string; html_url: string }>(`/repos/${repo}/commits/${encodeURIComponent(ref)}`, `the commit ${ref} of ${repo}`, {
      missing: [422],
    });
    return r ? { sha: r.body.sha, html_url: r.body.html_url } : null;
  }

  async checkRuns(repo: string, sha: string): Promise<CheckRun[]> {
    return this.pages<CheckRun, { check_runs: CheckRun[] }>(
      `/repos/${repo}/commits/${sha}/check-runs`,
      `the check runs of ${repo}@${sha.slice(0, 7)}`,
      (b) => b.check_runs,
    );
  }

  async statuses(repo: string, sha: string): Promise<CommitStatus[]> {
    return this.pages<CommitStatus, { statuses: CommitStatus[] }>(
      `/repos/${repo}/commits/${sha}/status`,
      `the commit statuses of ${repo}@${sha.slice(0, 7)}`,
      (b) => b.statuses,
    );
  }

  /** Commits in head that base lacks (the compare API, oldest first); null when base is unknown to GitHub. */
  async commitsBetween(repo: string, base: string, head: string): Promise<string[] | null> {
    const path = `/repos/${repo}/compare/${encodeURIComponent(base)}...${encodeURIComponent(head)}`;
    const first = await this.get<{ commits: Array<{ sha: string }> }>(`${path}?per_page=100`, `the compare ${base}...${head} of ${repo}`, { missing: [404] });
    if (!first) return null;
    const out = first.body.commits.map((c) => c.sha);
    let next = nextLink(first.link);
    for (let page = 2; next && page <= MAX_PAGES; page++) {
      const r = await this.get<{ commits: Array<{ sha: string }> }>(next, `the compare ${base}...${head} of ${repo}`);
      out.push(...r!.body.commits.map((c) => c.sha));
      next = nextLink(r!.link);
    }
    return out;
  }

  /**
   * What a release brings: the commits since `baseRef` (its last `maxCommits`; only the head's own when
   * there is no base or GitHub does not know it), the merged pull requests they came in through (by
   * number), and the commits that came in without one. The review gate and the release's changes read it.
   */
  async mergedPullsBetween(
    repo: string,
    baseRef: string | null,
    headSha: string,
    maxCommits = 250,
  ): Promise<{ between: string[] | null; commits: string[]; pulls: PullRequest[]; direct: string[] }> {
    const between = baseRef ? await this.commitsBetween(repo, baseRef, headSha) : null;
    const commits = (between ?? [headSha]).slice(-maxCommits);
    const { requests: pulls, direct } = await broughtIn(
      commits,
      (sha) => this.pullsOf(repo, sha),
      (p) => Boolean(p.merged_at),
      (p) => p.number,
    );
    return { between, commits, pulls, direct };
  }

  async pullsOf(repo: string, sha: string): Promise<PullRequest[]> {
    return this.pages<PullRequest, PullRequest[]>(`/repos/${repo}/commits/${sha}/pulls`, `the pull requests of ${repo}@${sha.slice(0, 7)}`, (b) => b);
  }

  async reviews(repo: string, pull: number): Promise<Review[]> {
    return this.pages<Review, Review[]>(`/repos/${repo}/pulls/${pull}/reviews`, `the reviews of ${repo}#${pull}`, (b) => b);
  }

  private async pages<T, B>(path: string, what: string, items: (body: B) => T[]): Promise<T[]> {
    const out: T[] = [];
    let next: string | null = `${path}?per_page=100`;
    for (let page = 1; next && page <= MAX_PAGES; page++) {
      const r: { body: B; link: string | null } | null = await this.get<B>(next, what);
      out.push(...items(r!.body));
      next = nextLink(r!.link);
    }
    return out;
  }

  /** GET path (or a full next-page URL GitHub gave us, on the same origin only). */
  private async get<B>(pathOrUrl: string, what: string, opts: { missing?: number[] } = {}): Promise<{ body: B; link: string | null } | null> {
    const token = process.env[this.opts.tokenEnv];
    if (!token) throw missingSecret(SYSTEM, this.opts.tokenEnv, 'providers.github.token');
    const url = pathOrUrl.startsWith('/') ? this.base + pathOrUrl : pathOrUrl;
    if (!url.startsWith(`${this.base}/`)) throw transientFailure(`${SYSTEM}: a next-page link left ${this.base}: ${new URL(url).origin}; not followed`);
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${token}`,
          'x-github-api-version': API_VERSION,
          'user-agent': 'quad-production-agent',
        },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'follow',
      });
      text = await res.text();
    } catch (err) {
      throw networkFailure(SYSTEM, `GET ${new URL(url).pathname}`, err, { timeoutMs, secrets: [token] });
    }
    if (res.ok) {
      try {
        return { body: JSON.parse(text) as B, link: res.headers.get('link') };
      } catch {
        throw transientFailure(`${SYSTEM} ${what}: HTTP ${res.status} with a body that is not JSON`);
      }
    }
    if (opts.missing?.includes(res.status)) return null;
    const rateLimited = res.status === 429 || (res.status === 403 && res.headers.get('x-ratelimit-remaining') === '0');
    if (rateLimited) {
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      const waitMs = retryAfterMs(res.headers.get('retry-after')) ?? (Number.isFinite(reset) && reset > 0 ? Math.max(reset * 1000 - Date.now(), 1000) : 60_000);
      throw transientFailure(
        `${SYSTEM} rate limit reached reading ${what}: retrying in ${Math.ceil(waitMs / 1000)} s`,
        { system: SYSTEM, status: res.status },
        waitMs,
      );
    }
    throw httpFailure(SYSTEM, res.status, text, {
      what: `GET ${new URL(url).pathname} (${what})`,
      credential: `the token in env var ${this.opts.tokenEnv}`,
      permission: 'read access to checks, commit statuses, contents and pull requests of the repository',
      urlSetting: 'providers.github.api_url and the gate args.repo',
      secrets: [token],
    });
  }
}

/** The rel="next" URL of a Link header, if any. */
export function nextLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return null;
}
