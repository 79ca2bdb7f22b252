// Config → provider instances, one line per system. Secrets stay as env var NAMES here: each provider
// reads the value from the worker's environment when it calls out, so no secret is ever copied around.
import { resolve } from 'node:path';
import type { QuadConfig, ServiceConfig } from '../../config/schema';
import type { Deployer, FlagProvider, IncidentSink, MetricsSource, Notifier } from './types';
import type { ReleaseStatus } from '../../contract/messages';
import { SandboxDeployer } from './deployers/sandbox';
import { CommandDeployer } from './deployers/command';
import { WebhookDeployer } from './deployers/webhook';
import { AlbDeployer } from './deployers/alb';
import { KubernetesDeployer } from './deployers/kubernetes';
import { LambdaDeployer } from './deployers/lambda';
import { SandboxMetricsSource } from './metrics/sandbox';
import { CloudWatchMetricsSource } from './metrics/cloudwatch';
import { FileFlagProvider } from './flags/file';
import { UnleashFlagProvider } from './flags/unleash';
import { LaunchDarklyFlagProvider } from './flags/launchdarkly';
import { ConsoleNotifier } from './notifiers/console';
import { JsonlFileNotifier } from './notifiers/jsonl-file';
import { EmailNotifier } from './notifiers/email';
import { slackNotifierFromConfig } from './notifiers/slack';
import { incidentSinkFor } from './incidents/from-config';
import { incidentLogsFor, type IncidentLogs } from './logs/from-config';
import { configurationError } from '../failures';
import { GitHubApi } from './gates/github';
import { GitLabApi } from './gates/gitlab';

export interface Providers {
  deployer(service: string): Deployer;
  metrics(service: string): MetricsSource;
  flags(): FlagProvider;
  notifiers: Record<string, Notifier>;
  incidents: IncidentSink;
  /** where the incident activity reads the canary's and baseline's logs (providers.logs); absent: none */
  incidentLogs?: IncidentLogs;
  /** providers.incidents.on_manual_rollback */
  incidentOnManualRollback?: boolean;
  /** for gates with args.source: github (providers.github) */
  github?: GitHubApi;
  /** for gates with args.source: gitlab (providers.gitlab) */
  gitlab?: GitLabApi;
}

/** `${UNLEASH_TOKEN}` → `UNLEASH_TOKEN` (the schema already refused anything else). */
export const envName = (ref: string) => ref.slice(2, -1);

function deployerFor(cfg: QuadConfig, svc: ServiceConfig, name: string): Deployer {
  const d = svc.deployer;
  switch (d.type) {
    case 'sandbox':
      return new SandboxDeployer({ url: d.url ?? cfg.providers.sandbox?.url });
    case 'command':
      return new CommandDeployer({ command: d.command, ...(d.timeout_seconds ? { timeoutMs: d.timeout_seconds * 1000 } : {}) });
    case 'webhook':
      return new WebhookDeployer({
        url: d.url,
        configPath: `services.${name}.deployer`,
        ...(d.token ? { tokenEnv: envName(d.token) } : {}),
        ...(d.phases ? { phases: true } : {}),
      });
    case 'kubernetes':
      return new KubernetesDeployer({
        service: name,
        configPath: `services.${name}.deployer`,
        namespace: d.namespace,
        image: d.image,
        ...(d.deployment ? { deployment: d.deployment } : {}),
        ...(d.canary_deployment ? { canaryDeployment: d.canary_deployment } : {}),
        ...(d.container ? { container: d.container } : {}),
        ...(d.route ? { route: d.route } : {}),
        ...(d.stable_service ? { stableService: d.stable_service } : {}),
        ...(d.canary_service ? { canaryService: d.canary_service } : {}),
        ...(d.endpoint ? { endpoint: d.endpoint } : {}),
      });
    case 'alb':
      return new AlbDeployer({
        service: name,
        configPath: `services.${name}.deployer`,
        region: d.region,
        endpoint: d.endpoint,
        listenerArn: d.listener_arn,
        ruleArn: d.rule_arn,
        stableTargetGroupArn: d.stable_target_group_arn,
        canaryTargetGroupArn: d.canary_target_group_arn,
        ...(d.ecs
          ? {
              ecs: {
                cluster: d.ecs.cluster,
                stableService: d.ecs.stable_service,
                canaryService: d.ecs.canary_service,
                taskDefinitionFamily: d.ecs.task_definition_family,
                container: d.ecs.container,
                versionTag: d.ecs.version_tag,
              },
            }
          : {}),
        readyTimeoutSeconds: d.ready_timeout_seconds,
      });
    case 'lambda':
      return new LambdaDeployer({
        service: name,
        configPath: `services.${name}.deployer`,
        region: d.region,
        endpoint: d.endpoint,
        functionName: d.function_name,
        alias: d.alias,
        versionFrom: d.version_from,
        readyTimeoutSeconds: d.ready_timeout_seconds,
      });
  }
}

function metricsFor(cfg: QuadConfig, svc: ServiceConfig): MetricsSource {
  const m = svc.metrics;
  switch (m.type) {
    case 'sandbox':
      return new SandboxMetricsSource({ url: m.url ?? cfg.providers.sandbox?.url });
    case 'cloudwatch':
      return new CloudWatchMetricsSource({
        region: m.region,
        endpoint: m.endpoint,
        namespace: m.namespace,
        dimensions: m.dimensions,
        metrics: {
          requests: { metricName: m.metrics.requests },
          errors: { metricName: m.metrics.errors },
          latencyP95: { metricName: m.metrics.latency, ...(m.latency_stat ? { stat: m.latency_stat } : {}) },
          ...(m.metrics.cpu ? { cpu: { metricName: m.metrics.cpu } } : {}),
          ...(m.metrics.memory ? { memory: { metricName: m.metrics.memory } } : {}),
        },
        ...(m.conversion
          ? {
              conversion: {
                namespace: m.conversion.namespace, // absent: the entry's namespace
                visitsMetric: m.conversion.visits_metric,
                conversionsMetric: m.conversion.conversions_metric,
                variantDimension: m.conversion.variant_dimension,
                dimensions: m.conversion.dimensions,
                stat: m.conversion.stat,
              },
            }
          : {}),
      });
  }
}

function flagsFor(cfg: QuadConfig, root: string): FlagProvider {
  const p = cfg.providers;
  switch (cfg.feature_flags.provider) {
    case 'file':
      return new FileFlagProvider({ path: resolve(root, p.file_flags?.path ?? '.data/flags.json') });
    case 'unleash':
      if (!p.unleash) throw configurationError('feature_flags.provider is unleash but providers.unleash is not configured (url, token)');
      return new UnleashFlagProvider({
        url: p.unleash.url,
        project: p.unleash.project,
        environment: p.unleash.environment,
        tokenEnv: envName(p.unleash.token),
      });
    case 'launchdarkly':
      if (!p.launchdarkly)
        throw configurationError('feature_flags.provider is launchdarkly but providers.launchdarkly is not configured (project, environment, token)');
      return new LaunchDarklyFlagProvider({
        baseUrl: p.launchdarkly.url,
        projectKey: p.launchdarkly.project,
        environmentKey: p.launchdarkly.environment,
        tokenEnv: envName(p.launchdarkly.token),
      });
  }
}

export interface BuildOptions {
  /** paths in config are relative to this folder (the repo root) */
  root?: string;
  /** the workflow's status, so Slack messages can show verdict findings and approvals */
  statusOf?: (releaseId: string) => Promise<ReleaseStatus | null>;
  env?: NodeJS.ProcessEnv;
}

export function buildProviders(cfg: QuadConfig, opts: BuildOptions = {}): Providers {
  const root = opts.root ?? process.cwd();
  const deployers = new Map(Object.entries(cfg.services).map(([name, svc]) => [name, deployerFor(cfg, svc, name)]));
  const metrics = new Map(Object.entries(cfg.services).map(([name, svc]) => [name, metricsFor(cfg, svc)]));
  let flags: FlagProvider | undefined;
  const notifiers: Record<string, Notifier> = { console: new ConsoleNotifier() };
  if (cfg.notifications.file) notifiers.file = new JsonlFileNotifier(resolve(root, cfg.notifications.file));
  if (cfg.notifications.slack_enabled)
    notifiers.slack = slackNotifierFromConfig(cfg, { ...(opts.statusOf ? { statusOf: opts.statusOf } : {}), ...(opts.env ? { env: opts.env } : {}) });
  const email = cfg.providers.email;
  if (cfg.notifications.email_enabled) {
    if (!email) throw configurationError('notifications.email_enabled is true but providers.email is not configured');
    notifiers.email = new EmailNotifier({
      host: email.host,
      port: email.port,
      secure: email.secure,
      from: email.from,
      to: email.to,
      customers: email.customers,
      ...(email.user ? { user: email.user } : {}),
      ...(email.password ? { passwordEnv: envName(email.password) } : {}),
    });
  }
  const incidents: IncidentSink = incidentSinkFor(cfg, root, opts.env);
  const incidentLogs = incidentLogsFor(cfg);
  const known = (service: string) => {
    if (!deployers.has(service)) {
      throw configurationError(
        `unknown service ${JSON.stringify(service)}: this worker's config has no services.${service} (known: ${[...deployers.keys()].join(', ')}); ` +
          'give the worker the same .quad/production-agent.yml as the client that started the release',
      );
    }
  };
  return {
    deployer: (s) => (known(s), deployers.get(s)!),
    metrics: (s) => (known(s), metrics.get(s)!),
    flags: () => (flags ??= flagsFor(cfg, root)),
    notifiers,
    incidents,
    ...(incidentLogs ? { incidentLogs } : {}),
    incidentOnManualRollback: cfg.providers.incidents?.on_manual_rollback ?? false,
    ...(cfg.providers.github ? { github: new GitHubApi({ apiUrl: cfg.providers.github.api_url, tokenEnv: envName(cfg.providers.github.token) }) } : {}),
    ...(cfg.providers.gitlab ? { gitlab: new GitLabApi({ apiUrl: cfg.providers.gitlab.api_url, tokenEnv: envName(cfg.providers.gitlab.token) }) } : {}),
  };
}
