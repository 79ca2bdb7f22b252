// Config + a request → the secret-free plan the workflow runs. All validation of what a person typed
// happens here, before anything starts.
import type { Criteria } from '../contract/verdict';
import type {
  CommandAuth,
  ReleasePlan,
  ReleaseRequest,
  StagePlan,
  Strategy,
  Source,
  ReleaseWindow,
  StageAction,
  Freeze,
  ApprovalPolicy,
  AbTestPlan,
} from '../contract/plan';
import { stageLabel } from '../contract/plan';
import type { ServiceLockPlan } from '../contract/service-busy';
import type { FlagPlanConfig, FlagStrategy, QuadConfig, ServiceConfig, StageConfig } from './schema';
import { parseCriteria } from './criteria';
import { InputError } from './errors';
import { ownEntry } from './lookup';
import { resolvePublicKey } from './public-key';

/** v1.2.3, 1.2.3, v1.2.4-rc.1, v1.2.4-bad+build.7 — semver with an optional v; nothing a shell would read. */
import { MAX_VERSION_LENGTH, SAFE_VERSION, describeVersionPattern, matchesVersionPattern, type VersionPattern } from './versions';

const PERSON = /^[A-Za-z0-9._@-]{1,80}$/;

/** A version as the service's `version_pattern` says (semver unless it says otherwise). */
export function validateVersion(version: unknown, pattern: VersionPattern = 'semver'): string {
  if (typeof version !== 'string' || version.trim() === '') throw new InputError('a version is required, e.g. v1.2.3');
  if (version.length > MAX_VERSION_LENGTH) throw new InputError(`version is ${version.length} characters long; at most ${MAX_VERSION_LENGTH}`);
  if (!matchesVersionPattern(version, pattern)) throw new InputError(`${JSON.stringify(version)} is not a version: ${describeVersionPattern(pattern)}`);
  return version;
}

/** Before the config is read: a version any format could accept (the service's own pattern is checked later). */
export function validateVersionShape(version: unknown): string {
  if (typeof version === 'string' && version.length <= MAX_VERSION_LENGTH && version.trim() !== '' && !SAFE_VERSION.test(version)) {
    throw new InputError(`${JSON.stringify(version)} is not a version: letters, digits and ._+- only, like v1.2.3, 3f9c2ab or 2026-12-01`);
  }
  return validateVersion(version, { regex: SAFE_VERSION.source.slice(1, -1) });
}

export function validatePerson(who: unknown, what = 'requested by'): string {
  if (typeof who !== 'string' || !PERSON.test(who)) throw new InputError(`${what}: ${JSON.stringify(who)} is not a user name or ID`);
  return who;
}

export function serviceConfig(cfg: QuadConfig, service: string): ServiceConfig {
  const svc = ownEntry(cfg.services, service);
  if (!svc) {
    const known = Object.keys(cfg.services);
    throw new InputError(`unknown service ${JSON.stringify(service)}; configured: ${known.length ? known.join(', ') : 'none'}`);
  }
  return svc;
}

export function defaultCriteria(cfg: QuadConfig, svc: ServiceConfig): Criteria {
  return {
    errorRateMaxPct: cfg.deployments.error_rate_threshold,
    latencyP95MaxMs: cfg.deployments.latency_threshold_ms,
    errorRateMaxRatio: 2,
    latencyP95MaxRatio: 1.25,
    cpuMaxPct: 90,
    memoryMaxRatio: 1.5,
    minRequests: svc.min_requests,
    ...parseCriteria(svc.criteria),
  };
}

function stageCriteria(base: Criteria, s: StageConfig): Criteria {
  const c: Criteria = { ...base };
  if (s.error_threshold !== undefined) c.errorRateMaxPct = s.error_threshold;
  return { ...c, ...parseCriteria(s.criteria ?? []) };
}

const MINUTE = 60_000;

function defaultStages(cfg: QuadConfig, strategy: Strategy): StageConfig[] {
  const d = cfg.feature_flags.canary_duration_minutes;
  // the switch, in one call; the bake after it is the watch (blue kept warm)
  if (strategy === 'blue-green') return [{ traffic_percent: 100, duration_minutes: 0 }];
  if (strategy === 'ab') return [{ traffic_percent: 50, duration_minutes: d }, { traffic_percent: 100 }];
  return [5, 25, 50, 100].map((p) => ({ traffic_percent: p, duration_minutes: p === 100 ? 0 : d }));
}

export function buildStages(strategy: Strategy, stages: StageConfig[], base: Criteria, flag?: string): StagePlan[] {
  return stages.map((s) => {
    const percent = (flag ? (s.users_percent ?? s.traffic_percent) : (s.traffic_percent ?? s.users_percent)) as number;
    const action: StageAction = flag ? { kind: 'flag', flag, percent } : { kind: 'traffic', percent };
    return {
      name: s.name ?? stageLabel(strategy, action),
      action,
      durationMs: Math.round((s.duration_minutes ?? 0) * MINUTE),
      criteria: stageCriteria(base, s),
      approval: s.team_approval === 'required',
      requirePreviousPass: s.all_previous_checks_pass ?? false,
    };
  });
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function windowOf(svc: ServiceConfig): ReleaseWindow | null {
  const w = svc.release_window;
  return w ? { days: w.days.map((d) => DAYS.indexOf(d)), start: w.start, end: w.end, timeZone: w.time_zone, atEnd: w.at_end } : null;
}

function approvalPolicyOf(a: NonNullable<ServiceConfig['approvals']>): ApprovalPolicy {
  return {
    required: a.required,
    fromGroups: a.from,
    ...(a.remind_after_minutes ? { remindAfterMs: a.remind_after_minutes * MINUTE } : {}),
    // escalate after twice the reminder unless told
    ...(a.escalate_to ? { escalateTo: a.escalate_to, escalateAfterMs: (a.escalate_after_minutes ?? 2 * (a.remind_after_minutes ?? 15)) * MINUTE } : {}),
  };
}

/** The top-level and the service's freezes, each in its zone (default the window's, else UTC). */
function freezesOf(cfg: QuadConfig, svc: ServiceConfig): Freeze[] {
  return [...cfg.freezes, ...svc.freezes].map((f) => ({
    reason: f.reason,
    timeZone: f.time_zone ?? svc.release_window?.time_zone ?? 'UTC',
    ...(f.from ? { from: f.from } : {}),
    ...(f.to ? { to: f.to } : {}),
    ...(f.every_year ? { yearly: f.every_year } : {}),
    ...(f.days ? { days: f.days.map((d) => DAYS.indexOf(d)) } : {}),
    ...(f.after ? { after: f.after } : {}),
    ...(f.before ? { before: f.before } : {}),
  }));
}

export function notifierNames(cfg: QuadConfig): string[] {
  const names = ['console'];
  if (cfg.notifications.file) names.push('file');
  if (cfg.notifications.slack_enabled) names.push('slack');
  if (cfg.notifications.email_enabled) names.push('email');
  return names;
}

/** The keys and rules the workflow checks commands with (public keys only: nothing here is secret). */
export function commandAuthOf(cfg: QuadConfig): CommandAuth {
  const sec = cfg.security;
  const signers: CommandAuth['signers'] = {};
  for (const [name, s] of Object.entries(sec.signers)) {
    signers[name] = { publicKey: resolvePublicKey(s, `security.signers.${name}`), frontEnd: s.front_end };
  }
  return {
    requireSigned: sec.require_signed_commands,
    signers,
    // a jira: entry names who may start from Jira; no command ever comes as one
    releaseManagers: cfg.release_managers.filter((m) => !m.startsWith('jira:')),
    maxAgeMs: sec.command_max_age_seconds * 1000,
    futureSkewMs: sec.command_future_skew_seconds * 1000,
  };
}

function commonPlan(cfg: QuadConfig, svc: ServiceConfig) {
  return {
    commandAuth: commandAuthOf(cfg),
    gates: svc.gates,
    gatesMaxAgeMs: svc.gates_max_age_minutes * MINUTE,
    ...(svc.changes
      ? {
          changes: {
            repo: svc.changes.repo,
            ...(svc.changes.ref ? { ref: svc.changes.ref } : {}),
            featureLabels: svc.changes.feature_labels.map((l) => l.toLowerCase()),
            fixLabels: svc.changes.fix_labels.map((l) => l.toLowerCase()),
          },
        }
      : {}),
    dependencies: svc.dependencies,
    postChecks: svc.post_checks,
    window: windowOf(svc),
    freezes: freezesOf(cfg, svc),
    onFreeze: svc.on_freeze,
    approvalRequired: cfg.release_management.approval_required,
    approvers: svc.approvers,
    approvalTimeoutMs: (svc.approvals?.timeout_minutes ?? svc.approval_timeout_minutes) * MINUTE,
    ...(svc.approvals ? { approvalPolicy: approvalPolicyOf(svc.approvals) } : {}),
    pollIntervalS: svc.poll_interval_seconds,
    inconclusive: svc.on_inconclusive,
    extensionMs: Math.round(cfg.feature_flags.canary_duration_minutes * MINUTE),
    autoRollback: cfg.deployments.auto_rollback_on_error,
    maxDurationMs: cfg.deployments.max_deployment_duration_minutes * MINUTE,
    notifyOnStart: cfg.release_management.notify_on_start,
    notifyOnComplete: cfg.release_management.notify_on_complete,
    webUiUrl: cfg.temporal.web_ui_url,
    notifiers: notifierNames(cfg),
  };
}

/** A region's share: the stages up to max_percent, the first that would pass it cut to it. */
function capStages(strategy: Strategy, stages: StagePlan[], max: number): StagePlan[] {
  const out: StagePlan[] = [];
  for (const s of stages) {
    if (s.action.kind !== 'traffic' || s.action.percent < max) {
      out.push(s);
      continue;
    }
    const action: StageAction = { kind: 'traffic', percent: max };
    out.push({ ...s, action, name: s.action.percent === max ? s.name : stageLabel(strategy, action) });
    break;
  }
  return out;
}

/**
 * `regions` as names: every stage in every region at once. With any region an object (a wave, a cap or
 * its own stages): waves of child releases, each region with its own stages.
 */
function regionsOf(cfg: QuadConfig, svc: ServiceConfig, strategy: Strategy, stages: StagePlan[]): Pick<ReleasePlan, 'regions' | 'waves' | 'onRegionFailure'> {
  if (svc.regions.length === 0) return {};
  const names = svc.regions.map((r) => (typeof r === 'string' ? r : r.name));
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new InputError(`region ${twice} is listed twice`);
  if (svc.regions.every((r) => typeof r === 'string')) return { regions: names };
  if (strategy === 'ab') throw new InputError('an A/B test runs in one place: strategy ab takes no region waves');
  const base = defaultCriteria(cfg, svc);
  const plans = svc.regions.map((r) => {
    const region = typeof r === 'string' ? { name: r, wave: 1 } : r;
    const own = typeof r !== 'string' && r.rollout_plan ? buildStages(strategy, r.rollout_plan, base) : null;
    const cap = typeof r !== 'string' ? r.max_percent : undefined;
    const regionStages = own ?? (cap !== undefined ? capStages(strategy, stages, cap) : stages);
    // a region's child release takes no commands (only its parent steers it): a stage approval there could never be given
    const held = regionStages.find((s) => s.approval);
    if (held)
      throw new InputError(
        `region ${region.name}: stage ${held.name} needs a team approval, which a rollout by waves cannot take per region; approve the release before it starts (release_management.approval_required)`,
      );
    const last = regionStages.at(-1)!.action;
    return { wave: region.wave, plan: { region: region.name, stages: regionStages, maxPercent: last.kind === 'traffic' ? last.percent : 100 } };
  });
  const waveNumbers = [...new Set(plans.map((p) => p.wave))].sort((a, b) => a - b);
  return {
    regions: names,
    waves: waveNumbers.map((w) => plans.filter((p) => p.wave === w).map((p) => p.plan)),
    onRegionFailure: svc.on_region_failure,
  };
}

/** The A/B test of strategy ab: B's share is its first stage's traffic. */
function abTestOf(svc: ServiceConfig, stages: StagePlan[]): AbTestPlan {
  const first = stages[0]?.action;
  const weight = first?.kind === 'traffic' ? first.percent : 0;
  if (!(weight > 0 && weight < 100) || stages.length < 2)
    throw new InputError('strategy ab needs a first stage that splits traffic (between 0 and 100 %) for the test, and a stage after it that ships B');
  const t = svc.ab_test;
  return {
    weightB: weight / 100,
    // rounded: 1 - 95 / 100 is 0.050000000000000044 in floating point
    alpha: Math.round((1 - t.confidence_percent / 100) * 1e6) / 1e6,
    minDetectableEffect: t.min_detectable_effect_percent / 100,
    margin: t.margin_percent / 100,
    nonInferiority: t.non_inferiority,
    maxDurationMs: t.max_duration_minutes * MINUTE,
    srmAlpha: t.srm_alpha,
  };
}

export interface ReleaseAsk {
  service: string;
  version: string;
  strategy?: Strategy;
  requestedBy: string;
  source: Source;
  reason?: string;
  previousVersion?: string | null;
}

export function resolveRelease(cfg: QuadConfig, ask: ReleaseAsk): { request: ReleaseRequest; plan: ReleasePlan } {
  if (!cfg.enabled || !cfg.release_management.enabled) throw new InputError('releases are disabled in the config (enabled / release_management.enabled)');
  validateVersionShape(ask.version);
  const requestedBy = validatePerson(ask.requestedBy);
  const svc = serviceConfig(cfg, ask.service);
  const version = validateVersion(ask.version, svc.version_pattern);
  const strategy = ask.strategy ?? svc.strategy;
  if (strategy === 'flag-ramp') throw new InputError('a flag ramp is started with `quad flag-rollout <flag>`, not as a release');
  const previousVersion = ask.previousVersion === undefined || ask.previousVersion === null ? null : validateVersion(ask.previousVersion, svc.version_pattern);
  if (previousVersion === version) throw new InputError(`${version} is already the serving version of ${ask.service}`);
  const stages = buildStages(strategy, svc.rollout_plan ?? defaultStages(cfg, strategy), defaultCriteria(cfg, svc));
  const request: ReleaseRequest = {
    service: ask.service,
    version,
    strategy,
    requestedBy,
    source: ask.source,
    ...(ask.reason ? { reason: ask.reason.slice(0, 500) } : {}),
  };
  const plan: ReleasePlan = {
    service: ask.service,
    version,
    previousVersion,
    strategy,
    stages,
    ...regionsOf(cfg, svc, strategy, stages),
    ...commonPlan(cfg, svc),
    serviceLock: serviceLockOf(cfg, ask.service, `release of ${version} by ${requestedBy}`),
    bakeMs: Math.round((svc.bake_minutes ?? cfg.deployments.bake_minutes) * MINUTE),
    smokeChecks: svc.smoke_checks,
    ...(strategy === 'ab' ? { ab: abTestOf(svc, stages) } : {}),
  };
  return { request, plan };
}

export interface FlagAsk {
  flag: string;
  requestedBy: string;
  source: Source;
  reason?: string;
}

/** The plan of a flag by the name a person typed: the seed's `feature_flag`, or one under `flags`. */
export function flagPlan(cfg: QuadConfig, flag: string): FlagPlanConfig | undefined {
  if (cfg.feature_flag?.name === flag) return cfg.feature_flag;
  const plan = ownEntry(cfg.flags, flag);
  return plan ? { name: flag, ...plan } : undefined;
}

/** The stages of a flag plan that lists no rollout_plan (see flagStrategySchema for what each means). */
function defaultFlagStages(cfg: QuadConfig, strategy: FlagStrategy): StageConfig[] {
  const d = cfg.feature_flags.canary_duration_minutes;
  if (strategy === 'immediate') return [{ users_percent: 100, duration_minutes: d }];
  return [
    { users_percent: 10, duration_minutes: d },
    { users_percent: 50, duration_minutes: d, all_previous_checks_pass: true },
    { users_percent: 100, team_approval: 'required' },
  ];
}

/** A flag ramp (the seed's dark_mode plan): same watch, approval and undo as a release. */
export function resolveFlagRamp(cfg: QuadConfig, ask: FlagAsk): { request: ReleaseRequest; plan: ReleasePlan } {
  const requestedBy = validatePerson(ask.requestedBy);
  const fp = flagPlan(cfg, ask.flag);
  if (!fp) {
    const known = [cfg.feature_flag?.name, ...Object.keys(cfg.flags)].filter(Boolean);
    throw new InputError(`no rollout plan for flag ${JSON.stringify(ask.flag)}; configured: ${known.length ? known.join(', ') : 'none'}`);
  }
  const service = fp.service ?? Object.keys(cfg.services)[0];
  const svc = serviceConfig(cfg, service);
  const all = defaultCriteria(cfg, svc);
  let base: Criteria;
  if (fp.watch === 'variants') {
    // On against off: error rate and latency, absolute and against the off side. CPU and memory are
    // the process's, shared by both sides, so they say nothing about the flag.
    const { cpuMaxPct: _c, memoryMaxRatio: _m, ...perUser } = all;
    base = { ...perUser, errorRateMaxPct: cfg.feature_flags.canary_error_threshold };
  } else {
    // No baseline runs beside the flag: the serving version's metrics on absolute limits only.
    const { errorRateMaxRatio: _e, latencyP95MaxRatio: _l, memoryMaxRatio: _m, ...absolute } = all;
    base = { ...absolute, errorRateMaxPct: cfg.feature_flags.canary_error_threshold };
  }
  const stages = buildStages('flag-ramp', fp.rollout_plan ?? defaultFlagStages(cfg, fp.strategy ?? cfg.feature_flags.default_rollout_strategy), base, fp.name);
  const version = `flag:${fp.name}`;
  const request: ReleaseRequest = {
    service,
    version,
    strategy: 'flag-ramp',
    requestedBy,
    source: ask.source,
    ...(ask.reason ? { reason: ask.reason.slice(0, 500) } : {}),
  };
  const plan: ReleasePlan = {
    service,
    version,
    previousVersion: null,
    strategy: 'flag-ramp',
    stages,
    ...commonPlan(cfg, svc),
    approvers: fp.approvers ?? svc.approvers,
    ...(fp.watch === 'variants' ? { flagWatch: 'variants' as const } : {}),
    // a flag that names its service is part of that service's work; one judged by the default service is not
    ...(fp.service ? { serviceLock: serviceLockOf(cfg, fp.service, `flag ramp of ${fp.name} by ${requestedBy}`) } : {}),
  };
  return { request, plan };
}

/** What a release does when another holds its service (contract/service-busy.ts). */
function serviceLockOf(cfg: QuadConfig, service: string, what: string): ServiceLockPlan {
  return {
    service,
    onBusy: cfg.deployments.when_service_busy,
    maxWaitMs: cfg.deployments.service_busy_max_wait_minutes * MINUTE,
    what: what.slice(0, 200),
  };
}

/** One active release per service, one ramp per flag: Temporal enforces it through the ID. */
export function workflowIdFor(request: ReleaseRequest): string {
  return request.strategy === 'flag-ramp' ? `flag:${request.version.replace(/^flag:/, '')}` : `release:${request.service}`;
}
