// CloudWatch Logs as a log source: FilterLogEvents over one log group for one version's lines in the
// window, found by its log streams (DescribeLogStreams by name prefix, e.g. `checkout/v1.2.4/` when each
// task's stream starts with its version; the streams silent before the window are skipped) and/or a
// filter pattern (e.g. `{ $.version = "${version}" }` for JSON lines that
// carry it), paginated by nextToken up to the limit. Credentials and region come from the SDK's default
// chain; nothing here reads, logs or returns them. Failures are ApplicationFailures (../../failures):
// credentials not accepted, a missing permission or log group are non-retryable ConfigurationErrors;
// throttling, server errors and the network are retryable.
import { CloudWatchLogsClient, DescribeLogStreamsCommand, FilterLogEventsCommand, type FilterLogEventsCommandInput } from '@aws-sdk/client-cloudwatch-logs';
import type { ApplicationFailure } from '@temporalio/activity';
import { AWS_CREDENTIAL_ERRORS, FailureType, configurationError, nonRetryableFailure, redact, transientFailure } from '../../failures';
import type { LogBatch, LogQuery, LogSource } from '../types';

const SYSTEM = 'CloudWatch Logs';
const PERMISSION = 'logs:FilterLogEvents and logs:DescribeLogStreams on the log group';
/** FilterLogEvents takes at most 100 stream names */
const MAX_STREAMS = 100;
const PERMISSION_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized']);
const REJECTED_ERRORS = new Set(['InvalidParameterException', 'ValidationException', 'InvalidParameterValueException']);
/** FilterLogEvents returns at most 10 000 events per page */
const PAGE_MAX = 10_000;

const awsSecrets = () => [process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN];

export interface CloudWatchLogsOptions {
  logGroup: string;
  /** stream name prefix, with `${service}`, `${version}`, `${region}`; e.g. "${service}/${version}/" */
  streamPrefix?: string;
  /** a CloudWatch Logs filter pattern, with the same placeholders; plain terms or a JSON selector */
  filterPattern?: string;
  /** the settings' path in messages, e.g. providers.logs */
  configPath?: string;
  region?: string;
  /** a custom endpoint (moto, a VPC endpoint) */
  endpoint?: string;
  maxAttempts?: number;
  /** a ready client (tests); region/endpoint/maxAttempts are then ignored */
  client?: CloudWatchLogsClient;
}

/** `${service}`, `${version}`, `${region}` filled; any other placeholder is a configuration error. */
export function fillLogTemplate(template: string, q: Pick<LogQuery, 'service' | 'version' | 'region'>, setting: string): string {
  return template.replace(/\$\{([^}]*)\}/g, (_, key: string) => {
    if (key === 'service') return q.service;
    if (key === 'version') return q.version;
    if (key === 'region') return q.region ?? '';
    throw configurationError(`${SYSTEM}: ${setting} names \${${key}}: only \${service}, \${version} and \${region} are filled in`);
  });
}

export function cloudWatchLogsFailure(err: unknown, what: string, setting: string): ApplicationFailure {
  const e = err as Error & { $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  const base = `${SYSTEM} ${what}: ${redact(`${name}: ${e?.message ?? String(err)}`, awsSecrets())}`;
  const details = { system: SYSTEM, code: name, ...(status !== undefined ? { status } : {}) };
  if (AWS_CREDENTIAL_ERRORS.has(name) || status === 401) {
    return configurationError(`${base}: the worker's AWS credentials were not accepted: check its default credential chain`, details);
  }
  if (PERMISSION_ERRORS.has(name) || status === 403)
    return configurationError(`${base}: the worker's AWS identity lacks the permission: allow it ${PERMISSION}`, details);
  if (name === 'ResourceNotFoundException') return configurationError(`${base}: check ${setting}.log_group (the group must exist in this region)`, details);
  if (/Region is missing/i.test(e?.message ?? '')) return configurationError(`${base}: set ${setting}.region or AWS_REGION on the worker`, details);
  if (REJECTED_ERRORS.has(name)) return nonRetryableFailure(FailureType.Rejected, `${base}: check ${setting}.filter_pattern`, details);
  return transientFailure(`${base} (retrying)`, details);
}

export class CloudWatchLogsSource implements LogSource {
  readonly name = 'cloudwatch';
  private readonly client: CloudWatchLogsClient;
  private readonly setting: string;

  constructor(private readonly opts: CloudWatchLogsOptions) {
    this.setting = opts.configPath ?? 'providers.logs';
    if (!opts.logGroup) throw configurationError(`${SYSTEM}: ${this.setting}.log_group is not set: name the log group the service writes to`);
    if (!opts.streamPrefix?.includes('${version}') && !opts.filterPattern?.includes('${version}')) {
      throw configurationError(
        `${SYSTEM}: ${this.setting} must tell one version's lines from another's: put \${version} in stream_prefix (e.g. "\${service}/\${version}/") or in filter_pattern`,
      );
    }
    this.client =
      opts.client ??
      new CloudWatchLogsClient({
        ...(opts.region ? { region: opts.region } : {}),
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        maxAttempts: opts.maxAttempts ?? 3,
      });
  }

  /** The request for one page (exported shape: what a test or a person reads in CloudTrail). */
  request(q: LogQuery, streams: string[] | null, nextToken?: string): FilterLogEventsCommandInput {
    const pattern = this.opts.filterPattern ? fillLogTemplate(this.opts.filterPattern, q, `${this.setting}.filter_pattern`) : undefined;
    return {
      logGroupName: this.opts.logGroup,
      ...(streams ? { logStreamNames: streams } : {}),
      ...(pattern ? { filterPattern: pattern } : {}),
      startTime: q.from,
      // endTime is inclusive in FilterLogEvents; the window is [from, to)
      endTime: q.to - 1,
      limit: Math.min(q.limit, PAGE_MAX),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  /** Closes the SDK's pooled sockets, when the client is its own. */
  close(): void {
    if (!this.opts.client) this.client.destroy();
  }

  /** The version's streams with events at or after `from` (null: no prefix set, the whole group). */
  async streams(q: LogQuery): Promise<string[] | null> {
    if (!this.opts.streamPrefix) return null;
    const prefix = fillLogTemplate(this.opts.streamPrefix, q, `${this.setting}.stream_prefix`);
    const names: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new DescribeLogStreamsCommand({ logGroupName: this.opts.logGroup, logStreamNamePrefix: prefix, ...(token ? { nextToken: token } : {}) }),
        );
      } catch (err) {
        throw cloudWatchLogsFailure(err, `DescribeLogStreams on ${this.opts.logGroup} with prefix ${prefix}`, this.setting);
      }
      for (const st of page.logStreams ?? []) {
        // a stream whose last event is before the window has nothing for it (unknown: keep it)
        if (st.logStreamName && (st.lastEventTimestamp === undefined || st.lastEventTimestamp >= q.from)) names.push(st.logStreamName);
      }
      token = page.nextToken;
    } while (token && names.length < MAX_STREAMS);
    return names.slice(0, MAX_STREAMS);
  }

  async fetch(q: LogQuery): Promise<LogBatch> {
    const events: LogBatch['events'] = [];
    const streams = await this.streams(q);
    if (streams && streams.length === 0) return { events, total: 0, truncated: false };
    let token: string | undefined;
    do {
      const input = this.request({ ...q, limit: q.limit - events.length }, streams, token);
      let page;
      try {
        page = await this.client.send(new FilterLogEventsCommand(input));
      } catch (err) {
        throw cloudWatchLogsFailure(err, `FilterLogEvents on ${this.opts.logGroup} for ${q.service} ${q.version}`, this.setting);
      }
      for (const e of page.events ?? []) if (e.message !== undefined) events.push({ at: e.timestamp ?? q.from, message: e.message });
      token = page.nextToken;
    } while (token && events.length < q.limit);
    return { events: events.slice(0, q.limit), total: events.length, truncated: Boolean(token) || events.length > q.limit };
  }
}
