// providers.incidents → the incident sink, one line per type. Secrets stay env var names here; each sink
// reads the value when it calls out.
import { resolve } from 'node:path';
import type { QuadConfig } from '../../../config/schema';
import type { IncidentSink } from '../types';
import { envNameOf } from '../../../config/env-ref';
import { JsonlIncidentSink } from './jsonl-file';
import { WebhookIncidentSink } from './webhook';
import { PagerDutyIncidentSink } from './pagerduty';
import { OpsgenieIncidentSink } from './opsgenie';
import { GitHubIssueSink } from './github';
import { JiraIssueSink } from './jira';

export function incidentSinkFor(cfg: QuadConfig, root: string, env?: NodeJS.ProcessEnv): IncidentSink {
  const inc = cfg.providers.incidents;
  const e = env ? { env } : {};
  // the schema refused a type without what it needs; `?? ''` only satisfies the types
  switch (inc?.type) {
    case 'webhook':
      // a webhook without a url is refused by the sink itself: never a silent fallback to the file
      return new WebhookIncidentSink(inc.url ?? '', 10_000, { ...(inc.signing_secret ? { signingSecretEnv: envNameOf(inc.signing_secret) } : {}), ...e });
    case 'pagerduty':
      return new PagerDutyIncidentSink({
        routingKeyEnv: envNameOf(inc.routing_key ?? ''),
        ...(inc.url ? { url: inc.url } : {}),
        ...(inc.severity ? { severity: inc.severity } : {}),
        ...e,
      });
    case 'opsgenie':
      return new OpsgenieIncidentSink({
        apiKeyEnv: envNameOf(inc.api_key ?? ''),
        ...(inc.url ? { url: inc.url } : {}),
        ...(inc.priority ? { priority: inc.priority } : {}),
        ...(inc.responders ? { responders: inc.responders } : {}),
        ...e,
      });
    case 'github':
      return new GitHubIssueSink({
        repo: inc.repo ?? '',
        tokenEnv: envNameOf(inc.token ?? ''),
        ...(inc.url ? { url: inc.url } : {}),
        ...(inc.labels ? { labels: inc.labels } : {}),
        ...e,
      });
    case 'jira':
      return new JiraIssueSink({
        url: inc.url ?? '',
        project: inc.project ?? '',
        email: inc.email ?? '',
        tokenEnv: envNameOf(inc.token ?? ''),
        ...(inc.issue_type ? { issueType: inc.issue_type } : {}),
        ...(inc.labels ? { labels: inc.labels } : {}),
        ...e,
      });
    default:
      return new JsonlIncidentSink(resolve(root, inc?.path ?? '.data/incidents.jsonl'));
  }
}
