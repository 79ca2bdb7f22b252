// Incidents POSTed as JSON to an incident tool's webhook (PagerDuty Events, Opsgenie, a Jira automation…).
// The same incident always carries the same Idempotency-Key, so a retried activity opens one incident.
import type { IncidentInput, IncidentSink } from '../types';

export class WebhookIncidentSink implements IncidentSink {
  readonly name = 'webhook';
  constructor(private readonly url: string, private readonly timeoutMs = 10_000) {}

  async open(incident: IncidentInput): Promise<string> {
    const key = `${incident.releaseId}:${incident.at}`;
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(incident),
      signal: AbortSignal.timeout(this.timeoutMs),
      redirect: 'error',
    });
    if (!res.ok) throw new Error(`incident webhook answered ${res.status} ${res.statusText}`);
    const body = (await res.json().catch(() => ({}))) as { id?: string; url?: string };
    return body.url ?? body.id ?? key;
  }
}
