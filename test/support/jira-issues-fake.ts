// A local stand-in for Jira Cloud's REST API v3 issue endpoints (developer.atlassian.com):
//   POST /rest/api/3/search/jql {jql, fields, maxResults}  → {issues: [{id, key}], isLast}
//        (the JQL this fake reads: project = "KEY" AND labels = "label")
//   POST /rest/api/3/issue {fields: {project: {key}, issuetype: {name}, summary, description (ADF), labels}}
//        → 201 {id, key, self}
// Auth: basic, email:API token; 401 with an empty body, as Jira answers a bad token; an account without
// Create Issues gets 403 {errorMessages: [...], errors: {}}; 400 {errorMessages: [], errors: {field: why}}
// for an unknown project or issue type, a description that is not an ADF doc, a summary over 255, or a
// label with a space.
import { randomBytes } from 'node:crypto';
import { startHttpFake, type Answer, type HttpFake } from './http-fake';

export interface JiraIssue {
  id: string;
  key: string;
  fields: { project: { key: string }; issuetype: { name: string }; summary: string; description: any; labels: string[] };
}

export interface JiraIssuesFake extends HttpFake {
  email: string;
  token: string;
  /** an account that may browse but not create */
  browseOnlyToken: string;
  project: string;
  issues: JiraIssue[];
}

const bad = (errors: Record<string, string>): Answer => ({ status: 400, body: { errorMessages: [], errors } });

export async function startJiraIssuesFake(project = 'OPS'): Promise<JiraIssuesFake> {
  const email = 'quad-bot@example.com';
  const token = `ATATT${randomBytes(16).toString('hex')}`;
  const browseOnlyToken = `ATATT${randomBytes(16).toString('hex')}`;
  const issues: JiraIssue[] = [];
  const basic = (t: string) => `Basic ${Buffer.from(`${email}:${t}`).toString('base64')}`;
  const fake = await startHttpFake((r) => {
    const auth = r.headers.authorization;
    if (auth !== basic(token) && auth !== basic(browseOnlyToken)) return { status: 401, body: '' };
    if (r.method !== 'POST') return { status: 405, body: { errorMessages: ['Method Not Allowed'], errors: {} } };
    const b = (r.body ?? {}) as Record<string, any>;
    if (r.path === '/rest/api/3/search/jql') {
      const m = /^project = "([^"]+)" AND labels = "([^"]+)"$/.exec(String(b.jql ?? ''));
      if (!m) return { status: 400, body: { errorMessages: [`Error in the JQL Query: ${String(b.jql)}`], errors: {} } };
      const found = issues.filter((i) => i.fields.project.key === m[1] && i.fields.labels.includes(m[2]));
      return { status: 200, body: { issues: found.slice(0, b.maxResults ?? 50).map((i) => ({ id: i.id, key: i.key })), isLast: true } };
    }
    if (r.path !== '/rest/api/3/issue') return { status: 404, body: { errorMessages: ['Not found'], errors: {} } };
    if (auth === basic(browseOnlyToken))
      return { status: 403, body: { errorMessages: ['You do not have permission to create issues in this project.'], errors: {} } };
    const f = (b.fields ?? {}) as Record<string, any>;
    const errors: Record<string, string> = {};
    if (f.project?.key !== project) errors.project = 'valid project is required';
    if (!['Bug', 'Task', 'Incident'].includes(f.issuetype?.name)) errors.issuetype = 'Specify an issue type';
    if (typeof f.summary !== 'string' || f.summary.length === 0) errors.summary = 'You must specify a summary of the issue.';
    else if (f.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    const d = f.description;
    if (d !== undefined && (d?.type !== 'doc' || d?.version !== 1 || !Array.isArray(d?.content)))
      errors.description = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
    if (f.labels !== undefined && (!Array.isArray(f.labels) || f.labels.some((l: unknown) => typeof l !== 'string' || /\s/.test(l))))
      errors.labels = 'The label must not contain spaces.';
    if (Object.keys(errors).length) return bad(errors);
    const n = issues.length + 1;
    const issue: JiraIssue = { id: String(10000 + n), key: `${project}-${n}`, fields: { ...f, labels: f.labels ?? [] } as JiraIssue['fields'] };
    issues.push(issue);
    return { status: 201, body: { id: issue.id, key: issue.key, self: `${fake.url}/rest/api/3/issue/${issue.id}` } };
  });
  return { ...fake, email, token, browseOnlyToken, project, issues };
}
