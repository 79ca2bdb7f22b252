// A local stand-in for PagerDuty's Events API v2 (POST /v2/enqueue), strict about its wire format as
// PagerDuty documents it: JSON body with routing_key (a 32-character integration key), event_action
// trigger | acknowledge | resolve, dedup_key (≤ 255), and for a trigger payload.summary (≤ 1024),
// payload.source, payload.severity critical | error | warning | info. 202 {status: "success", message:
// "Event processed", dedup_key}; 400 {status: "invalid event", message: "Event object is invalid",
// errors: [...]}; 404 elsewhere. A trigger with the dedup_key of an open alert folds into it (one
// alert); resolve closes it. failNext() answers 429 / 5xx like the real service under load.
import { randomBytes } from 'node:crypto';
import { startHttpFake, type Answer, type HttpFake } from './http-fake';

export interface PdAlert {
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  /** every event PagerDuty accepted for it, in order */
  events: Array<Record<string, any>>;
}

export interface PagerDutyFake extends HttpFake {
  /** the key of the one integration the fake knows */
  routingKey: string;
  /** the enqueue URL */
  enqueueUrl: string;
  alerts: Map<string, PdAlert>;
}

const SEVERITIES = new Set(['critical', 'error', 'warning', 'info']);
const invalid = (errors: string[]): Answer => ({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } });

export async function startPagerDutyFake(): Promise<PagerDutyFake> {
  const routingKey = randomBytes(16).toString('hex');
  const alerts = new Map<string, PdAlert>();
  const fake = await startHttpFake((r) => {
    if (r.path !== '/v2/enqueue') return { status: 404, body: { status: 'Not found', message: 'Not found' } };
    if (r.method !== 'POST') return { status: 405, body: { status: 'Method not allowed', message: 'Method not allowed' } };
    if (!String(r.headers['content-type']).startsWith('application/json') || typeof r.body !== 'object' || r.body === null)
      return invalid(['Event object must be JSON']);
    const e = r.body as Record<string, any>;
    const errors: string[] = [];
    if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
    else if (e.routing_key !== routingKey) errors.push('Invalid routing key');
    if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action)) errors.push("'event_action' is missing or invalid");
    if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255))
      errors.push("'dedup_key' must be a string of at most 255 characters");
    if (e.event_action !== 'trigger' && !e.dedup_key) errors.push("'dedup_key' is required for acknowledge and resolve");
    if (e.event_action === 'trigger') {
      const p = e.payload as Record<string, any> | undefined;
      if (!p || typeof p.summary !== 'string' || p.summary.length === 0) errors.push("'payload.summary' is missing");
      else if (p.summary.length > 1024) errors.push("'payload.summary' is longer than 1024 characters");
      if (!p || typeof p.source !== 'string' || p.source.length === 0) errors.push("'payload.source' is missing");
      if (!p || !SEVERITIES.has(p.severity)) errors.push("'payload.severity' must be one of critical, error, warning, info");
    }
    if (errors.length) return invalid(errors);
    const dedupKey: string = e.dedup_key ?? randomBytes(16).toString('hex');
    let alert = alerts.get(dedupKey);
    if (e.event_action === 'trigger') {
      // an open alert with this key takes the event; a resolved one is replaced by a new alert
      if (!alert || alert.status === 'resolved') alerts.set(dedupKey, (alert = { dedupKey, status: 'triggered', events: [] }));
    } else if (alert && alert.status !== 'resolved') {
      alert.status = e.event_action === 'resolve' ? 'resolved' : 'acknowledged';
    }
    alert?.events.push(e);
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  });
  return { ...fake, routingKey, enqueueUrl: `${fake.url}/v2/enqueue`, alerts };
}
