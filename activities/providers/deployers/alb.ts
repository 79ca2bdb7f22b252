// An Application Load Balancer as a deployer: one listener (its default action) or one listener rule
// forwards to a stable and a canary target group, and the weights of its `forward` action's
// ForwardConfig.TargetGroups carry the split (stable 100 - p, canary p). The primitive under ECS, EC2
// and IP targets alike. With `ecs` set, each target group belongs to an ECS service: prepare puts the
// canary service on the version's task definition at the stable's desired count, promote puts the
// stable service on it, retire scales the canary to 0. Without `ecs` the deployer moves weights and
// checks health only: what runs behind each group is the team's pipeline's business.
// The version → task definition: the newest ACTIVE revision of `taskDefinitionFamily` whose container
// (`container`, or the only one) has the image tag <version>; or, with `versionTag`, whose task
// definition tag of that key has the value <version>.
// Every write is absolute and sent only when the state differs, so a call repeated after a crash reads
// and changes nothing. Credentials and region come from the SDK's default chain (the region defaults
// to the listener's ARN); nothing here reads, logs or returns them. Failures go through ../../failures:
// bad credentials, AccessDenied and missing objects are non-retryable with what to fix, throttling,
// 5xx and the network retryable, and a version that never becomes ready a non-retryable `DeployNotReady`.
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  type Action,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  UpdateServiceCommand,
  type Service,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { DeployCheck, DeployerLifecycle, TrafficState, TrafficTarget } from '../types';
import { AWS_CREDENTIAL_ERRORS as CREDENTIAL_ERRORS, FailureType, configurationError, nonRetryableFailure, redact, transientFailure } from '../../failures';

export interface AlbEcsOptions {
  cluster: string;
  /** the ECS service behind the stable target group, and the one behind the canary group */
  stableService: string;
  canaryService: string;
  /** the task definition family whose revisions carry the versions */
  taskDefinitionFamily: string;
  /** the container whose image tag is the version (default: the task definition's only container) */
  container?: string;
  /** match the version against this task definition tag's value instead of an image tag, e.g. "quad:version" */
  versionTag?: string;
}

export interface AlbDeployerOptions {
  /** the service these objects belong to (messages, the default config path) */
  service: string;
  /** default: the listener's / rule's ARN region, else the SDK's chain */
  region?: string;
  /** a custom endpoint (moto, a VPC endpoint) for both ELBv2 and ECS */
  endpoint?: string;
  /** exactly one: the listener whose default action splits, or the rule whose action does */
  listenerArn?: string;
  ruleArn?: string;
  stableTargetGroupArn: string;
  canaryTargetGroupArn: string;
  ecs?: AlbEcsOptions;
  /** how long prepare and promote wait for the side to become ready (default 600 s) */
  readyTimeoutSeconds?: number;
  /** how often readiness is polled while waiting (default 5 s) */
  pollMs?: number;
  /** SDK attempts per call (the activity retries too); default 3 */
  maxAttempts?: number;
  /** where these options live in the config, for messages (default services.<service>.deployer) */
  configPath?: string;
}

/** The non-retryable failure of a version that cannot become ready (the lifecycle's contract). */
export const DEPLOY_NOT_READY = 'DeployNotReady';

// ---- AWS errors, classified (lambda.ts uses this too) ----

/** the credentials are fine, their identity may not do this */
const PERMISSION_ERRORS = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'NotAuthorized', 'AuthorizationError']);
/** the named object does not exist */
const NOT_FOUND_ERRORS = new Set([
  'ListenerNotFound',
  'ListenerNotFoundException',
  'RuleNotFound',
  'RuleNotFoundException',
  'TargetGroupNotFound',
  'TargetGroupNotFoundException',
  'LoadBalancerNotFound',
  'LoadBalancerNotFoundException',
  'ClusterNotFoundException',
  'ServiceNotFoundException',
  'ServiceNotActiveException',
  'ResourceNotFoundException',
]);
/** worth retrying: rate limits, a concurrent update, the service's own trouble */
const TRANSIENT_ERRORS = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServerException',
  'ServiceException',
  'ServiceUnavailable',
  'InternalFailure',
  'ResourceConflictException',
  'ResourceInUse',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
  'TimeoutError',
  'RequestTimeout',
]);

export interface AwsCallContext {
  /** e.g. "ELBv2", "ECS", "Lambda" */
  system: string;
  /** what was being done, e.g. "ModifyListener arn:…" */
  what: string;
  /** the IAM action (and resource) it needs, e.g. "elasticloadbalancing:ModifyListener on arn:…" */
  permission: string;
  /** the call was about one named object: a NotFound names it and the setting to fix */
  named?: string;
  setting?: string;
}

/** AWS secrets the SDK may have read from the environment: never in a message. */
const awsSecrets = () => [process.env.AWS_SECRET_ACCESS_KEY, process.env.AWS_SESSION_TOKEN];

/** An SDK call that threw, classified by the error's name and HTTP status. */
export function awsFailure(err: unknown, ctx: AwsCallContext): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = err as Error & { $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? 'Error';
  const status = e?.$metadata?.httpStatusCode;
  // an answer the SDK could not read (e.g. an XML error page on a JSON service) says nothing beyond its status
  const unreadable = name === 'SyntaxError' || /Deserialization error/.test(e?.message ?? '');
  const said = redact(unreadable ? `HTTP ${status ?? '?'} (an answer the SDK could not read)` : `${name}: ${e?.message ?? String(err)}`, awsSecrets());
  const base = `${ctx.system} ${ctx.what}: ${said}`;
  const details = { system: ctx.system, ...(status !== undefined ? { status } : {}), ...(unreadable ? {} : { code: name }) };
  if (CREDENTIAL_ERRORS.has(name) || status === 401) {
    return configurationError(
      `${base}: the worker's AWS credentials were not accepted: check its default credential chain ` +
        '(AWS_PROFILE, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, SSO login, the instance or task role)',
      details,
    );
  }
  if (PERMISSION_ERRORS.has(name) || status === 403) {
    return configurationError(`${base}: the worker's AWS identity lacks the permission: allow it ${ctx.permission}`, details);
  }
  if (/Region is missing/i.test(e?.message ?? '')) {
    return configurationError(`${base}: set the deployer's region or AWS_REGION on the worker`, details);
  }
  if (NOT_FOUND_ERRORS.has(name) || (status === 404 && ctx.named)) {
    const what = ctx.named ?? 'the object';
    return nonRetryableFailure(FailureType.NotFound, `${base}: ${what} does not exist${ctx.setting ? `: fix ${ctx.setting}` : ''}`, details);
  }
  if (TRANSIENT_ERRORS.has(name) || status === undefined || status >= 500 || status === 429 || status === 408) {
    return transientFailure(`${base} (retrying)`, details);
  }
  return nonRetryableFailure(FailureType.Rejected, base, details);
}

// ---- helpers ----

const SYSTEM = 'ALB';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number) => Math.round(x * 10) / 10;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (a script, a test)
  }
}

/** Waits pollMs, heartbeating progress when inside an activity (and failing fast when it is cancelled). */
export async function pause(pollMs: number, progress: Record<string, unknown>): Promise<void> {
  const ctx = activityContext();
  if (ctx) {
    ctx.heartbeat(progress);
    await ctx.sleep(pollMs);
  } else {
    await sleep(pollMs);
  }
}

export function deployNotReady(message: string, details: Record<string, string | number | boolean | undefined>): ApplicationFailure {
  return ApplicationFailure.create({ type: DEPLOY_NOT_READY, nonRetryable: true, message, details: [details] });
}

/** The weights for `percent` on the canary: whole percents as 100-p / p, a fraction in tenths (weights are integers 0..999). */
export function weightsFor(percent: number): { stable: number; canary: number } {
  const tenths = Math.round(percent * 10);
  if (tenths % 10 === 0) return { stable: 100 - tenths / 10, canary: tenths / 10 };
  return { stable: 1000 - tenths, canary: tenths };
}

/** A revision's number from its ARN (…:task-definition/family:7 → 7). */
const revisionOf = (arn: string) => Number(/:(\d+)$/.exec(arn)?.[1] ?? 0);

/** The tag of an image reference (repo:tag, repo@sha256:… → the digest). */
const imageTag = (image: string | undefined) =>
  image ? (image.includes('@') ? image.slice(image.indexOf('@') + 1) : (/:([^:/]+)$/.exec(image)?.[1] ?? 'latest')) : undefined;

/** The region in an ARN (arn:aws:elasticloadbalancing:us-east-1:…), if it holds one. */
export const arnRegion = (arn: string | undefined) => (arn ? /^arn:[^:]+:[^:]+:([a-z0-9-]+):/.exec(arn)?.[1] : undefined);

interface Split {
  stable: number;
  canary: number;
  /** the canary group is named in the forward action at all */
  hasCanary: boolean;
  /** percent on the canary group, as the load balancer will route it */
  percent: number;
}

interface Forwarding {
  actions: Action[];
  index: number;
  split: Split;
}

interface Readiness {
  ready: boolean;
  /** set when it can no longer become ready (e.g. the ECS deployment circuit breaker fired) */
  failed?: string;
  why: string;
  /** healthy targets, for a target group */
  healthy?: number;
}

/**
 * An ECS service's readiness on a task definition. Real ECS starts a new PRIMARY deployment per update:
 * ready = that deployment runs the desired count, its rollout is not in progress or failed, and no older
 * deployment still runs tasks. When no deployment names the task definition (moto adds none on
 * update_service, and an EXTERNAL deployment controller has none), the service's own counts decide.
 */
export function ecsReadiness(svc: Service, taskDefinitionArn: string): Readiness {
  const name = svc.serviceName ?? '?';
  const desired = svc.desiredCount ?? 0;
  if (svc.taskDefinition !== taskDefinitionArn) return { ready: false, why: `service ${name} is on ${svc.taskDefinition}, not ${taskDefinitionArn}` };
  const deployments = svc.deployments ?? [];
  const mine = deployments.find((d) => d.status === 'PRIMARY' && d.taskDefinition === taskDefinitionArn);
  if (mine) {
    if (mine.rolloutState === 'FAILED') {
      return { ready: false, failed: `its deployment ${mine.id ?? ''} failed: ${mine.rolloutStateReason ?? 'rollout failed'}`, why: 'rollout failed' };
    }
    const old = deployments.filter((d) => d !== mine && (d.runningCount ?? 0) > 0);
    const running = mine.runningCount ?? 0;
    if (running < desired || mine.rolloutState === 'IN_PROGRESS' || old.length > 0) {
      const failed = mine.failedTasks ? `, ${mine.failedTasks} task(s) failed to start` : '';
      const olds = old.length ? `, ${old.reduce((n, d) => n + (d.runningCount ?? 0), 0)} task(s) of an older deployment still running` : '';
      return { ready: false, why: `service ${name}: ${running} of ${desired} task(s) running on ${taskDefinitionArn}${failed}${olds}` };
    }
    return { ready: true, why: `service ${name}: ${running} of ${desired} task(s) running` };
  }
  const running = svc.runningCount ?? 0;
  const pending = svc.pendingCount ?? 0;
  if (running < desired || pending > 0) return { ready: false, why: `service ${name}: ${running} of ${desired} task(s) running, ${pending} pending` };
  return { ready: true, why: `service ${name}: ${running} of ${desired} task(s) running` };
}

/** A target group's readiness: at least `min` healthy targets and every target not draining healthy. */
export function targetsReadiness(group: string, targets: TargetHealthDescription[], min: number): Readiness {
  const live = targets.filter((t) => t.TargetHealth?.State !== 'draining' && t.TargetHealth?.State !== 'unhealthy.draining');
  const healthy = live.filter((t) => t.TargetHealth?.State === 'healthy');
  const others = new Map<string, number>();
  for (const t of live) {
    const h = t.TargetHealth;
    if (h?.State === 'healthy') continue;
    const key = `${h?.State ?? 'unknown'}${h?.Reason ? ` (${h.Reason}${h.Description ? `: ${h.Description}` : ''})` : ''}`;
    others.set(key, (others.get(key) ?? 0) + 1);
  }
  const rest = [...others].map(([k, n]) => `${n} ${k}`).join(', ');
  const why = `target group ${group}: ${healthy.length} of ${live.length} target(s) healthy${live.length === 0 ? ' (none registered)' : ''}${rest ? `; ${rest}` : ''}${live.length < min ? `; ${min} needed` : ''}`;
  return { ready: healthy.length >= Math.max(min, 1) && healthy.length === live.length, why, healthy: healthy.length };
}

// ---- the deployer ----

export class AlbDeployer implements DeployerLifecycle {
  readonly name = 'alb';
  private readonly at: string;
  private readonly elb: ElasticLoadBalancingV2Client;
  private readonly ecs?: ECSClient;
  private readonly readyMs: number;
  private readonly pollMs: number;
  /** task definitions are immutable: what a version resolved to, and what a revision's version is */
  private readonly byVersion = new Map<string, string>();
  private readonly versionOfArn = new Map<string, string | null>();

  constructor(private readonly opts: AlbDeployerOptions) {
    this.at = opts.configPath ?? `services.${opts.service}.deployer`;
    if (!!opts.listenerArn === !!opts.ruleArn) {
      throw configurationError(
        `${SYSTEM}: set exactly one of ${this.at}.listener_arn and ${this.at}.rule_arn (the listener or the rule whose forward action splits)`,
      );
    }
    const checkArn = (arn: string | undefined, kind: RegExp, setting: string) => {
      if (!arn || !/^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:/.test(arn) || !kind.test(arn.split(':')[5] ?? '')) {
        throw configurationError(
          `${SYSTEM}: ${this.at}.${setting} must be an ELBv2 ${setting.replace(/_arn$/, '').replace(/_/g, ' ')} ARN, got ${JSON.stringify(arn)}`,
        );
      }
    };
    if (opts.listenerArn) checkArn(opts.listenerArn, /^listener\//, 'listener_arn');
    if (opts.ruleArn) checkArn(opts.ruleArn, /^listener-rule\//, 'rule_arn');
    checkArn(opts.stableTargetGroupArn, /^targetgroup\//, 'stable_target_group_arn');
    checkArn(opts.canaryTargetGroupArn, /^targetgroup\//, 'canary_target_group_arn');
    if (opts.stableTargetGroupArn === opts.canaryTargetGroupArn) {
      throw configurationError(`${SYSTEM}: ${this.at}.stable_target_group_arn and canary_target_group_arn are the same group: the split needs two`);
    }
    if (opts.ecs) {
      for (const k of ['cluster', 'stableService', 'canaryService', 'taskDefinitionFamily'] as const) {
        if (!opts.ecs[k]) throw configurationError(`${SYSTEM}: ${this.at}.ecs.${snake(k)} is missing`);
      }
      if (opts.ecs.stableService === opts.ecs.canaryService)
        throw configurationError(`${SYSTEM}: ${this.at}.ecs.stable_service and canary_service are the same service`);
    }
    const region = opts.region ?? arnRegion(opts.listenerArn ?? opts.ruleArn);
    const client = { region, endpoint: opts.endpoint, maxAttempts: opts.maxAttempts ?? 3 };
    this.elb = new ElasticLoadBalancingV2Client(client);
    if (opts.ecs) this.ecs = new ECSClient(client);
    this.readyMs = (opts.readyTimeoutSeconds ?? 600) * 1000;
    this.pollMs = opts.pollMs ?? 5000;
  }

  /** Closes the clients' pooled connections. */
  close(): void {
    this.elb.destroy();
    this.ecs?.destroy();
  }

  async prepare(target: TrafficTarget): Promise<{ detail: string }> {
    const e = this.opts.ecs;
    // resolve first: a version with no task definition fails before anything changes
    const taskDef = e ? await this.taskDefinitionFor(target.version) : undefined;
    // the canary group in the forward action at weight 0: no traffic moves, and ALB health-checks only
    // target groups a listener uses
    await this.setSplit(0);
    if (!e || !taskDef) {
      const r = await this.waitReady('prepare', target.version, () => this.groupReadiness(this.opts.canaryTargetGroupArn, 1));
      return { detail: `${r.why}; ${this.where()} at stable 100 / canary 0` };
    }
    const stable = await this.service(e.stableService);
    const desired = stable.desiredCount ?? 0;
    if (desired < 1) {
      throw configurationError(
        `${SYSTEM}: ECS service ${e.stableService} has desired count 0: there is no stable capacity for the canary to match (${this.at}.ecs.stable_service)`,
      );
    }
    await this.updateService(e.canaryService, { taskDefinition: taskDef, desiredCount: desired });
    const r = await this.waitReady('prepare', target.version, () => this.sideReadiness(e.canaryService, this.opts.canaryTargetGroupArn, taskDef));
    return { detail: `ECS service ${e.canaryService} on ${shortTd(taskDef)}: ${r.why}; ${this.where()} at stable 100 / canary 0` };
  }

  async shift(target: TrafficTarget, percent: number): Promise<TrafficState> {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw nonRetryableFailure(FailureType.Rejected, `${SYSTEM}: percent must be 0..100, got ${percent}`, { system: SYSTEM });
    }
    if (percent > 0) await this.guardCanary(target.version);
    const split = await this.setSplit(percent);
    return { percent: split.percent, version: target.version, previousVersion: target.previousVersion };
  }

  async promote(target: TrafficTarget): Promise<TrafficState> {
    const e = this.opts.ecs;
    if (e) {
      const taskDef = await this.taskDefinitionFor(target.version);
      await this.updateService(e.stableService, { taskDefinition: taskDef });
      await this.waitReady('promote', target.version, () => this.sideReadiness(e.stableService, this.opts.stableTargetGroupArn, taskDef));
    } else {
      // Without ECS the team's pipeline must have put the version on the stable group: QUAD cannot change
      // what a target group runs, so the group's health is all it can see before moving traffic back to it.
      await this.waitReady('promote', target.version, () => this.groupReadiness(this.opts.stableTargetGroupArn, 1));
    }
    await this.setSplit(0);
    if (e) await this.updateService(e.canaryService, { desiredCount: 0 });
    return { percent: 100, version: target.version, previousVersion: target.previousVersion };
  }

  async retire(_target: TrafficTarget): Promise<{ detail: string }> {
    const { split } = await this.readForwarding();
    if (split.canary > 0) {
      // scaling it away now would drop the requests it still gets
      throw nonRetryableFailure(
        FailureType.Rejected,
        `${SYSTEM}: the canary group still gets ${split.percent} % of ${this.where()}: revert or promote before retiring it`,
        {
          system: SYSTEM,
        },
      );
    }
    const e = this.opts.ecs;
    if (!e) return { detail: `nothing to release: without ${this.at}.ecs QUAD does not manage what runs behind the target groups` };
    const before = await this.updateService(e.canaryService, { desiredCount: 0 });
    return { detail: `ECS service ${e.canaryService} scaled to 0 (was ${before.desiredCount ?? 0})` };
  }

  async revert(target: TrafficTarget): Promise<TrafficState> {
    const e = this.opts.ecs;
    // after a promote the stable service runs the new version: it goes back to the previous one first
    if (e && target.previousVersion !== null) {
      const stable = await this.service(e.stableService);
      if (stable.taskDefinition && (await this.versionOf(stable.taskDefinition)) === target.version) {
        const previous = await this.taskDefinitionFor(target.previousVersion);
        await this.updateService(e.stableService, { taskDefinition: previous });
        await this.waitReady('revert', target.previousVersion, () => this.sideReadiness(e.stableService, this.opts.stableTargetGroupArn, previous));
      }
    }
    await this.setSplit(0);
    return { percent: 0, version: target.version, previousVersion: target.previousVersion };
  }

  async currentTraffic(target: TrafficTarget): Promise<TrafficState | null> {
    const { split } = await this.readForwarding();
    const e = this.opts.ecs;
    if (!e) return { percent: split.percent, version: target.version, previousVersion: target.previousVersion };
    const [stable, canary] = await Promise.all([this.service(e.stableService), this.service(e.canaryService)]);
    const stableVersion = stable.taskDefinition ? await this.versionOf(stable.taskDefinition) : null;
    const canaryVersion = canary.taskDefinition ? await this.versionOf(canary.taskDefinition) : null;
    const canaryServes = (canary.desiredCount ?? 0) > 0 ? split.percent : 0;
    // percent on target.version: whichever side runs it
    const percent = (stableVersion === target.version ? 100 - canaryServes : 0) + (canaryVersion === target.version ? canaryServes : 0);
    return { percent: round1(percent), version: target.version, previousVersion: stableVersion === target.version ? target.previousVersion : stableVersion };
  }

  async check(service: string): Promise<DeployCheck[]> {
    const out: DeployCheck[] = [];
    const found = async (name: string, read: () => Promise<string>) => {
      try {
        out.push({ name, ok: true, detail: await read() });
        return true;
      } catch (err) {
        out.push({ name, ok: false, detail: (err as Error).message });
        return false;
      }
    };
    const region = await this.elb.config.region().catch(() => '(no region)');
    const reached = await found(`reach ELBv2 in ${region} and read ${this.where()}`, async () => {
      const f = await this.readForwarding();
      return `forwards stable ${f.split.stable} / canary ${f.split.canary}${f.split.hasCanary ? '' : ' (the canary group is added at weight 0 by prepare)'}`;
    });
    if (!reached) return out;
    for (const [side, arn] of [
      ['stable', this.opts.stableTargetGroupArn],
      ['canary', this.opts.canaryTargetGroupArn],
    ] as const) {
      await found(`${side} target group ${groupName(arn)} exists`, async () => {
        const tg = await this.call(
          'ELBv2',
          `DescribeTargetGroups ${arn}`,
          'elasticloadbalancing:DescribeTargetGroups',
          () => this.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] })),
          { named: `target group ${arn}`, setting: `${this.at}.${side}_target_group_arn` },
        );
        const g = tg.TargetGroups?.[0];
        const health = targetsReadiness(groupName(arn), await this.targetHealth(arn), 1);
        return `${g?.Protocol ?? '?'}:${g?.Port ?? '?'} ${g?.TargetType ?? ''} targets; ${health.why.replace(/^target group \S+: /, '')}`;
      });
    }
    const e = this.opts.ecs;
    if (e) {
      for (const [side, name, arn] of [
        ['stable', e.stableService, this.opts.stableTargetGroupArn],
        ['canary', e.canaryService, this.opts.canaryTargetGroupArn],
      ] as const) {
        await found(`ECS ${side} service ${e.cluster}/${name} exists and serves ${groupName(arn)}`, async () => {
          const svc = await this.service(name);
          const groups = (svc.loadBalancers ?? []).map((lb) => lb.targetGroupArn);
          if (!groups.includes(arn)) {
            throw new Error(
              `service ${name} registers its tasks in ${groups.map((g) => (g ? groupName(g) : '?')).join(', ') || 'no target group'}, not ${groupName(arn)}: attach it (its loadBalancers) or fix ${this.at}.ecs.${side}_service`,
            );
          }
          const version = svc.taskDefinition ? await this.versionOf(svc.taskDefinition) : null;
          return `${svc.runningCount ?? 0} of ${svc.desiredCount ?? 0} task(s) running on ${svc.taskDefinition ? shortTd(svc.taskDefinition) : 'no task definition'}${version ? ` (version ${version})` : ''}`;
        });
      }
      await found(`task definition family ${e.taskDefinitionFamily} has active revisions`, async () => {
        const arns = await this.familyRevisions();
        if (arns.length === 0) throw new Error(`no ACTIVE revision of ${e.taskDefinitionFamily}: register one, or fix ${this.at}.ecs.task_definition_family`);
        return `${arns.length} active revision(s), newest ${shortTd(arns[0])}`;
      });
    }
    const writes = [
      `elasticloadbalancing:${this.opts.ruleArn ? 'ModifyRule' : 'ModifyListener'} on ${this.opts.ruleArn ?? this.opts.listenerArn}`,
      ...(e ? [`ecs:UpdateService on ${e.stableService} and ${e.canaryService}`] : []),
    ];
    out.push({
      name: `may change ${this.where()}${e ? ' and the ECS services' : ''} (not verified)`,
      ok: true,
      detail:
        `not checked: ELBv2 and ECS have no dry run, and a no-op write could undo a running release's change; ` +
        `${service} needs ${writes.join(', ')}; a missing one fails the first change as a ConfigurationError naming it`,
    });
    return out;
  }

  // --- the forward action ---

  private where(): string {
    return this.opts.ruleArn ? `rule ${this.opts.ruleArn}` : `listener ${this.opts.listenerArn}`;
  }

  private async readForwarding(): Promise<Forwarding> {
    let actions: Action[];
    if (this.opts.ruleArn) {
      const arn = this.opts.ruleArn;
      const out = await this.call(
        'ELBv2',
        `DescribeRules ${arn}`,
        'elasticloadbalancing:DescribeRules',
        () => this.elb.send(new DescribeRulesCommand({ RuleArns: [arn] })),
        {
          named: `rule ${arn}`,
          setting: `${this.at}.rule_arn`,
        },
      );
      actions = out.Rules?.[0]?.Actions ?? [];
    } else {
      const arn = this.opts.listenerArn!;
      const out = await this.call(
        'ELBv2',
        `DescribeListeners ${arn}`,
        'elasticloadbalancing:DescribeListeners',
        () => this.elb.send(new DescribeListenersCommand({ ListenerArns: [arn] })),
        { named: `listener ${arn}`, setting: `${this.at}.listener_arn` },
      );
      actions = out.Listeners?.[0]?.DefaultActions ?? [];
    }
    return this.forwardingOf(actions);
  }

  private forwardingOf(actions: Action[]): Forwarding {
    const index = actions.findIndex((a) => a.Type === 'forward');
    if (index < 0) {
      throw configurationError(
        `${SYSTEM}: ${this.where()} has no forward action (it has ${actions.map((a) => a.Type).join(', ') || 'none'}): make it forward to the stable target group ${groupName(this.opts.stableTargetGroupArn)}`,
        { system: SYSTEM },
      );
    }
    const a = actions[index];
    const tuples = a.ForwardConfig?.TargetGroups?.length
      ? a.ForwardConfig.TargetGroups
      : a.TargetGroupArn
        ? [{ TargetGroupArn: a.TargetGroupArn, Weight: 1 }]
        : [];
    const others = tuples.filter((t) => t.TargetGroupArn !== this.opts.stableTargetGroupArn && t.TargetGroupArn !== this.opts.canaryTargetGroupArn);
    const stable = tuples.find((t) => t.TargetGroupArn === this.opts.stableTargetGroupArn);
    if (others.length > 0 || !stable) {
      throw configurationError(
        `${SYSTEM}: ${this.where()} forwards to ${tuples.map((t) => groupName(t.TargetGroupArn ?? '?')).join(', ')}: it must forward to the stable group ${groupName(this.opts.stableTargetGroupArn)} (and the canary ${groupName(this.opts.canaryTargetGroupArn)}) only; fix the action or ${this.at}`,
        { system: SYSTEM },
      );
    }
    const canary = tuples.find((t) => t.TargetGroupArn === this.opts.canaryTargetGroupArn);
    // ForwardConfig weights default to 1 when unset
    const ws = stable.Weight ?? 1;
    const wc = canary ? (canary.Weight ?? 1) : 0;
    return { actions, index, split: { stable: ws, canary: wc, hasCanary: !!canary, percent: ws + wc === 0 ? 0 : round1((100 * wc) / (ws + wc)) } };
  }

  /** Sets stable 100 - percent / canary percent; writes only when the action differs. */
  private async setSplit(percent: number): Promise<Split> {
    const want = weightsFor(percent);
    const f = await this.readForwarding();
    if (f.split.hasCanary && f.split.stable === want.stable && f.split.canary === want.canary) return f.split;
    const old = f.actions[f.index];
    const forward: Action = {
      Type: 'forward',
      ...(old.Order !== undefined ? { Order: old.Order } : {}),
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: this.opts.stableTargetGroupArn, Weight: want.stable },
          { TargetGroupArn: this.opts.canaryTargetGroupArn, Weight: want.canary },
        ],
        ...(old.ForwardConfig?.TargetGroupStickinessConfig ? { TargetGroupStickinessConfig: old.ForwardConfig.TargetGroupStickinessConfig } : {}),
      },
    };
    // the other actions go back as they are; an OIDC action comes back without its secret, so it must
    // say to keep the one it has
    const actions = f.actions.map((a, i) =>
      i === f.index
        ? forward
        : a.Type === 'authenticate-oidc' && a.AuthenticateOidcConfig && !a.AuthenticateOidcConfig.ClientSecret
          ? { ...a, AuthenticateOidcConfig: { ...a.AuthenticateOidcConfig, UseExistingClientSecret: true } }
          : a,
    );
    let written: Action[] | undefined;
    if (this.opts.ruleArn) {
      const arn = this.opts.ruleArn;
      const out = await this.call(
        'ELBv2',
        `ModifyRule ${arn}`,
        `elasticloadbalancing:ModifyRule on ${arn}`,
        () => this.elb.send(new ModifyRuleCommand({ RuleArn: arn, Actions: actions })),
        {
          named: `rule ${arn}`,
          setting: `${this.at}.rule_arn`,
        },
      );
      written = out.Rules?.[0]?.Actions;
    } else {
      const arn = this.opts.listenerArn!;
      const out = await this.call(
        'ELBv2',
        `ModifyListener ${arn}`,
        `elasticloadbalancing:ModifyListener on ${arn}`,
        () => this.elb.send(new ModifyListenerCommand({ ListenerArn: arn, DefaultActions: actions })),
        { named: `listener ${arn}`, setting: `${this.at}.listener_arn` },
      );
      written = out.Listeners?.[0]?.DefaultActions;
    }
    return written ? this.forwardingOf(written).split : { ...want, hasCanary: true, percent: round1(percent) };
  }

  // --- readiness ---

  private async targetHealth(arn: string): Promise<TargetHealthDescription[]> {
    const out = await this.call(
      'ELBv2',
      `DescribeTargetHealth ${arn}`,
      'elasticloadbalancing:DescribeTargetHealth',
      () => this.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })),
      { named: `target group ${arn}` },
    );
    return out.TargetHealthDescriptions ?? [];
  }

  private async groupReadiness(arn: string, min: number): Promise<Readiness> {
    return targetsReadiness(groupName(arn), await this.targetHealth(arn), min);
  }

  /** An ECS service on `taskDef` with its tasks running, and its target group's targets healthy. */
  private async sideReadiness(serviceName: string, groupArn: string, taskDef: string): Promise<Readiness> {
    const svc = await this.service(serviceName);
    const s = ecsReadiness(svc, taskDef);
    if (s.failed || !s.ready) return s.failed ? { ...s, failed: `${s.failed}${recentEvents(svc)}` } : { ...s, why: `${s.why}${recentEvents(svc)}` };
    const g = await this.groupReadiness(groupArn, svc.desiredCount ?? 1);
    return { ready: g.ready, why: `${s.why}; ${g.why}` };
  }

  /** Polls until ready; a side that failed, or is not ready by the deadline, is a DeployNotReady saying why. */
  private async waitReady(step: string, version: string, probe: () => Promise<Readiness>): Promise<Readiness> {
    const deadline = Date.now() + this.readyMs;
    for (;;) {
      const r = await probe();
      if (r.ready) return r;
      if (r.failed || Date.now() >= deadline) {
        const why = r.failed ?? `not ready after ${this.readyMs / 1000} s (${this.at}.ready_timeout_seconds): ${r.why}`;
        throw deployNotReady(`${SYSTEM}: ${step} of ${this.opts.service} ${version}: ${why}`, {
          system: SYSTEM,
          step,
          version,
          reason: r.failed ? 'Failed' : 'Timeout',
        });
      }
      await pause(this.pollMs, { step, version, why: r.why });
    }
  }

  /** Before any traffic goes to the canary group: it runs the version (ECS) and has a healthy target. */
  private async guardCanary(version: string): Promise<void> {
    const e = this.opts.ecs;
    const problems: string[] = [];
    if (e) {
      const want = await this.taskDefinitionFor(version);
      const svc = await this.service(e.canaryService);
      if (svc.taskDefinition !== want)
        problems.push(`ECS service ${e.canaryService} is on ${svc.taskDefinition ? shortTd(svc.taskDefinition) : 'nothing'}, not ${shortTd(want)}`);
      else if ((svc.runningCount ?? 0) < 1) problems.push(`ECS service ${e.canaryService} runs no task`);
    }
    const g = await this.groupReadiness(this.opts.canaryTargetGroupArn, 1);
    if (!g.healthy) problems.push(g.why);
    if (problems.length) {
      throw nonRetryableFailure(
        FailureType.Rejected,
        `${SYSTEM}: not routing to the canary of ${this.opts.service} ${version}: ${problems.join('; ')}: prepare it before shifting traffic`,
        {
          system: SYSTEM,
        },
      );
    }
  }

  // --- ECS ---

  private async service(name: string): Promise<Service> {
    const e = this.opts.ecs!;
    const out = await this.call(
      'ECS',
      `DescribeServices ${e.cluster}/${name}`,
      `ecs:DescribeServices on service ${e.cluster}/${name}`,
      () => this.ecs!.send(new DescribeServicesCommand({ cluster: e.cluster, services: [name] })),
      { named: `ECS cluster ${e.cluster}`, setting: `${this.at}.ecs.cluster` },
    );
    const svc = out.services?.[0];
    if (!svc || svc.status === 'INACTIVE') {
      const reason = out.failures?.[0]?.reason ?? svc?.status ?? 'MISSING';
      const setting = name === e.stableService ? 'stable_service' : 'canary_service';
      throw nonRetryableFailure(
        FailureType.NotFound,
        `ECS: service ${name} in cluster ${e.cluster} does not exist (${reason}): create it or fix ${this.at}.ecs.${setting}`,
        {
          system: 'ECS',
          code: reason,
        },
      );
    }
    return svc;
  }

  /** Sets the service's task definition and/or desired count, only where they differ; returns the service before. */
  private async updateService(name: string, want: { taskDefinition?: string; desiredCount?: number }): Promise<Service> {
    const e = this.opts.ecs!;
    const svc = await this.service(name);
    const change = {
      ...(want.taskDefinition !== undefined && svc.taskDefinition !== want.taskDefinition ? { taskDefinition: want.taskDefinition } : {}),
      ...(want.desiredCount !== undefined && svc.desiredCount !== want.desiredCount ? { desiredCount: want.desiredCount } : {}),
    };
    if (Object.keys(change).length === 0) return svc;
    await this.call('ECS', `UpdateService ${e.cluster}/${name}`, `ecs:UpdateService on service ${e.cluster}/${name}`, () =>
      this.ecs!.send(new UpdateServiceCommand({ cluster: e.cluster, service: name, ...change })),
    );
    return svc;
  }

  /** ACTIVE revisions of the family, newest first (sorted here too: not every endpoint honours `sort`). */
  private async familyRevisions(): Promise<string[]> {
    const family = this.opts.ecs!.taskDefinitionFamily;
    const arns: string[] = [];
    let nextToken: string | undefined;
    // three pages (300 revisions) back is far enough for a release's versions
    for (let page = 0; page < 3; page++) {
      const out = await this.call('ECS', `ListTaskDefinitions ${family}`, 'ecs:ListTaskDefinitions', () =>
        this.ecs!.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', nextToken })),
      );
      arns.push(...(out.taskDefinitionArns ?? []).filter((a) => a.split('/').pop()?.replace(/:\d+$/, '') === family));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    return arns.sort((a, b) => revisionOf(b) - revisionOf(a));
  }

  private async describeTaskDefinition(arn: string): Promise<{ td?: TaskDefinition; tags: Record<string, string> }> {
    const e = this.opts.ecs!;
    const out = await this.call(
      'ECS',
      `DescribeTaskDefinition ${arn}`,
      'ecs:DescribeTaskDefinition',
      () => this.ecs!.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, ...(e.versionTag ? { include: ['TAGS'] } : {}) })),
      { named: `task definition ${arn}` },
    );
    return { td: out.taskDefinition, tags: Object.fromEntries((out.tags ?? []).map((t) => [t.key ?? '', t.value ?? ''])) };
  }

  /** The version a task definition carries: its tag's value, or its container's image tag; null when it has none. */
  private async versionOf(arn: string): Promise<string | null> {
    if (this.versionOfArn.has(arn)) return this.versionOfArn.get(arn)!;
    const e = this.opts.ecs!;
    const { td, tags } = await this.describeTaskDefinition(arn);
    let version: string | null;
    if (e.versionTag) {
      version = tags[e.versionTag] ?? null;
    } else {
      const containers = td?.containerDefinitions ?? [];
      const c = e.container ? containers.find((x) => x.name === e.container) : containers.length === 1 ? containers[0] : undefined;
      if (!c) {
        const names = containers.map((x) => x.name).join(', ');
        throw configurationError(
          e.container
            ? `ECS: task definition ${shortTd(arn)} has no container ${e.container} (it has ${names}): fix ${this.at}.ecs.container`
            : `ECS: task definition ${shortTd(arn)} has containers ${names}: set ${this.at}.ecs.container to the one whose image tag is the version (or ${this.at}.ecs.version_tag)`,
          { system: 'ECS' },
        );
      }
      version = imageTag(c.image) ?? null;
    }
    this.versionOfArn.set(arn, version);
    return version;
  }

  /** The newest ACTIVE revision carrying the version; none is a DeployNotReady (there is nothing to run). */
  private async taskDefinitionFor(version: string): Promise<string> {
    const cached = this.byVersion.get(version);
    if (cached) return cached;
    const e = this.opts.ecs!;
    const arns = await this.familyRevisions();
    for (const arn of arns) {
      if ((await this.versionOf(arn)) === version) {
        this.byVersion.set(version, arn);
        return arn;
      }
    }
    const how = e.versionTag ? `has the tag ${e.versionTag}=${version}` : `runs an image tagged ${version}${e.container ? ` in container ${e.container}` : ''}`;
    throw deployNotReady(
      `ECS: no ACTIVE revision of task definition family ${e.taskDefinitionFamily} (${arns.length} looked at) ${how}: register one before releasing ${this.opts.service} ${version}`,
      { system: 'ECS', version, reason: 'NoTaskDefinition' },
    );
  }

  // --- calls ---

  private async call<T>(system: string, what: string, permission: string, fn: () => Promise<T>, opts: { named?: string; setting?: string } = {}): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw awsFailure(err, { system, what, permission, ...opts });
    }
  }
}

function recentEvents(svc: Service): string {
  const events = (svc.events ?? [])
    .slice(0, 3)
    .map((ev) => ev.message)
    .filter(Boolean);
  return events.length ? `; recent service events: ${events.join(' | ')}` : '';
}

const groupName = (arn: string) => /targetgroup\/([^/]+)/.exec(arn)?.[1] ?? arn;
const shortTd = (arn: string) => arn.split('/').pop() ?? arn;
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
