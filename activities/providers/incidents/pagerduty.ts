// PagerDuty Events API v2: POST https://events.pagerduty.com/v2/enqueue with the integration's routing
// key in the body. `trigger` with a dedup_key per release (a retried activity sends the same key, and
// PagerDuty folds it into the open alert), `resolve` with that key once the rollback has finished.
// Answers: 202 {status, message, dedup_key}; 400 an invalid event; 429 and 5xx retryable.
import type { Incident, IncidentSink } from '../types';
import { callApi, dedupKeyOf, secretFrom } from './http';
import { sectionsOf } from './summary';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
const SYSTEM = 'PagerDuty';

export interface PagerDutyOptions {
  /** env var holding the Events API v2 integration (routing) key */
  routingKeyEnv: string;
  /** default the public Events API; a fake in tests */
  url?: string;
  /** what the alert's severity is */
  severity?: 'critical' | 'error' | 'warning' | 'info';
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export class PagerDutyIncidentSink implements IncidentSink {
  readonly name = 'pagerduty';
  constructor(private readonly opts: PagerDutyOptions) {}

  private async send(event: Record<string, unknown>): Promise<string> {
    const key = secretFrom(this.opts.env ?? process.env, SYSTEM, this.opts.routingKeyEnv, 'providers.incidents.routing_key');
    const r = await callApi<{ status?: string; dedup_key?: string }>({
      system: SYSTEM,
      method: 'POST',
      url: this.opts.url ?? PAGERDUTY_EVENTS_URL,
      body: { routing_key: key, ...event },
      secrets: [key],
      credential: `the routing key in env var ${this.opts.routingKeyEnv}`,
      permission: 'an Events API v2 integration on the service',
      fix: `set ${this.opts.routingKeyEnv} to the Integration Key of an Events API v2 integration`,
      urlSetting: 'providers.incidents.url',
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    });
    return r.body.dedup_key ?? String(event.dedup_key);
  }

  async open(incident: Incident): Promise<string> {
    const s = sectionsOf(incident);
    return this.send({
      event_action: 'trigger',
      dedup_key: dedupKeyOf(incident),
      payload: {
        // PagerDuty cuts summary at 1024 characters
        summary: s.summary.slice(0, 1024),
        source: `${incident.service}${incident.regions?.length ? ` (${incident.regions.join(', ')})` : ''}`,
        severity: this.opts.severity ?? 'critical',
        timestamp: new Date(incident.at).toISOString(),
        component: incident.service,
        group: incident.stage ?? 'release',
        class: incident.manual ? 'manual rollback' : 'release regression',
        custom_details: {
          ...Object.fromEntries(s.facts),
          regressed: s.regressed,
          top_log_signatures: s.signatures,
          hint: s.hint,
          evidence: s.evidence,
        },
      },
      ...(s.links.length ? { links: s.links } : {}),
      client: 'QUAD Production Agent',
      ...(incident.url ? { client_url: incident.url } : {}),
    });
  }

  async resolve(incident: Incident, _ref: string): Promise<void> {
    await this.send({ event_action: 'resolve', dedup_key: dedupKeyOf(incident) });
  }
}
