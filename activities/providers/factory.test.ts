// Config → providers: each `type` in YAML builds its provider, secrets stay env var names.
import { parseConfig } from '../../config/load';
import { buildProviders } from './factory';
import { CommandDeployer } from './deployers/command';
import { WebhookDeployer } from './deployers/webhook';
import { SandboxDeployer } from './deployers/sandbox';
import { CloudWatchMetricsSource } from './metrics/cloudwatch';
import { SandboxMetricsSource } from './metrics/sandbox';
import { UnleashFlagProvider } from './flags/unleash';
import { LaunchDarklyFlagProvider } from './flags/launchdarkly';
import { FileFlagProvider } from './flags/file';
import { EmailNotifier } from './notifiers/email';
import { SlackNotifier } from './notifiers/slack';
import { WebhookIncidentSink } from './incidents/webhook';
import { JsonlIncidentSink } from './incidents/jsonl-file';

const yaml = (flags: string) => `
feature_flags: { provider: ${flags} }
notifications: { slack_enabled: true, email_enabled: true, file: .data/n.jsonl }
providers:
  unleash: { url: http://127.0.0.1:4242, token: "\${UNLEASH_ADMIN_TOKEN}" }
  launchdarkly: { project: web, environment: production, token: "\${LD_API_TOKEN}" }
  slack: { bot_token: "\${SLACK_BOT_TOKEN}", signing_secret: "\${SLACK_SIGNING_SECRET}" }
  email: { host: 127.0.0.1, port: 2525, from: quad@example.com, to: [ops@example.com], password: "\${SMTP_PASSWORD}" }
  incidents: { type: webhook, url: http://127.0.0.1:9/incidents }
services:
  checkout: { }
  search:
    deployer: { type: command, command: ["./deploy.sh", "\${version}", "\${percent}"] }
    metrics: { type: cloudwatch, namespace: App, dimensions: { Version: "\${version}" }, metrics: { requests: R, errors: E, latency: L } }
  payments:
    deployer: { type: webhook, url: http://127.0.0.1:9/deploy, token: "\${DEPLOY_TOKEN}" }
`;

test('every configured type builds its provider', () => {
  const p = buildProviders(parseConfig(yaml('unleash')), { root: '/tmp' });
  expect(p.deployer('checkout')).toBeInstanceOf(SandboxDeployer);
  expect(p.metrics('checkout')).toBeInstanceOf(SandboxMetricsSource);
  expect(p.deployer('search')).toBeInstanceOf(CommandDeployer);
  expect(p.metrics('search')).toBeInstanceOf(CloudWatchMetricsSource);
  expect(p.deployer('payments')).toBeInstanceOf(WebhookDeployer);
  expect(p.flags()).toBeInstanceOf(UnleashFlagProvider);
  expect(Object.keys(p.notifiers).sort()).toEqual(['console', 'email', 'file', 'slack']);
  expect(p.notifiers.email).toBeInstanceOf(EmailNotifier);
  expect(p.notifiers.slack).toBeInstanceOf(SlackNotifier);
  expect(p.incidents).toBeInstanceOf(WebhookIncidentSink);
  expect(buildProviders(parseConfig(yaml('launchdarkly'))).flags()).toBeInstanceOf(LaunchDarklyFlagProvider);
  expect(buildProviders(parseConfig(yaml('file'))).flags()).toBeInstanceOf(FileFlagProvider);
  expect(buildProviders(parseConfig('services: { checkout: {} }')).incidents).toBeInstanceOf(JsonlIncidentSink);
});

test('secrets are not read or copied at build time: only env var names are kept', () => {
  const before = { ...process.env };
  const p = buildProviders(parseConfig(yaml('unleash')), { root: '/tmp', env: {} });
  expect(process.env).toEqual(before);
  expect(JSON.stringify(p.flags())).toContain('UNLEASH_ADMIN_TOKEN');
});

test('an unknown service and a missing provider section are non-retryable ConfigurationErrors (the activities call these)', () => {
  const p = buildProviders(parseConfig('services: { checkout: {} }'));
  const config = (message: string | RegExp) =>
    expect.objectContaining({ type: 'ConfigurationError', nonRetryable: true, message: expect.stringMatching(message) });
  expect(() => p.deployer('payments')).toThrow(config(/^unknown service "payments": this worker's config has no services\.payments \(known: checkout\)/));
  expect(() => p.metrics('payments')).toThrow(config(/^unknown service "payments"/));
  expect(() => buildProviders(parseConfig('feature_flags: { provider: unleash }\nservices: { checkout: {} }')).flags()).toThrow(
    config(/^feature_flags\.provider is unleash but providers\.unleash is not configured/),
  );
});

test('a webhook deployer names its own service in messages', async () => {
  const p = buildProviders(parseConfig(yaml('file')), { root: '/tmp', env: {} });
  const saved = process.env.DEPLOY_TOKEN;
  delete process.env.DEPLOY_TOKEN;
  const err = await p
    .deployer('payments')
    .shift({ service: 'payments', version: 'v2', previousVersion: 'v1' }, 10)
    .catch((e: unknown) => e);
  if (saved !== undefined) process.env.DEPLOY_TOKEN = saved;
  expect(err).toMatchObject({
    type: 'ConfigurationError',
    nonRetryable: true,
    message:
      'webhook deployer: the env var DEPLOY_TOKEN (named by services.payments.deployer.token) is not set on the worker: set it where the worker runs, then retry the release',
  });
});

test('kubernetes, alb and lambda deployers are built from their config, and a bad one is refused with its path', () => {
  const cfg = parseConfig(
    [
      'services:',
      '  shop:',
      '    deployer: { type: kubernetes, namespace: shop, image: registry.example.com/shop/web }',
      '  api:',
      '    deployer:',
      '      type: alb',
      '      region: us-east-1',
      '      listener_arn: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
      '      stable_target_group_arn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-stable/73e2d6bc24d8a067',
      '      canary_target_group_arn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-canary/83e2d6bc24d8a067',
      '  fn:',
      '    deployer: { type: lambda, region: us-east-1, function_name: thumbnails, alias: live }',
    ].join('\n'),
    'quad.yml',
  );
  const p = buildProviders(cfg, { root: '/tmp', env: {} });
  expect(['shop', 'api', 'fn'].map((s) => p.deployer(s).name)).toEqual(['kubernetes', 'alb', 'lambda']);
  expect(() => parseConfig('services:\n  shop:\n    deployer: { type: kubernetes, namespace: Shop_1, image: x }\n', 'quad.yml')).toThrow(
    /services\.shop\.deployer\.namespace/,
  );
  for (const image of ['registry.example.com/shop/web:v1', 'web@sha256:abc']) {
    expect(() => parseConfig(`services:\n  shop:\n    deployer: { type: kubernetes, namespace: shop, image: "${image}" }\n`, 'quad.yml')).toThrow(
      /services\.shop\.deployer\.image: must be an image repository without a tag/,
    );
  }
  // a registry with a port is a repository, not a tag
  expect(() =>
    parseConfig('services:\n  shop:\n    deployer: { type: kubernetes, namespace: shop, image: "registry:5000/shop/web" }\n', 'quad.yml'),
  ).not.toThrow();
});
