// The GitLab REST API (v4), read-only, for the gates that ask it: a version's commit (tag, branch or SHA),
// the commit's latest pipeline and its jobs, the merge requests between two versions (the compare API,
// then each commit's merge requests) and their approvals. Plain fetch, as for GitHub (./github.ts).
// The token (PRIVATE-TOKEN header) is read from its env var per request, never stored or logged.
// Failures: 401/403 are ConfigurationErrors naming the token; a 404 means no such project or ref, or
// no access (GitLab answers 404, not 403, for a project the token cannot see); 429 and 5xx are
// retryable, after Retry-After.
import {
  FailureType,
  httpFailure,
  missingSecret,
  networkFailure,
  nonRetryableFailure,
  retryAfterMs,
  transientFailure,
  configurationError,
} from '../../failures';
import { broughtIn } from './brought-in';
import { nextLink } from './github';

const SYSTEM = 'GitLab';
export const GITLAB_API_URL = 'https://gitlab.com/api/v4';
/** pages read at most per list: 1,000 jobs or merge requests is already more than a gate should judge */
const MAX_PAGES = 10;
/** pipelines of one commit read to find its latest own one (child pipelines aside) */
const PIPELINES_PER_COMMIT = 20;

export interface GitLabOptions {
  /** https://gitlab.com/api/v4, or a self-managed https://host/api/v4 */
  apiUrl?: string;
  /** env var holding the token (scope read_api, Reporter on the project) */
  tokenEnv: string;
  timeoutMs?: number;
}

export interface Pipeline {
  id: number;
  sha: string;
  ref: string;
  status: string;
  source?: string;
  web_url: string;
}

export interface Job {
  id: number;
  name: string;
  stage?: string;
  status: string;
  allow_failure?: boolean;
  web_url?: string;
}

export interface MergeRequest {
  iid: number;
  title: string;
  state: string;
  web_url: string;
  author: { username: string } | null;
}

export interface Approvals {
  approved_by: Array<{ user: { username: string } | null }>;
}

/** A project by path (group/sub/name) or numeric id; each path segment as GitLab allows it. */
const PROJECT = /^(\d{1,12}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}(\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}){1,20})$/;

export function checkProject(project: unknown, where: string): string {
  if (typeof project !== 'string' || project.length > 255 || !PROJECT.test(project))
    throw configurationError(`${where}: args.project must be the project's path, e.g. shop/web/checkout (or its numeric id), got ${JSON.stringify(project)}`);
  return project;
}

export class GitLabApi {
  private readonly base: string;
  constructor(private readonly opts: GitLabOptions) {
    this.base = (opts.apiUrl ?? GITLAB_API_URL).replace(/\/+$/, '');
  }

  /** `/projects/group%2Fsub%2Fname`: GitLab wants the whole path as one encoded segment. */
  private static project(project: string): string {
    return `/projects/${encodeURIComponent(project)}`;
  }

  /** The commit a tag, branch or SHA names; null on a 404 (no such ref, no such project, or no access). */
  async commitOf(project: string, ref: string): Promise<{ sha: string; web_url: string } | null> {
    const r = await this.get<{ id: string; web_url: string }>(
      `${GitLabApi.project(project)}/repository/commits/${encodeURIComponent(ref)}`,
      `the commit ${ref} of ${project}`,
      { missing: true },
    );
    if (!r) return null;
    // the sha goes into the next paths: a commit id, or nothing
    if (typeof r.body.id !== 'string' || !/^[0-9a-f]{40,64}$/.test(r.body.id))
      throw transientFailure(`${SYSTEM} the commit ${ref} of ${project}: no commit id in the answer`);
    return { sha: r.body.id, web_url: r.body.web_url };
  }

  /** The newest pipeline run for the commit itself; a child pipeline is judged through its parent. */
  async latestPipeline(project: string, sha: string): Promise<Pipeline | null> {
    const r = await this.get<Pipeline[]>(
      `${GitLabApi.project(project)}/pipelines?sha=${sha}&order_by=id&sort=desc&per_page=${PIPELINES_PER_COMMIT}`,
      `the pipelines of ${project}@${sha.slice(0, 7)}`,
    );
    return r!.body.find((p) => p.source !== 'parent_pipeline') ?? null;
  }

  /** The pipeline's jobs (GitLab leaves retried ones out: each name's latest run). */
  async jobs(project: string, pipelineId: number): Promise<Job[]> {
    return this.pages<Job>(`${GitLabApi.project(project)}/pipelines/${pipelineId}/jobs`, `the jobs of pipeline ${pipelineId} of ${project}`);
  }

  /** Commits in `to` that `from` lacks, oldest first; null when GitLab knows no such ref. */
  async commitsBetween(project: string, from: string, to: string): Promise<string[] | null> {
    const q = `from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
    const r = await this.get<{ commits: Array<{ id: string }> }>(
      `${GitLabApi.project(project)}/repository/compare?${q}`,
      `the compare ${from}...${to} of ${project}`,
      {
        missing: true,
      },
    );
    return r ? r.body.commits.map((c) => c.id) : null;
  }

  /** As GitHubApi.mergedPullsBetween: the commits since `baseRef`, the merged MRs they came through, the rest. */
  async mergedRequestsBetween(
    project: string,
    baseRef: string | null,
    headSha: string,
    maxCommits = 250,
  ): Promise<{ between: string[] | null; commits: string[]; requests: MergeRequest[]; direct: string[] }> {
    const between = baseRef ? await this.commitsBetween(project, baseRef, headSha) : null;
    const commits = (between ?? [headSha]).slice(-maxCommits);
    const { requests, direct } = await broughtIn(
      commits,
      (sha) => this.mergeRequestsOf(project, sha),
      (mr) => mr.state === 'merged',
      (mr) => mr.iid,
    );
    return { between, commits, requests, direct };
  }

  async mergeRequestsOf(project: string, sha: string): Promise<MergeRequest[]> {
    return this.pages<MergeRequest>(
      `${GitLabApi.project(project)}/repository/commits/${sha}/merge_requests`,
      `the merge requests of ${project}@${sha.slice(0, 7)}`,
    );
  }

  /** Who approved the merge request (its author left out: approving your own change is no review). */
  async approvers(project: string, mr: MergeRequest): Promise<string[]> {
    const r = await this.get<Approvals>(`${GitLabApi.project(project)}/merge_requests/${mr.iid}/approvals`, `the approvals of ${project}!${mr.iid}`);
    const names = r!.body.approved_by.map((a) => a.user?.username).filter((u): u is string => Boolean(u) && u !== mr.author?.username);
    return [...new Set(names)];
  }

  /** Every page of a list: x-next-page (GitLab's own), else the Link header's rel="next". */
  private async pages<T>(path: string, what: string): Promise<T[]> {
    const out: T[] = [];
    const sep = path.includes('?') ? '&' : '?';
    let next: string | null = `${path}${sep}per_page=100`;
    for (let page = 1; next && page <= MAX_PAGES; page++) {
      const r: { body: T[]; headers: Headers } | null = await this.get<T[]>(next, what);
      out.push(...r!.body);
      const nextPage = r!.headers.get('x-next-page');
      next = nextPage && /^\d+$/.test(nextPage) ? `${path}${sep}per_page=100&page=${nextPage}` : nextLink(r!.headers.get('link'));
    }
    return out;
  }

  /** GET path (or a full next-page URL GitLab gave us, on the same origin only). */
  private async get<B>(pathOrUrl: string, what: string, opts: { missing?: boolean } = {}): Promise<{ body: B; headers: Headers } | null> {
    const token = process.env[this.opts.tokenEnv];
    if (!token) throw missingSecret(SYSTEM, this.opts.tokenEnv, 'providers.gitlab.token');
    const url = pathOrUrl.startsWith('/') ? this.base + pathOrUrl : pathOrUrl;
    if (!url.startsWith(`${this.base}/`)) throw transientFailure(`${SYSTEM}: a next-page link left ${this.base}: ${new URL(url).origin}; not followed`);
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const doing = `GET ${new URL(url).pathname}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', 'private-token': token, 'user-agent': 'quad-production-agent' },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'follow',
      });
      text = await res.text();
    } catch (err) {
      throw networkFailure(SYSTEM, doing, err, { timeoutMs, secrets: [token] });
    }
    if (res.ok) {
      try {
        return { body: JSON.parse(text) as B, headers: res.headers };
      } catch {
        throw transientFailure(`${SYSTEM} ${what}: HTTP ${res.status} with a body that is not JSON`);
      }
    }
    if (res.status === 404) {
      if (opts.missing) return null;
      throw nonRetryableFailure(
        FailureType.NotFound,
        `${SYSTEM}: no such ref or no access: ${doing} (${what}) answered 404; check the gate's args.project and that the token in env var ${this.opts.tokenEnv} can read it`,
        { system: SYSTEM, status: 404 },
      );
    }
    if (res.status === 429) {
      const reset = Number(res.headers.get('ratelimit-reset'));
      const waitMs = retryAfterMs(res.headers.get('retry-after')) ?? (Number.isFinite(reset) && reset > 0 ? Math.max(reset * 1000 - Date.now(), 1000) : 60_000);
      throw transientFailure(
        `${SYSTEM} rate limit reached reading ${what}: retrying in ${Math.ceil(waitMs / 1000)} s`,
        { system: SYSTEM, status: 429 },
        waitMs,
      );
    }
    throw httpFailure(SYSTEM, res.status, text, {
      what: `${doing} (${what})`,
      credential: `the token in env var ${this.opts.tokenEnv} (providers.gitlab.token)`,
      permission: 'the read_api scope and at least the Reporter role on the project',
      urlSetting: 'providers.gitlab.api_url and the gate args.project',
      secrets: [token],
      ...(res.headers.has('retry-after') ? { retryAfterMs: retryAfterMs(res.headers.get('retry-after')) } : {}),
    });
  }
}
