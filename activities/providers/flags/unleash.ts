// Unleash flag provider, through the Admin API (endpoint shapes from unleash-server 8.2's OpenAPI specs:
// featureSchema, createFeatureStrategySchema, updateFeatureStrategySchema).
// The ramp is one `flexibleRollout` strategy titled MANAGED_TITLE (stickiness default, groupId = flag
// name) in one environment. By default the environment's other strategies are disabled while the ramp
// runs, so "25 %" means 25 % of users; the snapshot keeps every strategy so restore() puts them back.
// Failures are ApplicationFailures (../../failures): a missing token env var, 401/403, a wrong URL or a
// missing environment are non-retryable ConfigurationErrors; 429/5xx and the network are retryable.
import { isDeepStrictEqual } from 'node:util';
import type { FlagProvider, FlagState } from '../types';
import { FailureType, configurationError, httpFailure, missingSecret, networkFailure, nonRetryableFailure } from '../../failures';

export const MANAGED_TITLE = 'QUAD rollout';

export interface UnleashFlagOptions {
  /** server base URL, e.g. https://unleash.example.com (an /api suffix is tolerated) */
  url: string;
  project?: string;
  environment?: string;
  /** NAME of the env var holding an admin (or personal access) token; the value never leaves this module */
  tokenEnv?: string;
  /** keep the environment's other strategies active during the ramp (they OR with ours) */
  keepOtherStrategies?: boolean;
  timeoutMs?: number;
}

/** A strategy as the Admin API returns it inside featureSchema.environments[].strategies. */
export interface UnleashStrategy {
  id?: string;
  name: string;
  title?: string | null;
  disabled?: boolean | null;
  sortOrder?: number;
  constraints?: unknown[];
  variants?: unknown[];
  parameters?: Record<string, string>;
  segments?: number[];
}

/** FlagState.snapshot for Unleash: the environment exactly as read. */
export interface UnleashSnapshot {
  provider: 'unleash';
  project: string;
  environment: string;
  exists: boolean;
  enabled: boolean;
  strategies: UnleashStrategy[];
}

interface FeatureEnvironment {
  name: string;
  enabled: boolean;
  strategies?: UnleashStrategy[];
}
interface Feature {
  name: string;
  archived?: boolean;
  environments?: FeatureEnvironment[];
}

const SYSTEM = 'Unleash';

export class UnleashFlagProvider implements FlagProvider {
  readonly name = 'unleash';
  private readonly base: string;
  private readonly project: string;
  private readonly environment: string;
  private readonly tokenEnv: string;

  constructor(private readonly opts: UnleashFlagOptions) {
    this.base = opts.url.replace(/\/+$/, '').replace(/\/api$/, '');
    this.project = opts.project ?? 'default';
    this.environment = opts.environment ?? 'development';
    this.tokenEnv = opts.tokenEnv ?? 'UNLEASH_ADMIN_TOKEN';
  }

  async getState(flag: string): Promise<FlagState> {
    return toFlagState(flag, await this.readSnapshot(flag));
  }

  async setRollout(flag: string, percent: number): Promise<FlagState> {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw nonRetryableFailure(FailureType.Rejected, `Unleash rollout must be a whole percent 0..100, got ${percent}`);
    }
    let snap = await this.readSnapshot(flag);
    if (!snap.exists) {
      await this.createFeature(flag);
      snap = await this.readSnapshot(flag);
    }
    const parameters = (s?: UnleashStrategy) => ({
      ...s?.parameters,
      rollout: String(percent),
      stickiness: s?.parameters?.stickiness ?? 'default',
      groupId: flag,
    });
    const managed = snap.strategies.find(isManaged);
    if (!managed) {
      await this.api('POST', `${this.envPath(flag)}/strategies`, {
        name: 'flexibleRollout',
        title: MANAGED_TITLE,
        disabled: false,
        constraints: [],
        parameters: parameters(),
      });
    } else {
      const wanted = { ...managed, disabled: false, parameters: parameters(managed) };
      if (!sameStrategy(managed, wanted)) await this.putStrategy(flag, wanted);
    }
    if (!this.opts.keepOtherStrategies) {
      // Ours is active before any other is disabled: Unleash turns an environment off when all its strategies are.
      for (const s of snap.strategies) {
        if (!isManaged(s) && !s.disabled) await this.putStrategy(flag, { ...s, disabled: true });
      }
    }
    if (!snap.enabled) await this.api('POST', `${this.envPath(flag)}/on`);
    return this.getState(flag);
  }

  async restore(state: FlagState): Promise<FlagState> {
    const prior = this.checkSnapshot(state);
    const now = await this.readSnapshot(state.flag);
    if (!prior.exists) {
      if (now.exists) await this.removeCreatedFeature(state.flag);
      return this.getState(state.flag);
    }
    if (!now.exists) await this.createFeature(state.flag);
    const current = new Map(now.strategies.filter((s) => s.id).map((s) => [s.id!, s]));
    // Put back (or recreate) every prior strategy first, then delete the ones added since: deleting the last
    // active strategy would make Unleash switch the environment off on its own.
    for (const s of prior.strategies) {
      const cur = s.id ? current.get(s.id) : undefined;
      if (!cur) await this.api('POST', `${this.envPath(state.flag)}/strategies`, strategyBody(s));
      else if (!sameStrategy(cur, s)) await this.putStrategy(state.flag, s);
    }
    const priorIds = new Set(prior.strategies.map((s) => s.id));
    for (const s of now.strategies) {
      if (!priorIds.has(s.id)) await this.api('DELETE', `${this.envPath(state.flag)}/strategies/${enc(s.id!)}`);
    }
    const after = await this.readSnapshot(state.flag);
    if (after.enabled !== prior.enabled) {
      await this.api('POST', `${this.envPath(state.flag)}/${prior.enabled ? 'on' : 'off'}`);
    }
    return this.getState(state.flag);
  }

  // --- reading -------------------------------------------------------------------------------------

  private async readSnapshot(flag: string): Promise<UnleashSnapshot> {
    const base = { provider: 'unleash' as const, project: this.project, environment: this.environment };
    const feature = await this.api<Feature>('GET', this.featurePath(flag), undefined, [404]);
    if (!feature) return { ...base, exists: false, enabled: false, strategies: [] };
    const env = feature.environments?.find((e) => e.name === this.environment);
    if (!env) {
      throw configurationError(
        `Unleash flag ${flag} has no environment "${this.environment}" in project ${this.project}: ` +
          'check providers.unleash.environment, or enable that environment for the project in Unleash',
        { system: SYSTEM },
      );
    }
    return { ...base, exists: true, enabled: env.enabled, strategies: env.strategies ?? [] };
  }

  private checkSnapshot(state: FlagState): UnleashSnapshot {
    const s = state.snapshot as Partial<UnleashSnapshot> | undefined;
    if (!s || s.provider !== 'unleash' || !Array.isArray(s.strategies)) {
      throw configurationError(
        `cannot restore Unleash flag ${state.flag}: its state has no Unleash snapshot ` + '(was feature_flags.provider changed during the ramp?)',
        { system: SYSTEM },
      );
    }
    if (s.project !== this.project || s.environment !== this.environment) {
      throw configurationError(
        `cannot restore Unleash flag ${state.flag}: snapshot is for ${s.project}/${s.environment}, ` +
          `this provider manages ${this.project}/${this.environment} (providers.unleash changed during the ramp)`,
        { system: SYSTEM },
      );
    }
    return s as UnleashSnapshot;
  }

  // --- writing -------------------------------------------------------------------------------------

  private async createFeature(flag: string): Promise<void> {
    const res = await this.api(
      'POST',
      `/api/admin/projects/${enc(this.project)}/features`,
      { name: flag, type: 'release', description: 'Created by QUAD for a flag ramp' },
      [409],
    );
    if (res === undefined) {
      throw configurationError(
        `Unleash flag ${flag} cannot be created in project ${this.project}: the name is taken (archived, or in another ` +
          'project): revive it in Unleash, or ramp a flag with another name',
        { system: SYSTEM, status: 409 },
      );
    }
  }

  /** Undo of "created by us": archive it and delete it from the archive, unless someone used it elsewhere. */
  private async removeCreatedFeature(flag: string): Promise<void> {
    const feature = await this.api<Feature>('GET', this.featurePath(flag));
    const usedElsewhere = (feature.environments ?? []).some((e) => e.name !== this.environment && (e.enabled || (e.strategies ?? []).length > 0));
    if (usedElsewhere) {
      // Someone configured another environment meanwhile: only clear ours.
      const env = feature.environments!.find((e) => e.name === this.environment);
      if (env?.enabled) await this.api('POST', `${this.envPath(flag)}/off`);
      for (const s of env?.strategies ?? []) await this.api('DELETE', `${this.envPath(flag)}/strategies/${enc(s.id!)}`);
      return;
    }
    await this.api('DELETE', this.featurePath(flag));
    await this.api('DELETE', `/api/admin/archive/${enc(flag)}`);
  }

  private putStrategy(flag: string, s: UnleashStrategy): Promise<unknown> {
    return this.api('PUT', `${this.envPath(flag)}/strategies/${enc(s.id!)}`, strategyBody(s));
  }

  private featurePath(flag: string): string {
    return `/api/admin/projects/${enc(this.project)}/features/${enc(flag)}`;
  }

  private envPath(flag: string): string {
    return `${this.featurePath(flag)}/environments/${enc(this.environment)}`;
  }

  /** One Admin API call. Statuses in `tolerate` return undefined instead of throwing. */
  private async api<T = unknown>(method: string, path: string, body?: unknown, tolerate: number[] = []): Promise<T> {
    const token = process.env[this.tokenEnv];
    if (!token) throw missingSecret(SYSTEM, this.tokenEnv, 'providers.unleash.token');
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { Authorization: token, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw networkFailure(SYSTEM, `${method} ${path}`, err, { timeoutMs, secrets: [token] });
    }
    if (tolerate.includes(res.status)) return undefined as T;
    if (!res.ok) {
      throw httpFailure(SYSTEM, res.status, errorText(text), {
        what: `${method} ${path}`,
        credential: `the token in env var ${this.tokenEnv}`,
        fix: `set ${this.tokenEnv} on the worker to an admin API token (or a personal access token) of this Unleash`,
        permission:
          `an admin token, or a personal access token whose user may update feature flags in project ${this.project}, ` +
          `environment ${this.environment} (a client or frontend token cannot use the Admin API)`,
        urlSetting: 'providers.unleash.url and project',
        secrets: [token],
      });
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function isManaged(s: UnleashStrategy): boolean {
  return s.name === 'flexibleRollout' && s.title === MANAGED_TITLE;
}

/** The fields a strategy is made of (no id): what PUT/POST take and what "the same" compares. */
function strategyBody(s: UnleashStrategy) {
  return {
    name: s.name,
    title: s.title ?? null,
    disabled: s.disabled ?? false,
    // Unleash stores a missing sortOrder as 9999, so always send it
    sortOrder: s.sortOrder ?? 9999,
    constraints: s.constraints ?? [],
    variants: s.variants ?? [],
    parameters: s.parameters ?? {},
    segments: s.segments ?? [],
  };
}

function sameStrategy(a: UnleashStrategy, b: UnleashStrategy): boolean {
  return isDeepStrictEqual(strategyBody(a), strategyBody(b));
}

function toFlagState(flag: string, snap: UnleashSnapshot): FlagState {
  const active = snap.strategies.filter((s) => !s.disabled && s.name === 'flexibleRollout');
  const rollout = (active.find(isManaged) ?? active[0])?.parameters?.rollout;
  return {
    flag,
    exists: snap.exists,
    enabled: snap.enabled,
    rolloutPercent: rollout === undefined ? null : Number(rollout),
    snapshot: snap,
  };
}

function errorText(body: string): string {
  try {
    const j = JSON.parse(body) as { name?: string; message?: string; details?: { message?: string }[] };
    return [j.name, j.message ?? j.details?.[0]?.message].filter(Boolean).join(': ') || body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}

const enc = encodeURIComponent;
