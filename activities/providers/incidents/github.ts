// GitHub Issues: POST {api}/repos/{owner}/{repo}/issues with `Authorization: Bearer <token>` and
// `X-GitHub-Api-Version: 2022-11-28`, labelled. Dedup: the body carries a marker with the incident's
// key, and before opening, the open issues with the label are listed (listing is immediate; the search
// API lags behind by up to a minute) and one with the marker is returned instead. 401 a bad token, 403 a
// token without Issues: write (or a secondary rate limit, retryable, as is 429), 404 an unknown repo or
// one the token cannot see, 410 issues turned off, 422 an invalid label.
import type { Incident, IncidentSink } from '../types';
import { transientFailure } from '../../failures';
import { callApi, dedupKeyOf, secretFrom, type ApiCall } from './http';
import { renderText, sectionsOf } from './summary';

export const GITHUB_API_URL = 'https://api.github.com';
const SYSTEM = 'GitHub';
const API_VERSION = '2022-11-28';

export interface GitHubIssuesOptions {
  /** owner/name */
  repo: string;
  tokenEnv: string;
  labels?: string[];
  /** https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server */
  url?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

interface Issue {
  number: number;
  html_url: string;
  body?: string | null;
  pull_request?: unknown;
}

const markerOf = (key: string) => `<!-- quad-incident: ${key} -->`;

export class GitHubIssueSink implements IncidentSink {
  readonly name = 'github';
  private readonly base: string;
  private readonly labels: string[];
  constructor(private readonly opts: GitHubIssuesOptions) {
    this.base = (opts.url ?? GITHUB_API_URL).replace(/\/+$/, '');
    this.labels = opts.labels?.length ? opts.labels : ['incident', 'quad'];
  }

  private async call<T>(method: ApiCall['method'], path: string, body?: unknown) {
    const token = secretFrom(this.opts.env ?? process.env, SYSTEM, this.opts.tokenEnv, 'providers.incidents.token');
    try {
      return await callApi<T>({
        system: SYSTEM,
        method,
        url: `${this.base}${path}`,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': API_VERSION,
          'user-agent': 'quad-production-agent',
        },
        ...(body !== undefined ? { body } : {}),
        secrets: [token],
        credential: `the token in env var ${this.opts.tokenEnv}`,
        permission: `Issues: read and write on ${this.opts.repo}`,
        fix: `set ${this.opts.tokenEnv} to a token with Issues: read and write on ${this.opts.repo}`,
        urlSetting: 'providers.incidents.repo',
        ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
      });
    } catch (err) {
      // a 403 with no rate left is GitHub's rate limit, not a missing permission: retry after the reset
      const e = err as { details?: Array<{ status?: number }>; message?: string };
      if (e.details?.[0]?.status === 403 && /rate limit/i.test(e.message ?? ''))
        throw transientFailure(`${e.message} (retrying)`, { system: SYSTEM, status: 403 });
      throw err;
    }
  }

  private async existing(key: string): Promise<Issue | undefined> {
    const q = new URLSearchParams({ state: 'open', labels: this.labels.join(','), per_page: '100' });
    const r = await this.call<Issue[]>('GET', `/repos/${this.opts.repo}/issues?${q}`);
    return (Array.isArray(r.body) ? r.body : []).find((i) => !i.pull_request && (i.body ?? '').includes(markerOf(key)));
  }

  async open(incident: Incident): Promise<string> {
    const key = dedupKeyOf(incident);
    const found = await this.existing(key);
    if (found) return found.html_url;
    const s = sectionsOf(incident);
    const r = await this.call<Issue>('POST', `/repos/${this.opts.repo}/issues`, {
      title: s.title.slice(0, 256),
      // GitHub's body limit is 65 536 characters
      body: `${renderText(incident, true).slice(0, 60_000)}\n\n${markerOf(key)}`,
      labels: this.labels,
    });
    return r.body.html_url;
  }
}
