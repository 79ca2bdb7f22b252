// Jira Cloud issues: POST {site}/rest/api/3/issue with basic auth (account email : API token) and the
// description in Atlassian Document Format. Dedup: a label derived from the incident's key, looked up
// with JQL (POST /rest/api/3/search/jql) before creating. 400 carries {errorMessages, errors} (a wrong
// project key or issue type, a field the screen lacks): non-retryable, with Jira's words; 401 a bad
// email/token, 403 no Create Issues permission, 429 and 5xx retryable.
import { createHash } from 'node:crypto';
import type { Incident, IncidentSink } from '../types';
import { callApi, dedupKeyOf, secretFrom, type ApiCall } from './http';
import { sectionsOf } from './summary';

const SYSTEM = 'Jira';

export interface JiraIssuesOptions {
  /** https://your-site.atlassian.net */
  url: string;
  project: string;
  issueType?: string;
  email: string;
  tokenEnv: string;
  labels?: string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

type AdfNode = Record<string, unknown>;
const text = (t: string, marks?: AdfNode[]): AdfNode => ({ type: 'text', text: t, ...(marks ? { marks } : {}) });
const para = (...content: AdfNode[]): AdfNode => ({ type: 'paragraph', content });
const heading = (t: string): AdfNode => ({ type: 'heading', attrs: { level: 3 }, content: [text(t)] });
const bullets = (items: AdfNode[][]): AdfNode => ({ type: 'bulletList', content: items.map((c) => ({ type: 'listItem', content: [para(...c)] })) });

/** The incident as an ADF document (Jira Cloud's v3 description format). */
export function adfOf(incident: Incident): AdfNode {
  const s = sectionsOf(incident);
  return {
    type: 'doc',
    version: 1,
    content: [
      bullets(s.facts.map(([k, v]) => [text(`${k}: `, [{ type: 'strong' }]), text(v)])),
      heading('What regressed'),
      bullets((s.regressed.length ? s.regressed : [s.evidence]).map((l) => [text(l)])),
      heading('Top log signatures (canary vs baseline)'),
      bullets(s.signatures.map((l) => [text(l.replace(/`/g, ''), [{ type: 'code' }])])),
      heading('Hint'),
      para(text(s.hint)),
      ...(s.links.length ? [heading('Links'), bullets(s.links.map((l) => [text(l.text, [{ type: 'link', attrs: { href: l.href } }])]))] : []),
    ],
  };
}

export class JiraIssueSink implements IncidentSink {
  readonly name = 'jira';
  private readonly base: string;
  constructor(private readonly opts: JiraIssuesOptions) {
    this.base = opts.url.replace(/\/+$/, '');
  }

  private async call<T>(method: ApiCall['method'], path: string, body: unknown) {
    const token = secretFrom(this.opts.env ?? process.env, SYSTEM, this.opts.tokenEnv, 'providers.incidents.token');
    const basic = Buffer.from(`${this.opts.email}:${token}`).toString('base64');
    return callApi<T>({
      system: SYSTEM,
      method,
      url: `${this.base}${path}`,
      headers: { authorization: `Basic ${basic}` },
      body,
      secrets: [token, basic],
      credential: `the API token in env var ${this.opts.tokenEnv} for ${this.opts.email}`,
      permission: `Browse Projects and Create Issues in project ${this.opts.project}`,
      fix: `set ${this.opts.tokenEnv} to an API token of ${this.opts.email} (id.atlassian.com → Security → API tokens)`,
      urlSetting: 'providers.incidents.url',
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    });
  }

  async open(incident: Incident): Promise<string> {
    // Jira labels hold no spaces or colons: a short hash of the key
    const dedup = `quad-incident-${createHash('sha256').update(dedupKeyOf(incident)).digest('hex').slice(0, 16)}`;
    const found = await this.call<{ issues?: Array<{ key: string }> }>('POST', '/rest/api/3/search/jql', {
      jql: `project = "${this.opts.project}" AND labels = "${dedup}"`,
      fields: ['key'],
      maxResults: 1,
    });
    const key = found.body.issues?.[0]?.key;
    if (key) return `${this.base}/browse/${key}`;
    const s = sectionsOf(incident);
    const created = await this.call<{ key: string }>('POST', '/rest/api/3/issue', {
      fields: {
        project: { key: this.opts.project },
        issuetype: { name: this.opts.issueType ?? 'Bug' },
        // Jira's summary holds at most 255 characters
        summary: s.title.slice(0, 255),
        description: adfOf(incident),
        labels: [...(this.opts.labels ?? ['quad']), dedup],
      },
    });
    return `${this.base}/browse/${created.body.key}`;
  }
}
