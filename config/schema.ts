// The schema of .quad/production-agent.yml. The seed's sections are kept as written (snake_case);
// `services`, `providers` and `temporal` are ours. Strict objects: a misspelt key is an error, not a
// silently ignored setting.
import { conversionSchema } from './conversion-schema';
import { z } from 'zod';
import { isInheritedName } from './lookup';
import { GATE_KINDS, STEP_KINDS } from '../contract/plan';
import { VERSION_FORMAT_NAMES, type VersionFormat } from './versions';

/** A secret may only be written as a reference to an environment variable, never inline. */
export const secretRef = z.string().regex(/^\$\{[A-Z_][A-Z0-9_]*\}$/, 'a secret must be written as ${ENV_VAR}, never inline');

const percent = z.number().min(0).max(100);
const positive = z.number().positive();
/** Every URL QUAD calls or links to: http(s) only (a file:, data: or javascript: URL is no endpoint). */
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'an http:// or https:// URL');
const criteriaList = z.array(z.string());
/** Where QUAD sends mail: an SMTP server, its login secret only as ${ENV_VAR}. */
const smtpFields = {
  host: z.string(),
  port: z.number().int().positive(),
  secure: z.boolean().default(false),
  user: z.string().optional(),
  password: secretRef.optional(),
};

const day = z.enum(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time like "15:00"');

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const timeZone = z.string().min(1).refine(isTimeZone, 'an IANA time zone like America/Los_Angeles or UTC');

export const releaseWindowSchema = z.strictObject({
  days: z.array(day).min(1),
  start: hhmm,
  end: hhmm,
  time_zone: timeZone,
  /** hold: a stage starts only if it ends before the window closes (else the release holds, guarded); finish: it may run past the end */
  at_end: z.enum(['hold', 'finish']).default('hold'),
});

const ymd = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'a date like "2026-12-18"');
const monthDay = z.string().regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/, 'a day of the year like "12-18"');

/** A time nothing is released in; every part given must hold (e.g. days: [fri] + after: "15:00"). Dates inclusive. */
export const freezeSchema = z
  .strictObject({
    reason: z.string().min(1).max(200),
    from: ymd.optional(),
    to: ymd.optional(),
    every_year: z.strictObject({ from: monthDay, to: monthDay }).optional(),
    days: z.array(day).min(1).optional(),
    after: hhmm.optional(),
    before: hhmm.optional(),
    /** default: the service's release window's zone, else UTC */
    time_zone: timeZone.optional(),
  })
  .refine((f) => f.from || f.to || f.every_year || f.days || f.after || f.before, 'a freeze needs dates (from, to), every_year, days or a time (after, before)')
  .refine((f) => !(f.from && f.to && f.from > f.to), { message: 'from must not be after to', path: ['to'] });

const stepArgs = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]));

export const gateSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(GATE_KINDS),
  args: stepArgs.optional(),
});

export const dependencySchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(STEP_KINDS),
  args: stepArgs.optional(),
  undo: z.strictObject({ kind: z.enum(STEP_KINDS), args: stepArgs.optional() }).optional(),
});

/** One rollout stage. `users_percent` is the seed's word (flag ramps), `traffic_percent` the release one. */
export const stageSchema = z
  .strictObject({
    stage: z.union([z.string(), z.number()]).optional(),
    name: z.string().optional(),
    users_percent: percent.optional(),
    traffic_percent: percent.optional(),
    duration_minutes: z.number().min(0).optional(),
    error_threshold: z.number().min(0).optional(),
    criteria: criteriaList.optional(),
    all_previous_checks_pass: z.boolean().optional(),
    team_approval: z.enum(['required', 'none']).optional(),
  })
  .refine((s) => s.users_percent !== undefined || s.traffic_percent !== undefined, {
    message: 'a stage needs traffic_percent (or users_percent for a flag ramp)',
  });

const versionFormat = z.enum(VERSION_FORMAT_NAMES as [VersionFormat, ...VersionFormat[]]);
export const versionPatternSchema = z.union([
  versionFormat,
  z.array(versionFormat).min(1),
  z.strictObject({
    regex: z
      .string()
      .min(1)
      .max(200)
      .refine((r) => {
        try {
          new RegExp(r);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression'),
  }),
]);

/** An ELBv2 ARN of one kind (listener, listener-rule, targetgroup). */
const elbArn = (kind: string) =>
  z
    .string()
    .regex(
      new RegExp(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\\d{12}:${kind}/\\S+$`),
      `an ELBv2 ${kind} ARN (arn:aws:elasticloadbalancing:…:${kind}/…)`,
    );

export const deployerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sandbox'), url: httpUrl.optional() }),
  z.strictObject({
    type: z.literal('command'),
    command: z.array(z.string()).min(1),
    timeout_seconds: positive.optional(),
  }),
  // phases: the receiver takes every lifecycle step (a `phase` field); without, traffic moves only
  z.strictObject({ type: z.literal('webhook'), url: httpUrl, token: secretRef.optional(), phases: z.boolean().optional() }),
  // an ALB listener (or one rule) whose forward weights split a stable and a canary target group; with
  // `ecs`, an ECS service behind each group; the version is a task definition's image tag (or version_tag)
  // Kubernetes: stable + canary Deployments and Services, an HTTPRoute whose backendRefs weights carry the
  // split; the version is the image tag. Credentials from the default chain (in-cluster or KUBECONFIG).
  z.strictObject({
    type: z.literal('kubernetes'),
    namespace: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .max(63),
    // a repository without a tag or digest: the release's version is the tag
    image: z
      .string()
      .min(1)
      .max(255)
      .refine((i) => !/[@]|:[^/]*$/.test(i), 'must be an image repository without a tag or digest, e.g. registry.example.com/shop/checkout'),
    deployment: z.string().min(1).max(253).optional(),
    canary_deployment: z.string().min(1).max(253).optional(),
    container: z.string().min(1).max(63).optional(),
    route: z.string().min(1).max(253).optional(),
    stable_service: z.string().min(1).max(63).optional(),
    canary_service: z.string().min(1).max(63).optional(),
    /** green's own endpoint for smoke checks: a URL template with {service} {namespace} {port} {version}; default http://{service}.{namespace}.svc.cluster.local:{port} */
    endpoint: z
      .string()
      .max(2048)
      .regex(/^https?:\/\//, 'an http(s) URL template, e.g. http://{service}.{namespace}.svc.cluster.local:{port}')
      .optional(),
  }),
  z
    .strictObject({
      type: z.literal('alb'),
      region: z.string().optional(),
      endpoint: httpUrl.optional(),
      listener_arn: elbArn('listener').optional(),
      rule_arn: elbArn('listener-rule').optional(),
      stable_target_group_arn: elbArn('targetgroup'),
      canary_target_group_arn: elbArn('targetgroup'),
      ecs: z
        .strictObject({
          cluster: z.string().min(1),
          stable_service: z.string().min(1),
          canary_service: z.string().min(1),
          task_definition_family: z.string().min(1),
          container: z.string().min(1).optional(),
          version_tag: z.string().min(1).optional(),
        })
        .optional(),
      ready_timeout_seconds: positive.optional(),
    })
    .refine((d) => !!d.listener_arn !== !!d.rule_arn, { message: 'set exactly one of listener_arn and rule_arn', path: ['listener_arn'] }),
  // a Lambda alias whose AdditionalVersionWeights split to the published version described as the release's version
  z.strictObject({
    type: z.literal('lambda'),
    region: z.string().optional(),
    endpoint: httpUrl.optional(),
    function_name: z.string().min(1),
    alias: z.string().min(1),
    version_from: z.enum(['description', 'number']).optional(),
    ready_timeout_seconds: positive.optional(),
  }),
]);

export const metricsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('sandbox'), url: httpUrl.optional() }),
  z.strictObject({
    type: z.literal('cloudwatch'),
    region: z.string().optional(),
    endpoint: httpUrl.optional(),
    namespace: z.string().min(1),
    /** dimension name → value; ${version}, ${service} and ${region} are filled per side */
    dimensions: z.record(z.string(), z.string()),
    metrics: z.strictObject({
      requests: z.string(),
      errors: z.string(),
      latency: z.string(),
      cpu: z.string().optional(),
      memory: z.string().optional(),
    }),
    latency_stat: z.string().optional(),
    /** an A/B test's business metric: visits and conversions per variant (see config/conversion-schema.ts) */
    conversion: conversionSchema.optional(),
  }),
]);

/**
 * Who may approve, reject, pause or roll back: a Slack user ID or a person's name (what `quad … --by`
 * sends), or a Slack user group as `group:S0614TZR7` (its ID) or `group:@release-managers` (its handle).
 */
const approver = z
  .string()
  .min(1)
  .refine(
    (a) => !a.startsWith('group:') || /^group:(S[A-Z0-9]{2,30}|@[a-z0-9][a-z0-9._-]{0,79})$/.test(a),
    'a Slack user group as group:<ID like S0614TZR7> or group:@<handle>',
  )
  // names are shown in messages: nothing that Slack or a terminal would read as markup or control
  .refine((a) => a.startsWith('group:') || /^[A-Za-z0-9._@+:-]{1,100}$/.test(a), 'a person as a name, user ID or address of letters, digits and ._@+:-');

/** An address as the email trigger compares it: one addr-spec, no display name. */
export const EMAIL_ADDRESS = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}$/;

/**
 * Who may start a release: an approver entry (a Slack user ID, a name `quad --by` sends, `group:…`), or a
 * Jira user as `jira:<accountId>`, or `jira:*` for whoever Jira's own workflow lets move the issue; an
 * email sender as `email:<address>`; a flag tool's user as `unleash:<user>` / `launchdarkly:<member>` (or `:*`).
 */
const starter = z
  .string()
  .min(1)
  .refine(
    (a) => !a.startsWith('group:') || /^group:(S[A-Z0-9]{2,30}|@[a-z0-9][a-z0-9._-]{0,79})$/.test(a),
    'a Slack user group as group:<ID like S0614TZR7> or group:@<handle>',
  )
  .refine((a) => !a.startsWith('jira:') || /^jira:(\*|[A-Za-z0-9:-]{1,128})$/.test(a), 'a Jira user as jira:<accountId>, or jira:* for any')
  .refine((a) => !a.startsWith('email:') || EMAIL_ADDRESS.test(a.slice('email:'.length)), 'a sender as email:<address>, e.g. email:ana@example.com')
  .refine(
    (a) => !/^(unleash|launchdarkly):/.test(a) || /^(unleash|launchdarkly):(\*|[A-Za-z0-9._@+-]{1,200})$/.test(a),
    'a flag tool user as unleash:<email or token name> / launchdarkly:<member email>, or unleash:* / launchdarkly:* for any',
  );

/**
 * A name people type to pick an entry (a service, a flag). Never one every JavaScript object already
 * answers to (`constructor`, `toString`, ...): such a name would be found where nothing is configured.
 * (`__proto__` never reaches here: zod drops it from records, so the loader refuses it in the YAML.)
 */
const entryName = (rule: RegExp, what: string) =>
  z
    .string()
    .regex(rule, { message: what, abort: true })
    .refine((name) => !isInheritedName(name), 'a name every JavaScript object already has (constructor, toString, ...); pick another');

const serviceName = entryName(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a service name of lowercase letters, digits and -');
const flagName = entryName(/^[A-Za-z0-9_.-]{1,100}$/, 'a flag name of letters, digits, _ . -');

const regionName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a region name like eu-west-1');

/**
 * A region of a rollout by waves: its wave (1 first; regions of a wave go in parallel, each wave after the
 * one before succeeded), and how far it goes, as its own stages or as the service's capped at max_percent.
 * A plain name is a region of the one wave, with the service's stages (the rollout in parallel).
 */
const regionSchema = z
  .strictObject({
    name: regionName,
    wave: z.number().int().min(1).max(20).default(1),
    /** the service's stages up to this share (a stage beyond it is cut to it) */
    max_percent: z.number().gt(0).max(100).optional(),
    rollout_plan: z.array(stageSchema).min(1).optional(),
  })
  .refine((r) => !(r.max_percent !== undefined && r.rollout_plan !== undefined), {
    message: 'max_percent caps the service stages; a region with its own rollout_plan says its own percentages: keep one of the two',
    path: ['max_percent'],
  });

export const serviceSchema = z
  .strictObject({
    strategy: z.enum(['canary', 'blue-green', 'ab', 'flag-ramp']).default('canary'),
    /** what this service's versions look like: semver, git-sha, date, image-tag, a list of them, or { regex } */
    version_pattern: versionPatternSchema.default('semver'),
    deployer: deployerSchema.default({ type: 'sandbox' }),
    metrics: metricsSchema.default({ type: 'sandbox' }),
    approvers: z.array(approver).default([]),
    /** who may start a release of this service besides the release managers; empty: only they may */
    starters: z.array(starter).default([]),
    /** roll out region by region in parallel (each stage in every region at once; one bad region undoes all) */
    regions: z.array(z.union([regionName, regionSchema])).default([]),
    /** with region waves: one region's failure rolls back every region (rollback), or ends the release there, keeping the regions already done (stop) */
    on_region_failure: z.enum(['rollback', 'stop']).default('rollback'),
    poll_interval_seconds: positive.default(5),
    approval_timeout_minutes: positive.default(60),
    /** a quorum for every approval gate: required people, one through each group in from, a reminder and an escalation */
    approvals: z
      .strictObject({
        required: z.number().int().min(1).max(20),
        from: z.array(approver.refine((a) => a.startsWith('group:'), 'a group: approver entry, e.g. group:@backend-leads')).default([]),
        timeout_minutes: positive.optional(),
        remind_after_minutes: positive.optional(),
        escalate_after_minutes: positive.optional(),
        escalate_to: approver.optional(),
      })
      .refine((a) => a.from.length <= a.required, { message: 'from names more groups than required approvals can cover', path: ['from'] })
      .optional(),
    release_window: releaseWindowSchema.optional(),
    /** this service's own freezes, besides the top-level ones */
    freezes: z.array(freezeSchema).default([]),
    /** a release that meets a freeze waits for its end, or is refused; an approver may override it with a reason */
    on_freeze: z.enum(['wait', 'refuse']).default('wait'),
    gates: z.array(gateSchema).default([]),
    /** where the release's changes are read: the merged pull requests between the serving version and this one, by label */
    changes: z
      .strictObject({
        source: z.literal('github'),
        repo: z.string().regex(/^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/, 'owner/name, e.g. shop/checkout'),
        /** how a version names its commit on GitHub, e.g. "release-${version}" */
        ref: z.string().min(1).max(200).optional(),
        feature_labels: z.array(z.string().min(1)).default(['feature', 'enhancement']),
        fix_labels: z.array(z.string().min(1)).default(['bug', 'fix', 'bugfix']),
      })
      .optional(),
    /** a stale green is not a green: gates checked longer ago than this when the rollout would begin are checked again */
    gates_max_age_minutes: positive.default(60),
    dependencies: z.array(dependencySchema).default([]),
    post_checks: z.array(gateSchema).default([]),
    /** checks against the new version's own endpoint (`{endpoint}` in an http url or a command), once it is ready and before any user reaches it */
    smoke_checks: z.array(gateSchema).default([]),
    /**
     * strategy ab: the first stage tests B against A on the business metric (metrics.conversion) with an
     * always-valid sequential test; B ships when it converts better by margin_percent (or, with
     * non_inferiority, is no worse than it), A stays when B is worse or nothing is decided in max_duration_minutes.
     */
    ab_test: z
      .strictObject({
        min_detectable_effect_percent: z.number().gt(0).max(100).default(3),
        margin_percent: z.number().min(0).max(100).default(0),
        non_inferiority: z.boolean().default(false),
        max_duration_minutes: positive.max(30 * 24 * 60).default(120),
        confidence_percent: z.number().min(50).lt(100).default(95),
        /** the sample-ratio-mismatch check's level: strict, it stops the test */
        srm_alpha: z.number().gt(0).max(0.05).default(0.001),
      })
      .prefault({}),
    /** this service's bake, instead of deployments.bake_minutes */
    bake_minutes: z
      .number()
      .min(0)
      .max(24 * 60)
      .optional(),
    on_inconclusive: z.enum(['extend-then-pause', 'pause', 'rollback']).default('extend-then-pause'),
    /** criteria every stage of this service is judged by, before the stage's own */
    criteria: criteriaList.default([]),
    min_requests: z.number().int().min(0).default(200),
    rollout_plan: z.array(stageSchema).min(1).optional(),
  })
  .superRefine((svc, ctx) => {
    // an A/B test decides on conversions: a metrics source that measures none would keep A every time
    const measures = svc.metrics.type === 'sandbox' || (svc.metrics.type === 'cloudwatch' && svc.metrics.conversion !== undefined);
    if (svc.strategy === 'ab' && !measures)
      ctx.addIssue({
        code: 'custom',
        path: ['metrics'],
        input: svc.metrics,
        message: 'strategy ab decides on a business metric: give the metrics its conversion (visits and conversions per variant)',
      });
  });

/**
 * How a flag ramps when its plan lists no rollout_plan (`feature_flags.default_rollout_strategy`, or the
 * plan's own `strategy`). `gradual`: 10 % and 50 % for canary_duration_minutes each (the second only if
 * the first passed), then 100 % after a team approval. `immediate`: 100 % at once, watched for
 * canary_duration_minutes and undone on a breach.
 */
export const flagStrategySchema = z.enum(['gradual', 'immediate']);

const flagPlanFields = {
  /** the service whose metrics judge the ramp */
  service: z.string().optional(),
  approvers: z.array(approver).optional(),
  /**
   * What judges the ramp. `service`: the serving version's metrics on absolute limits (works with any
   * metrics source). `variants`: users with the flag on against users with it off, ratios included; the
   * metrics source must report the sides `flag:<name>=on` / `flag:<name>=off` (the sandbox does; for
   * CloudWatch, publish a dimension and map it with ${flag} / ${variant}).
   */
  watch: z.enum(['service', 'variants']).default('service'),
  /** the stages when rollout_plan is absent; default feature_flags.default_rollout_strategy */
  strategy: flagStrategySchema.optional(),
  /** the stages, as written; without it, the strategy's */
  rollout_plan: z.array(stageSchema).min(1).optional(),
};

/** A strategy only stands in for a missing rollout_plan: both at once would leave one of them ignored. */
const oneSourceOfStages = (plan: { strategy?: unknown; rollout_plan?: unknown }, ctx: z.RefinementCtx) => {
  if (plan.strategy !== undefined && plan.rollout_plan !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['strategy'],
      input: plan.strategy,
      message: 'strategy picks the stages of a plan without rollout_plan; keep one of the two',
    });
  }
};

export const flagPlanSchema = z.strictObject({ name: flagName, ...flagPlanFields }).superRefine(oneSourceOfStages);
/** under `flags:`, where the key is the name */
const keyedFlagPlanSchema = z.strictObject(flagPlanFields).superRefine(oneSourceOfStages);

/** A signer's name: what `quad --by` sends or a Slack user ID, or a front end such as slack-app. */
const signerName = entryName(/^[A-Za-z0-9._@-]{1,64}$/, 'a signer name of letters, digits and ._@-');

/** One signer's public key: inline (`ssh-ed25519 AAAA…` or base64 of the 32 raw bytes), from a file, or ${ENV_VAR}. */
const signerSchema = z
  .strictObject({
    public_key: z.string().min(1).optional(),
    public_key_file: z.string().min(1).optional(),
    /** a front end (the Slack app) that checks who its users are: may sign for any approver */
    front_end: z.boolean().default(false),
  })
  .refine((s) => (s.public_key === undefined) !== (s.public_key_file === undefined), 'give exactly one of public_key and public_key_file');

const INCIDENT_TYPES = ['file', 'webhook', 'pagerduty', 'opsgenie', 'github', 'jira'] as const;
type IncidentType = (typeof INCIDENT_TYPES)[number];
/** per type, the settings it cannot do without, and what each is */
const INCIDENT_NEEDS: Record<IncidentType, Record<string, string>> = {
  file: {},
  webhook: {},
  pagerduty: { routing_key: 'the ${ENV_VAR} holding an Events API v2 integration key' },
  opsgenie: { api_key: 'the ${ENV_VAR} holding an Opsgenie API integration key' },
  github: { repo: 'owner/name of the repository issues open in', token: 'the ${ENV_VAR} holding a token with Issues: read and write' },
  jira: {
    url: 'your Jira site, e.g. https://acme.atlassian.net',
    project: 'the project key, e.g. OPS',
    email: 'the account the API token belongs to',
    token: "the ${ENV_VAR} holding that account's API token",
  },
};
/** which types each setting means something to (url and path are checked on their own) */
const INCIDENT_SETTING_TYPES: Partial<Record<string, IncidentType[]>> = {
  signing_secret: ['webhook'],
  routing_key: ['pagerduty'],
  severity: ['pagerduty'],
  api_key: ['opsgenie'],
  priority: ['opsgenie'],
  responders: ['opsgenie'],
  repo: ['github'],
  token: ['github', 'jira'],
  labels: ['github', 'jira'],
  project: ['jira'],
  issue_type: ['jira'],
  email: ['jira'],
};

export const configSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** may start any release, and steer one whose service lists no approvers (fail closed: empty = nobody) */
  release_managers: z.array(starter).default([]),
  /** freezes for every service (e.g. the end of the year), besides each service's own */
  freezes: z.array(freezeSchema).default([]),
  release_management: z
    .strictObject({
      enabled: z.boolean().default(true),
      approval_required: z.boolean().default(false),
      notify_on_start: z.boolean().default(true),
      notify_on_complete: z.boolean().default(true),
    })
    .prefault({}),
  feature_flags: z
    .strictObject({
      provider: z.enum(['file', 'unleash', 'launchdarkly']).default('file'),
      /** how a flag ramps when its plan lists no rollout_plan (see flagStrategySchema) */
      default_rollout_strategy: flagStrategySchema.default('gradual'),
      canary_duration_minutes: z.number().min(0).default(15),
      canary_error_threshold: z.number().min(0).default(1),
    })
    .prefault({}),
  deployments: z
    .strictObject({
      auto_rollback_on_error: z.boolean().default(true),
      error_rate_threshold: z.number().min(0).default(1),
      latency_threshold_ms: positive.default(500),
      max_deployment_duration_minutes: positive.default(240),
      /**
       * After the full rollout: minutes the previous version stays warm beside the new one while the guard
       * watches, so a revert (by hand, or on a breach) is one switch; then it is retired. 0 = none.
       */
      bake_minutes: z
        .number()
        .min(0)
        .max(24 * 60)
        .default(15),
      /**
       * One thing at a time per service: a release, or a flag ramp of a flag whose plan names the service,
       * that finds another at work on it is refused naming it, or waits for it (at most the minutes below).
       */
      when_service_busy: z.enum(['refuse', 'wait']).default('refuse'),
      service_busy_max_wait_minutes: positive.default(60),
    })
    .prefault({}),
  notifications: z
    .strictObject({
      slack_enabled: z.boolean().default(false),
      email_enabled: z.boolean().default(false),
      slack_channel: z.string().default('#releases'),
      file: z.string().optional(),
    })
    .prefault({}),
  /** the seed's single flag plan (e.g. dark_mode) */
  feature_flag: flagPlanSchema.optional(),
  /** more flag plans by name */
  flags: z.record(flagName, keyedFlagPlanSchema).default({}),
  temporal: z
    .strictObject({
      address: z.string().default('127.0.0.1:7233'),
      namespace: z.string().default('default'),
      task_queue: z.string().default('quad-releases'),
      web_ui_url: z.string().default('http://127.0.0.1:8233'),
      /**
       * Worker Versioning: workers join this worker deployment with a build ID (QUAD_BUILD_ID, else the
       * workflow bundle's hash) and every release is pinned to the version it started on, so a release
       * finishes on its own code while new workers roll out. Absent: unversioned workers.
       */
      worker_deployment: z
        .strictObject({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a deployment name of letters, digits and ._-') })
        .optional(),
    })
    .prefault({}),
  /** connection settings of external systems; secrets only as ${ENV_VAR} */
  providers: z
    .strictObject({
      sandbox: z.strictObject({ url: httpUrl }).optional(),
      unleash: z
        .strictObject({ url: httpUrl, token: secretRef, project: z.string().default('default'), environment: z.string().default('production') })
        .optional(),
      launchdarkly: z
        .strictObject({ url: httpUrl.default('https://app.launchdarkly.com'), token: secretRef, project: z.string(), environment: z.string() })
        .optional(),
      file_flags: z.strictObject({ path: z.string() }).optional(),
      /** for gates with args.source: github; api_url for GitHub Enterprise Server (https://host/api/v3) */
      github: z.strictObject({ api_url: httpUrl.default('https://api.github.com'), token: secretRef }).optional(),
      /** for gates with args.source: gitlab; api_url for a self-managed GitLab (https://host/api/v4) */
      gitlab: z.strictObject({ api_url: httpUrl.default('https://gitlab.com/api/v4'), token: secretRef }).optional(),
      slack: z.strictObject({ bot_token: secretRef, signing_secret: secretRef, api_url: httpUrl.optional() }).optional(),
      email: z
        .strictObject({
          ...smtpFields,
          from: z.string(),
          to: z.array(z.string()).default([]),
          customers: z.array(z.string()).default([]),
        })
        .optional(),
      /**
       * where incidents go: `file` appends to `path` (default .data/incidents.jsonl), `webhook` POSTs to
       * `url` (signed with `signing_secret` when set), `pagerduty` / `opsgenie` / `github` / `jira` open
       * one in that tool; `on_manual_rollback` opens one for a rollback a person asked for too
       */
      incidents: z
        .strictObject({
          type: z.enum(INCIDENT_TYPES, { message: `one of ${INCIDENT_TYPES.join(', ')}` }),
          url: z
            .string()
            .url({ protocol: /^https?$/, message: 'an http(s) URL, e.g. https://hooks.example.com/incidents' })
            .optional(),
          path: z.string().min(1).optional(),
          signing_secret: secretRef.optional(),
          routing_key: secretRef.optional(),
          severity: z.enum(['critical', 'error', 'warning', 'info']).optional(),
          api_key: secretRef.optional(),
          priority: z.enum(['P1', 'P2', 'P3', 'P4', 'P5']).optional(),
          responders: z.array(z.strictObject({ type: z.enum(['team', 'user', 'escalation', 'schedule']), name: z.string().min(1) })).optional(),
          repo: z
            .string()
            .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name of a GitHub repository, e.g. acme/checkout')
            .optional(),
          token: secretRef.optional(),
          labels: z.array(z.string().regex(/^[^\s,]{1,50}$/, 'a label without spaces or commas, at most 50 characters')).optional(),
          project: z
            .string()
            .regex(/^[A-Z][A-Z0-9_]{1,9}$/, 'a Jira project key, e.g. OPS')
            .optional(),
          issue_type: z.string().min(1).optional(),
          email: z.string().email('the email of the Jira account the API token belongs to').optional(),
          /** default false */
          on_manual_rollback: z.boolean().optional(),
        })
        .superRefine((inc, ctx) => {
          // Each setting belongs to some types; on another type it would be silently ignored.
          if (inc.type === 'webhook' && inc.url === undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['url'],
              params: { absent: true },
              message: 'type webhook needs url, the address each incident is POSTed to (or use type: file with path)',
            });
          }
          if (inc.type === 'webhook' && inc.path !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['path'], input: inc.path, message: 'path is for type: file; a webhook writes no file' });
          }
          if (inc.type === 'file' && inc.url !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['url'], input: inc.url, message: 'url is for type: webhook; type file writes to path' });
          }
          if (inc.type !== 'file' && inc.type !== 'webhook' && inc.path !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['path'], input: inc.path, message: `path is for type: file; type ${inc.type} writes no file` });
          }
          for (const [key, what] of Object.entries(INCIDENT_NEEDS[inc.type])) {
            if (inc[key as keyof typeof inc] === undefined)
              ctx.addIssue({ code: 'custom', path: [key], params: { absent: true }, message: `type ${inc.type} needs ${key}: ${what}` });
          }
          for (const key of Object.keys(inc) as Array<keyof typeof inc>) {
            const owners = INCIDENT_SETTING_TYPES[key];
            if (owners && inc[key] !== undefined && !owners.includes(inc.type))
              ctx.addIssue({ code: 'custom', path: [key], input: inc[key], message: `${key} is for type ${owners.join(' or ')}, not ${inc.type}` });
          }
        })
        .optional(),
      /** where the incident activity reads the canary's and the baseline's log lines for the breach window */
      logs: z
        .strictObject({
          type: z.enum(['cloudwatch', 'sandbox', 'none'], { message: 'one of cloudwatch, sandbox, none' }),
          /** sandbox: its admin URL (default providers.sandbox.url) */
          url: httpUrl.optional(),
          log_group: z.string().min(1).optional(),
          /** e.g. "${service}/${version}/": the streams of one version */
          stream_prefix: z.string().min(1).optional(),
          /** a CloudWatch Logs filter pattern, e.g. { $.version = "${version}" } */
          filter_pattern: z.string().min(1).optional(),
          region: z.string().min(1).optional(),
          endpoint: httpUrl.optional(),
          /** how far back from the rollback the canary's lines are read, at most (default 15) */
          window_minutes: z
            .number()
            .positive()
            .max(24 * 60)
            .default(15),
          /** lines per side (default 10 000) */
          limit: z.number().int().min(100).max(100_000).default(10_000),
          /**
           * how long after the window's end the lines are read: a log line reaches its store a moment after
           * its request (CloudWatch Logs ingests in seconds), default 2
           */
          settle_seconds: z.number().min(0).max(60).default(2),
          /** rules checked before the built-in ones: a regular expression over the signature, and the advice */
          hints: z
            .array(
              z.strictObject({
                match: z
                  .string()
                  .min(1)
                  .max(200)
                  .refine((r) => {
                    try {
                      new RegExp(r, 'i');
                      return true;
                    } catch {
                      return false;
                    }
                  }, 'must be a valid regular expression, e.g. "cart total|pricing"'),
                hint: z.string().min(1).max(500),
              }),
            )
            .default([]),
        })
        .superRefine((l, ctx) => {
          if (l.type === 'cloudwatch') {
            if (!l.log_group)
              ctx.addIssue({
                code: 'custom',
                path: ['log_group'],
                params: { absent: true },
                message: 'type cloudwatch needs log_group, the group the service logs to',
              });
            if (!l.stream_prefix?.includes('${version}') && !l.filter_pattern?.includes('${version}'))
              ctx.addIssue({
                code: 'custom',
                path: ['stream_prefix'],
                params: { absent: l.stream_prefix === undefined },
                message: `type cloudwatch must tell one version's lines from another's: put \${version} in stream_prefix (e.g. "\${service}/\${version}/") or in filter_pattern`,
              });
          } else {
            for (const key of ['log_group', 'stream_prefix', 'filter_pattern', 'region', 'endpoint'] as const)
              if (l[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], input: l[key], message: `${key} is for type: cloudwatch, not ${l.type}` });
          }
          if (l.type !== 'sandbox' && l.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], input: l.url, message: 'url is for type: sandbox' });
        })
        .optional(),
    })
    .prefault({}),
  /**
   * Signed commands (README, "Signed commands"): approve, reject, rollback, pause, resume and promote are
   * verified by the workflow itself against these public keys. `require_signed_commands: false` takes
   * commands as they come, for a team that relies on Temporal namespace RBAC alone.
   */
  security: z
    .strictObject({
      require_signed_commands: z.boolean().default(true),
      /** how long a signed command stays good (against the release's own clock) */
      command_max_age_seconds: positive.default(300),
      /** how far ahead of the release's clock a signature may be dated (clock skew) */
      command_future_skew_seconds: z.number().min(0).default(60),
      /** the person's (or front end's) name → its public key; a person's key signs only for that name */
      signers: z.record(signerName, signerSchema).default({}),
      /** this user's private key for `quad approve` and friends (else $QUAD_SIGNING_KEY, else ~/.ssh/id_ed25519) */
      signing_key: z.string().min(1).optional(),
    })
    .prefault({}),
  /** the web dashboard (client/dashboard/): sign-in by OIDC, besides the one-time token it prints */
  dashboard: z
    .strictObject({
      oidc: z
        .strictObject({
          /** the provider's issuer URL; its /.well-known/openid-configuration is read at start */
          issuer: httpUrl,
          client_id: z.string().min(1).max(200),
          /** absent: a public client (PKCE only) */
          client_secret: secretRef.optional(),
          /** this dashboard's callback as registered with the provider, e.g. https://quad.example.com/oidc/callback */
          redirect_url: httpUrl,
          /** the ID token claim that names the person as config lists them (approvers, starters) */
          person_claim: z
            .string()
            .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
            .default('preferred_username'),
          scopes: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/)).default(['openid', 'profile']),
        })
        .optional(),
    })
    .optional(),
  services: z.record(serviceName, serviceSchema),
  /** release trains: services released in this order under one parent, each its own release */
  trains: z
    .record(
      serviceName,
      z.strictObject({
        services: z.array(serviceName).min(2).max(20),
        /** a release that fails stops the train; rollback also releases the services done back to their previous versions */
        on_failure: z.enum(['rollback', 'stop']).default('stop'),
      }),
    )
    .default({}),
  /** what else starts releases besides Slack and the CLI (schedules live in Temporal, not here) */
  triggers: z
    .strictObject({
      jira: z
        .strictObject({
          /** the webhook's shared secret (Jira sends X-Hub-Signature: sha256=<HMAC of the body>) */
          secret: secretRef,
          /** the status whose arrival starts a release */
          status: z.string().min(1).default('Ready for Prod'),
          /** where the version is: `fixVersions` (the first one's name) or a field id like customfield_10042 */
          version_field: z
            .string()
            .regex(/^[A-Za-z0-9_]{1,100}$/, 'a Jira field id like fixVersions or customfield_10042')
            .default('fixVersions'),
          /** a field holding the service name; else `services` maps labels / component names to services */
          service_field: z
            .string()
            .regex(/^[A-Za-z0-9_]{1,100}$/, 'a Jira field id like customfield_10043')
            .optional(),
          /** label or component name → service */
          services: z.record(z.string(), z.string()).default({}),
        })
        .optional(),
      /** release emails to an SMTP endpoint: "deploy v1.2.3 to production", "deploy checkout v1.2.3" */
      email: z
        .strictObject({
          /** the only addresses whose messages are read (each must also be a starter: email:<address>) */
          senders: z.array(z.string().regex(EMAIL_ADDRESS, 'an address like ana@example.com')).min(1),
          /** dkim: a passing DKIM signature of the From domain; secret: the token in X-Quad-Token or the subject */
          verify: z.enum(['dkim', 'secret']),
          secret: secretRef.optional(),
          /** the service of "deploy <version> to production"; default the only service */
          service: z.string().optional(),
          reply_from: z.string().regex(EMAIL_ADDRESS, 'an address like quad@example.com'),
          /** where replies are sent; default providers.email */
          smtp: z.strictObject(smtpFields).optional(),
          /** a message over this is refused in SMTP (552) */
          max_bytes: z
            .number()
            .int()
            .min(1024)
            .max(10 * 1024 * 1024)
            .default(256 * 1024),
        })
        .refine((e) => e.verify !== 'secret' || e.secret !== undefined, { message: 'verify: secret needs secret: ${ENV_VAR}', path: ['secret'] })
        .optional(),
      /** flag tools' webhooks: a flag a person turns on is ramped by its plan instead */
      flags: z
        .strictObject({
          /** Unleash's webhook addon sends it as its Authorization header */
          unleash_secret: secretRef.optional(),
          /** LaunchDarkly signs each delivery with it (X-LD-Signature) */
          launchdarkly_secret: secretRef.optional(),
          /**
           * who QUAD's own flag changes are made by, as the tool names them (the Unleash API token's name or
           * its user's email; the LaunchDarkly member or token of providers.launchdarkly.token): ignored
           */
          self: z.array(z.string().min(1).max(200)).min(1),
        })
        .optional(),
    })
    .optional(),
});

export type QuadConfig = z.infer<typeof configSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type StageConfig = z.infer<typeof stageSchema>;
export type FlagPlanConfig = z.infer<typeof flagPlanSchema>;
export type FlagStrategy = z.infer<typeof flagStrategySchema>;
export type JiraTriggerConfig = NonNullable<NonNullable<QuadConfig['triggers']>['jira']>;
export type EmailTriggerConfig = NonNullable<NonNullable<QuadConfig['triggers']>['email']>;
export type FlagTriggerConfig = NonNullable<NonNullable<QuadConfig['triggers']>['flags']>;
