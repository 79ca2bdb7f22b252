// How an activity fails. Retryable: the same call may well pass a little later (rate limits, server
// errors, timeouts, the network). Non-retryable: repeating it unchanged cannot help, because a person must
// first fix a setting, an env var, a credential or a permission, or act in the other system. Every
// provider and step builds its failures here, so the classification lives in one place and the
// workflow's retry policies need no list of error names. Messages say what to fix and never hold a
// secret: bodies pass through redact() with the secrets the caller knows.
import { ApplicationFailure } from '@temporalio/activity';

/** The `type` of every ApplicationFailure an activity throws on purpose. */
export const FailureType = {
  /** a setting, an env var, a credential or a permission must be fixed first */
  Configuration: 'ConfigurationError',
  /** someone must approve, or resolve a pending change, in the other system first */
  ApprovalRequired: 'ApprovalRequired',
  /** a named object (a flag, an environment) does not exist */
  NotFound: 'NotFound',
  /** the other system refused the request as invalid: sending it again unchanged cannot help */
  Rejected: 'RequestRejected',
  /** worth retrying: rate limited, a server error, a timeout, the network */
  Transient: 'TransientError',
} as const;
export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** What a failure carries beside its message (ApplicationFailure.details[0]); never a secret. */
export type FailureDetails = Record<string, string | number | boolean | undefined>;

const BODY_CHARS = 300;

function failure(type: FailureTypeName, nonRetryable: boolean, message: string, details?: FailureDetails, nextRetryDelayMs?: number): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type,
    nonRetryable,
    ...(details ? { details: [details] } : {}),
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: nextRetryDelayMs } : {}),
  });
}

/** A setting, env var or permission is wrong or missing: the message says which, and how to fix it. */
export function configurationError(message: string, details?: FailureDetails): ApplicationFailure {
  return failure(FailureType.Configuration, true, message, details);
}

/** Non-retryable, of one of the named types. */
export function nonRetryableFailure(type: Exclude<FailureTypeName, 'TransientError'>, message: string, details?: FailureDetails): ApplicationFailure {
  return failure(type, true, message, details);
}

/** Worth retrying as is. */
export function transientFailure(message: string, details?: FailureDetails, nextRetryDelayMs?: number): ApplicationFailure {
  return failure(FailureType.Transient, false, message, details, nextRetryDelayMs);
}

/** The env var that should hold a secret is not set on the worker. Names the variable, never a value. */
export function missingSecret(system: string, envVar: string, setting?: string): ApplicationFailure {
  return configurationError(
    `${system}: the env var ${envVar}${setting ? ` (named by ${setting})` : ''} is not set on the worker: set it where the worker runs, then retry the release`,
    { system, envVar },
  );
}

/** Cuts every given secret (and anything that looks like a bearer token after "Bearer ") out of a text. */
export function redact(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[redacted]');
}

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE/i;

/** Values of the worker's env vars whose names look secret (…_TOKEN, …_PASSWORD, …): to cut out of output. */
export function secretEnvValues(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env).flatMap(([name, value]) => (value && value.length >= 6 && SECRET_NAME.test(name) ? [value] : []));
}

export interface HttpFailureOptions {
  /** what was being done, e.g. "PATCH /api/v2/flags/web/dark_mode" */
  what: string;
  /** for 401/403: the credential, as the person fixing it knows it, e.g. "the API token in env var LD_API_TOKEN" */
  credential?: string;
  /** for 403: the permission or role the credential needs */
  permission?: string;
  /** for 401/403: what to do instead of the default advice ("set it to a valid one") */
  fix?: string;
  /** the request was about one named object, so a 404 means it does not exist (not a wrong URL) */
  named?: string;
  /** for a 404 that is not a named object: the setting holding the URL, e.g. "providers.unleash.url" */
  urlSetting?: string;
  /** statuses worth retrying beyond 408, 425, 429 and 5xx (e.g. LaunchDarkly's 409 optimistic lock) */
  retryable?: number[];
  /** the other system's own error code, if it sent one */
  code?: string;
  /** Retry-After, in ms, for a 429 or 503 */
  retryAfterMs?: number;
  /** values to cut out of the body before it goes into the message */
  secrets?: Array<string | undefined>;
  /** more to put in the failure's details (e.g. the system's own name for the error) */
  details?: FailureDetails;
}

const RETRYABLE_STATUSES = new Set([408, 425, 429]);

/** True for the statuses a retry may fix: 408, 425, 429, every 5xx, and the caller's extras. */
export function isRetryableStatus(status: number, extra: number[] = []): boolean {
  return status >= 500 || RETRYABLE_STATUSES.has(status) || extra.includes(status);
}

/**
 * An HTTP answer that is not a success, classified: 401/403 are configuration (the credential or its
 * permissions), 404 of a named object is NotFound and any other 404 a wrong URL (configuration), 408 /
 * 425 / 429 / 5xx are transient, and any other 4xx is a rejected request. All but the transient ones are
 * non-retryable.
 */
export function httpFailure(system: string, status: number, body: string, opts: HttpFailureOptions): ApplicationFailure {
  const excerpt = redact(body.trim(), opts.secrets).slice(0, BODY_CHARS);
  const said = `HTTP ${status}${opts.code ? ` ${opts.code}` : ''}${excerpt ? `: ${excerpt}` : ''}`;
  const details: FailureDetails = { system, status, ...(opts.code ? { code: opts.code } : {}), ...opts.details };
  const credential = opts.credential ?? 'the credentials the worker sends';
  if (status === 401) {
    return configurationError(`${system} did not accept ${credential} for ${opts.what} (${said}): ${opts.fix ?? 'set it to a valid one'}`, details);
  }
  if (status === 403) {
    const need = opts.permission ? `; it needs ${opts.permission}` : '';
    return configurationError(`${system} refused ${opts.what}: ${credential} lacks the permission (${said})${need}${opts.fix ? `; ${opts.fix}` : ''}`, details);
  }
  if (isRetryableStatus(status, opts.retryable)) {
    return transientFailure(`${system} ${opts.what}: ${said} (retrying)`, details, opts.retryAfterMs);
  }
  if (status === 404 && opts.named) {
    return nonRetryableFailure(FailureType.NotFound, `${system}: ${opts.named} does not exist (${opts.what}: ${said})`, details);
  }
  if (status === 404) {
    return configurationError(`${system} has nothing at ${opts.what} (${said}): check ${opts.urlSetting ?? 'the configured URL'}`, details);
  }
  return nonRetryableFailure(FailureType.Rejected, `${system} refused ${opts.what} (${said})`, details);
}

/** No HTTP answer at all (refused, reset, DNS, timeout): transient. */
export function networkFailure(
  system: string,
  what: string,
  err: unknown,
  opts: { timeoutMs?: number; secrets?: Array<string | undefined> } = {},
): ApplicationFailure {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const why =
    e?.name === 'TimeoutError' && opts.timeoutMs !== undefined
      ? `no answer within ${opts.timeoutMs / 1000} s`
      : [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ');
  return transientFailure(`${system} ${what}: ${redact(why || String(err), opts.secrets)} (retrying)`, { system });
}

/** Seconds or an HTTP date in a Retry-After header, as ms (undefined when absent or unreadable). */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(at - now, 0) : undefined;
}

/** True when Temporal will not retry this error (whatever the retry policy's attempts). */
export function isNonRetryable(err: unknown): boolean {
  return err instanceof ApplicationFailure && err.nonRetryable === true;
}

/** AWS error codes that mean the service did not accept the worker's credentials (any AWS client). */
export const AWS_CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'MissingAuthenticationTokenException',
  'ExpiredToken',
  'ExpiredTokenException',
  'AuthFailure',
  'CredentialsProviderError',
  'TokenProviderError',
]);
