// One JSON call to an incident tool's API, its failures classified once for every sink
// (../../failures): 401/403 and a redirect are ConfigurationErrors naming the setting to fix, 408/429/
// 5xx and the network retryable (after Retry-After), any other 4xx a rejected request. The secrets the
// call carries (token, routing key) are cut out of every message.
import { configurationError, httpFailure, networkFailure, retryAfterMs, missingSecret } from '../../failures';

export interface ApiCall {
  /** e.g. "PagerDuty" */
  system: string;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** the secrets this call carries: never in a message */
  secrets: Array<string | undefined>;
  /** for 401/403: the credential as a person knows it, e.g. "the routing key in env var PD_ROUTING_KEY" */
  credential: string;
  /** for 403: what it needs */
  permission: string;
  /** what to change, e.g. "set providers.incidents.routing_key to an Events API v2 integration key" */
  fix: string;
  /** the setting holding the URL, for a 404 */
  urlSetting: string;
  /** statuses that mean "retry" beyond the usual (none by default) */
  retryable?: number[];
  timeoutMs?: number;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function callApi<T = unknown>(call: ApiCall): Promise<ApiAnswer<T>> {
  const u = new URL(call.url);
  const what = `${call.method} ${u.origin}${u.pathname}`;
  const timeoutMs = call.timeoutMs ?? 10_000;
  let res: Response;
  let text: string;
  try {
    res = await fetch(call.url, {
      method: call.method,
      headers: { accept: 'application/json', ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}), ...call.headers },
      ...(call.body !== undefined ? { body: typeof call.body === 'string' ? call.body : JSON.stringify(call.body) } : {}),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    text = await res.text();
  } catch (err) {
    throw networkFailure(call.system, what, err, { timeoutMs, secrets: call.secrets });
  }
  if (res.status >= 300 && res.status < 400) {
    throw configurationError(`${call.system} ${what}: HTTP ${res.status} redirect, not followed: set ${call.urlSetting} to the address it points to`, {
      system: call.system,
      status: res.status,
    });
  }
  if (!res.ok) {
    const retryAfter = retryAfterMs(res.headers.get('retry-after'));
    throw httpFailure(call.system, res.status, text, {
      what,
      credential: call.credential,
      permission: call.permission,
      fix: call.fix,
      urlSetting: call.urlSetting,
      ...(call.retryable ? { retryable: call.retryable } : {}),
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
      secrets: call.secrets,
    });
  }
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    // not JSON (an empty 202, an HTML page): the status is the answer
    body = {};
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** The value of the env var a `${ENV}` setting named, read when the call is made; missing is a ConfigurationError. */
export function secretFrom(env: NodeJS.ProcessEnv, system: string, envVar: string, setting: string): string {
  const value = env[envVar];
  if (!value) throw missingSecret(system, envVar, setting);
  return value;
}

/** The key a retried activity sends again, so the tool dedups instead of opening a second incident. */
export const dedupKeyOf = (incident: { releaseId: string; at: number }) => `quad:${incident.releaseId}:${incident.at}`;
