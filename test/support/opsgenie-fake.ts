// A local stand-in for Opsgenie's Alert API v2, strict about the parts QUAD uses (Opsgenie's REST docs):
//   POST /v2/alerts                                   create: message (required, ≤ 130), alias (≤ 512),
//                                                     description (≤ 15 000), tags, details, priority P1–P5
//   POST /v2/alerts/{identifier}/close?identifierType=alias|id|tiny
// Auth: `Authorization: GenieKey <key>`; 401 {message: "Could not authenticate", took, requestId}; 422
// {message, errors: {field: why}, took, requestId} for an invalid alert; 202 {result: "Request will be
// processed", took, requestId} on success. An alert with the alias of an open one is folded into it
// (its count goes up), as Opsgenie deduplicates; closing an unknown alias is accepted (202) and does
// nothing, since Opsgenie processes it asynchronously.
import { randomUUID } from 'node:crypto';
import { startHttpFake, type Answer, type HttpFake } from './http-fake';

export interface OgAlert {
  alias: string;
  message: string;
  description?: string;
  tags: string[];
  details: Record<string, string>;
  priority: string;
  status: 'open' | 'closed';
  count: number;
  notes: string[];
}

export interface OpsgenieFake extends HttpFake {
  apiKey: string;
  alerts: Map<string, OgAlert>;
}

const ok = (): Answer => ({ status: 202, body: { result: 'Request will be processed', took: 0.01, requestId: randomUUID() } });
const unprocessable = (errors: Record<string, string>): Answer => ({
  status: 422,
  body: { message: 'Request body is not processable. Please check the errors.', errors, took: 0, requestId: randomUUID() },
});

export async function startOpsgenieFake(): Promise<OpsgenieFake> {
  const apiKey = randomUUID();
  const alerts = new Map<string, OgAlert>();
  const fake = await startHttpFake((r) => {
    if (r.headers.authorization !== `GenieKey ${apiKey}`) return { status: 401, body: { message: 'Could not authenticate', took: 0, requestId: randomUUID() } };
    if (r.method !== 'POST') return { status: 405, body: { message: 'Method not allowed', took: 0, requestId: randomUUID() } };
    const b = (r.body ?? {}) as Record<string, any>;
    if (r.path === '/v2/alerts') {
      const errors: Record<string, string> = {};
      if (typeof b.message !== 'string' || b.message.length === 0) errors.message = 'Message can not be empty.';
      else if (b.message.length > 130) errors.message = 'Message can not be longer than 130 characters.';
      if (b.alias !== undefined && (typeof b.alias !== 'string' || b.alias.length > 512)) errors.alias = 'Alias can not be longer than 512 characters.';
      if (b.description !== undefined && String(b.description).length > 15_000) errors.description = 'Description can not be longer than 15000 characters.';
      if (b.priority !== undefined && !/^P[1-5]$/.test(b.priority)) errors.priority = 'Priority should be one of [P1, P2, P3, P4, P5]';
      if (b.details !== undefined && Object.values(b.details as object).some((v) => typeof v !== 'string')) errors.details = 'Details values must be strings.';
      if (Object.keys(errors).length) return unprocessable(errors);
      const alias: string = b.alias ?? randomUUID();
      const open = alerts.get(alias);
      if (open && open.status === 'open') open.count += 1;
      else
        alerts.set(alias, {
          alias,
          message: b.message,
          description: b.description,
          tags: b.tags ?? [],
          details: b.details ?? {},
          priority: b.priority ?? 'P3',
          status: 'open',
          count: 1,
          notes: [],
        });
      return ok();
    }
    const close = /^\/v2\/alerts\/([^/]+)\/close$/.exec(r.path);
    if (close) {
      const type = r.query.get('identifierType') ?? 'id';
      if (!['id', 'alias', 'tiny'].includes(type)) return unprocessable({ identifierType: 'Identifier type should be one of [id, alias, tiny]' });
      const alert = type === 'alias' ? alerts.get(decodeURIComponent(close[1])) : undefined;
      if (alert) {
        alert.status = 'closed';
        if (b.note) alert.notes.push(String(b.note));
      }
      return ok();
    }
    return { status: 404, body: { message: 'Could not find a resource', took: 0, requestId: randomUUID() } };
  });
  return { ...fake, apiKey, alerts };
}
