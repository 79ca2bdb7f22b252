// Opsgenie alerts: POST {api}/v2/alerts with `Authorization: GenieKey <key>`; the alias is the dedup key
// (Opsgenie folds an alert with the alias of an open one into it, so a retry opens none), and closing
// is POST /v2/alerts/{alias}/close?identifierType=alias once the rollback has finished. Both answer 202
// {result, took, requestId}: the request is processed asynchronously. 401/403 are a key problem, 422 an
// invalid alert, 429 and 5xx retryable.
import type { Incident, IncidentSink } from '../types';
import { callApi, dedupKeyOf, secretFrom } from './http';
import { renderText, sectionsOf } from './summary';

export const OPSGENIE_API_URL = 'https://api.opsgenie.com';
const SYSTEM = 'Opsgenie';

export interface OpsgenieOptions {
  /** env var holding an API integration's key */
  apiKeyEnv: string;
  /** https://api.opsgenie.com, or https://api.eu.opsgenie.com for the EU instance */
  url?: string;
  priority?: 'P1' | 'P2' | 'P3' | 'P4' | 'P5';
  /** e.g. [{type: 'team', name: 'payments'}] */
  responders?: Array<{ type: 'team' | 'user' | 'escalation' | 'schedule'; name: string }>;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export class OpsgenieIncidentSink implements IncidentSink {
  readonly name = 'opsgenie';
  private readonly base: string;
  constructor(private readonly opts: OpsgenieOptions) {
    this.base = (opts.url ?? OPSGENIE_API_URL).replace(/\/+$/, '');
  }

  private async post(path: string, body: unknown): Promise<void> {
    const key = secretFrom(this.opts.env ?? process.env, SYSTEM, this.opts.apiKeyEnv, 'providers.incidents.api_key');
    await callApi({
      system: SYSTEM,
      method: 'POST',
      url: `${this.base}${path}`,
      headers: { authorization: `GenieKey ${key}` },
      body,
      secrets: [key],
      credential: `the API key in env var ${this.opts.apiKeyEnv}`,
      permission: 'an API integration with Create and Update Access',
      fix: `set ${this.opts.apiKeyEnv} to the key of an Opsgenie API integration`,
      urlSetting: 'providers.incidents.url',
      ...(this.opts.timeoutMs ? { timeoutMs: this.opts.timeoutMs } : {}),
    });
  }

  async open(incident: Incident): Promise<string> {
    const s = sectionsOf(incident);
    const alias = dedupKeyOf(incident);
    await this.post('/v2/alerts', {
      // Opsgenie's limits: message 130, alias 512, description 15 000, tag 50 characters
      message: s.title.slice(0, 130),
      alias,
      description: renderText(incident, false).slice(0, 15_000),
      ...(this.opts.responders?.length ? { responders: this.opts.responders } : {}),
      tags: ['quad', incident.service, incident.manual ? 'manual-rollback' : 'auto-rollback'].map((t) => t.slice(0, 50)),
      details: Object.fromEntries(
        [...s.facts, ['top log signature', s.signatures[0]], ...(incident.url ? [['web ui', incident.url]] : [])].map(([k, v]) => [
          k,
          String(v).slice(0, 8000),
        ]),
      ),
      entity: incident.service,
      source: 'QUAD Production Agent',
      priority: this.opts.priority ?? 'P1',
    });
    return alias;
  }

  async resolve(incident: Incident, _ref: string): Promise<void> {
    const alias = encodeURIComponent(dedupKeyOf(incident));
    await this.post(`/v2/alerts/${alias}/close?identifierType=alias`, {
      source: 'QUAD Production Agent',
      note: `rollback finished: traffic back on ${incident.previousVersion ?? 'the previous version'}`,
    });
  }
}
