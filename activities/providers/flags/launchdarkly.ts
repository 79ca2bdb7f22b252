// LaunchDarkly flag provider, through the REST API v2 (shapes from LaunchDarkly's OpenAPI spec):
// the ramp is the environment's default rule ("fallthrough") served as a percentage rollout between the
// "on" and "off" variations, changed with a semantic patch; targets and rules are left alone (they win
// over the fallthrough, as LaunchDarkly evaluates them first). Undo puts back the previous fallthrough
// (variation or rollout) and the on/off state; a flag created by the ramp is deleted again.
// Failures are ApplicationFailures (../../failures): a required approval or a pending change, a bad token
// or missing permission, a missing token env var are non-retryable; a concurrent change (409), rate
// limiting and server errors are retryable. details[0] holds {system, status, code, kind}.
import type { FlagProvider, FlagState } from '../types';
import {
  FailureType,
  configurationError,
  httpFailure,
  missingSecret,
  networkFailure,
  nonRetryableFailure,
  redact,
  retryAfterMs,
  transientFailure,
} from '../../failures';

export interface LaunchDarklyFlagOptions {
  /** default https://app.launchdarkly.com (EU: https://app.eu.launchdarkly.com) */
  baseUrl?: string;
  projectKey: string;
  environmentKey: string;
  /** NAME of the env var holding an API access token; the value never leaves this module */
  tokenEnv?: string;
  /** value of the variation users in the rollout get (default true) */
  onValue?: unknown;
  /** value of the variation everyone else gets (default false) */
  offValue?: unknown;
  /** context attribute to bucket by (LaunchDarkly's default: key) */
  bucketBy?: string;
  /** context kind to bucket by (LaunchDarkly's default: user) */
  contextKind?: string;
  /** apply even if it breaks a pending scheduled change or approval request (?ignoreConflicts=true) */
  ignoreConflicts?: boolean;
  /** LD-API-Version header */
  apiVersion?: string;
  timeoutMs?: number;
}

interface LdVariation {
  _id: string;
  value: unknown;
}
interface LdRollout {
  variations: { variation: number; weight: number }[];
  bucketBy?: string;
  contextKind?: string;
  seed?: number;
}
interface LdFallthrough {
  variation?: number;
  rollout?: LdRollout;
}
interface LdFlag {
  key: string;
  variations: LdVariation[];
  environments: Record<string, { on: boolean; fallthrough: LdFallthrough }>;
}

/** FlagState.snapshot for LaunchDarkly. */
export interface LaunchDarklySnapshot {
  provider: 'launchdarkly';
  projectKey: string;
  environmentKey: string;
  exists: boolean;
  on: boolean;
  fallthrough: LdFallthrough | null;
  variations: LdVariation[];
}

/** What went wrong, in details[0].kind of the failure. */
export type LaunchDarklyErrorKind =
  'approval_required' | 'conflict' | 'pending_change_conflict' | 'unauthorized' | 'forbidden' | 'not_found' | 'invalid_request' | 'rate_limited' | 'server';

const SYSTEM = 'LaunchDarkly';

const SEMANTIC_PATCH = 'application/json; domain-model=launchdarkly.semanticpatch';

export class LaunchDarklyFlagProvider implements FlagProvider {
  readonly name = 'launchdarkly';
  private readonly base: string;
  private readonly tokenEnv: string;

  constructor(private readonly opts: LaunchDarklyFlagOptions) {
    this.base = (opts.baseUrl ?? 'https://app.launchdarkly.com').replace(/\/+$/, '');
    this.tokenEnv = opts.tokenEnv ?? 'LAUNCHDARKLY_API_TOKEN';
  }

  async getState(flag: string): Promise<FlagState> {
    return this.toState(flag, await this.readSnapshot(flag));
  }

  async setRollout(flag: string, percent: number): Promise<FlagState> {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw nonRetryableFailure(FailureType.Rejected, `LaunchDarkly rollout must be a percent 0..100, got ${percent}`);
    }
    let snap = await this.readSnapshot(flag);
    if (!snap.exists) {
      await this.request('POST', `/api/v2/flags/${enc(this.opts.projectKey)}`, {
        key: flag,
        name: flag,
        description: 'Created by QUAD for a flag ramp',
        temporary: true,
      });
      snap = await this.readSnapshot(flag);
    }
    const on = this.variation(snap, this.opts.onValue ?? true, 'on');
    const off = this.variation(snap, this.opts.offValue ?? false, 'off');
    // Weights are thousandths of a percent and must sum to 100000.
    const onWeight = Math.round(percent * 1000);
    const instruction: Record<string, unknown> = {
      kind: 'updateFallthroughVariationOrRollout',
      rolloutWeights: { [on._id]: onWeight, [off._id]: 100000 - onWeight },
    };
    if (this.opts.bucketBy) instruction.rolloutBucketBy = this.opts.bucketBy;
    if (this.opts.contextKind) instruction.rolloutContextKind = this.opts.contextKind;
    const instructions = [instruction];
    if (!snap.on) instructions.push({ kind: 'turnFlagOn' });
    await this.semanticPatch(flag, `QUAD: ${flag} to ${percent} %`, instructions);
    return this.getState(flag);
  }

  async restore(state: FlagState): Promise<FlagState> {
    const prior = this.checkSnapshot(state);
    const now = await this.readSnapshot(state.flag);
    if (!prior.exists) {
      // 404: already deleted (a retried undo)
      if (now.exists) await this.request('DELETE', this.flagPath(state.flag), undefined, [404]);
      return this.getState(state.flag);
    }
    if (!now.exists) {
      throw nonRetryableFailure(FailureType.NotFound, `cannot restore LaunchDarkly flag ${state.flag}: it was deleted since the ramp began`, {
        system: SYSTEM,
        kind: 'not_found',
      });
    }
    if (prior.on === now.on && JSON.stringify(prior.fallthrough) === JSON.stringify(now.fallthrough)) return this.toState(state.flag, now);
    // Variations are addressed by ID in semantic patches, by index in the flag: map through the prior IDs.
    const idAt = (index: number) => {
      const id = prior.variations[index]?._id;
      if (!id || !now.variations.some((v) => v._id === id)) {
        throw nonRetryableFailure(FailureType.NotFound, `cannot restore LaunchDarkly flag ${state.flag}: its variation #${index} no longer exists`, {
          system: SYSTEM,
          kind: 'not_found',
        });
      }
      return id;
    };
    const ft = prior.fallthrough ?? {};
    const instruction: Record<string, unknown> = { kind: 'updateFallthroughVariationOrRollout' };
    if (ft.rollout) {
      instruction.rolloutWeights = Object.fromEntries(ft.rollout.variations.map((v) => [idAt(v.variation), v.weight]));
      if (ft.rollout.bucketBy !== undefined) instruction.rolloutBucketBy = ft.rollout.bucketBy;
      if (ft.rollout.contextKind !== undefined) instruction.rolloutContextKind = ft.rollout.contextKind;
    } else {
      instruction.variationId = idAt(ft.variation ?? 0);
    }
    await this.semanticPatch(state.flag, `QUAD: undo ramp of ${state.flag}`, [instruction, { kind: prior.on ? 'turnFlagOn' : 'turnFlagOff' }]);
    return this.getState(state.flag);
  }

  // --- reading -------------------------------------------------------------------------------------

  private async readSnapshot(flag: string): Promise<LaunchDarklySnapshot> {
    const { projectKey, environmentKey } = this.opts;
    const base = { provider: 'launchdarkly' as const, projectKey, environmentKey };
    const ld = await this.request<LdFlag>('GET', `${this.flagPath(flag)}?env=${enc(environmentKey)}`, undefined, [404]);
    if (!ld) return { ...base, exists: false, on: false, fallthrough: null, variations: [] };
    const env = ld.environments?.[environmentKey];
    if (!env) {
      throw configurationError(
        `LaunchDarkly flag ${flag} has no environment "${environmentKey}" in project ${projectKey}: ` +
          'check providers.launchdarkly.environment (the environment key, not its name)',
        { system: SYSTEM, kind: 'not_found' },
      );
    }
    return { ...base, exists: true, on: env.on, fallthrough: env.fallthrough ?? null, variations: ld.variations.map((v) => ({ _id: v._id, value: v.value })) };
  }

  private toState(flag: string, snap: LaunchDarklySnapshot): FlagState {
    let rolloutPercent: number | null = null;
    const rollout = snap.fallthrough?.rollout;
    if (rollout) {
      const onIndex = snap.variations.findIndex((v) => sameValue(v.value, this.opts.onValue ?? true));
      const w = rollout.variations.find((v) => v.variation === onIndex)?.weight ?? 0;
      rolloutPercent = w / 1000;
    }
    return { flag, exists: snap.exists, enabled: snap.on, rolloutPercent, snapshot: snap };
  }

  private variation(snap: LaunchDarklySnapshot, value: unknown, role: string): LdVariation {
    const v = snap.variations.find((x) => sameValue(x.value, value));
    if (!v) {
      throw configurationError(
        `LaunchDarkly flag has no variation with value ${JSON.stringify(value)} to serve as "${role}": ` +
          `give the flag such a variation, or set the provider's ${role}Value`,
        { system: SYSTEM },
      );
    }
    return v;
  }

  private checkSnapshot(state: FlagState): LaunchDarklySnapshot {
    const s = state.snapshot as Partial<LaunchDarklySnapshot> | undefined;
    if (!s || s.provider !== 'launchdarkly' || !Array.isArray(s.variations)) {
      throw configurationError(
        `cannot restore LaunchDarkly flag ${state.flag}: its state has no LaunchDarkly snapshot ` + '(was feature_flags.provider changed during the ramp?)',
        { system: SYSTEM },
      );
    }
    if (s.projectKey !== this.opts.projectKey || s.environmentKey !== this.opts.environmentKey) {
      throw configurationError(
        `cannot restore LaunchDarkly flag ${state.flag}: snapshot is for ${s.projectKey}/${s.environmentKey}, ` +
          `this provider manages ${this.opts.projectKey}/${this.opts.environmentKey} (providers.launchdarkly changed during the ramp)`,
        { system: SYSTEM },
      );
    }
    return s as LaunchDarklySnapshot;
  }

  // --- HTTP ----------------------------------------------------------------------------------------

  private semanticPatch(flag: string, comment: string, instructions: Record<string, unknown>[]): Promise<unknown> {
    const q = this.opts.ignoreConflicts ? '?ignoreConflicts=true' : '';
    return this.request('PATCH', `${this.flagPath(flag)}${q}`, { environmentKey: this.opts.environmentKey, comment, instructions }, [], SEMANTIC_PATCH, flag);
  }

  private flagPath(flag: string): string {
    return `/api/v2/flags/${enc(this.opts.projectKey)}/${enc(flag)}`;
  }

  private async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    tolerate: number[] = [],
    contentType = 'application/json',
    flag?: string,
  ): Promise<T> {
    const token = process.env[this.tokenEnv];
    if (!token) throw missingSecret(SYSTEM, this.tokenEnv, 'providers.launchdarkly.token');
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          Authorization: token,
          'LD-API-Version': this.opts.apiVersion ?? '20240415',
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': contentType }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw networkFailure(SYSTEM, `${method} ${path}`, err, { timeoutMs, secrets: [token] });
    }
    if (tolerate.includes(res.status)) return undefined as T;
    if (!res.ok) throw this.toError(res.status, text, method, path, token, retryAfterMs(res.headers.get('retry-after')), flag);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** LaunchDarkly errors are {code, message, id}; turn the ones a release manager meets into plain words. */
  private toError(status: number, text: string, method: string, path: string, token: string, retryAfter: number | undefined, flag?: string) {
    let code: string | undefined;
    let message = text.slice(0, 300);
    try {
      const j = JSON.parse(text) as { code?: string; message?: string };
      code = j.code;
      message = j.message ?? message;
    } catch {
      /* not JSON: keep the text */
    }
    const { projectKey, environmentKey } = this.opts;
    const where = `${flag ?? path} in ${projectKey}/${environmentKey}`;
    const detail = `(LaunchDarkly ${status}${code ? ` ${code}` : ''}: ${redact(message, [token])})`;
    const details = (kind: LaunchDarklyErrorKind) => ({ system: SYSTEM, status, kind, ...(code ? { code } : {}) });
    if (status === 405 && method === 'PATCH') {
      return nonRetryableFailure(
        FailureType.ApprovalRequired,
        `LaunchDarkly requires an approval to change ${where}: ` +
          `request and get the approval in LaunchDarkly, or use an environment without required approvals ${detail}`,
        details('approval_required'),
      );
    }
    if (status === 409) {
      return transientFailure(`LaunchDarkly refused the change to ${where}: it was changed concurrently; retry ${detail}`, details('conflict'));
    }
    if (status === 400 && method === 'PATCH' && /conflict/i.test(message)) {
      return nonRetryableFailure(
        FailureType.ApprovalRequired,
        `the change to ${where} would conflict with a pending scheduled change or approval ` +
          `request in LaunchDarkly: resolve it there, or set ignoreConflicts ${detail}`,
        details('pending_change_conflict'),
      );
    }
    const kind: LaunchDarklyErrorKind =
      status === 401
        ? 'unauthorized'
        : status === 403
          ? 'forbidden'
          : status === 404
            ? 'not_found'
            : status === 429
              ? 'rate_limited'
              : status >= 500
                ? 'server'
                : 'invalid_request';
    return httpFailure(SYSTEM, status, message, {
      what: `${method} ${path}`,
      code,
      credential: `the API access token in env var ${this.tokenEnv}`,
      fix: `set ${this.tokenEnv} on the worker to a valid LaunchDarkly access token`,
      permission:
        `a role that may ${method === 'GET' ? 'read' : 'update'} flags in project ${projectKey}, environment ${environmentKey} ` +
        '(e.g. the built-in Writer role)',
      ...(flag && method !== 'POST' ? { named: `flag ${where}` } : {}),
      urlSetting: 'providers.launchdarkly.url and project',
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
      secrets: [token],
      details: { kind },
    });
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const enc = encodeURIComponent;
