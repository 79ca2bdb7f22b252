// The ALB deployer against a real moto server over HTTP (started with MOTO_ECS_SERVICE_RUNNING=2, so
// ECS services report running tasks), through a counting proxy (test/support/aws-proxy) that counts
// every ModifyListener / ModifyRule / UpdateService and can cut an answer or answer in moto's place.
// What moto does not do, and how the tests stand in for it: it adds no ECS deployment on
// update_service (readiness falls back to the service's counts), registers no ECS task in a target
// group (the fixtures register IP targets), and answers healthy for every registered target (a stopped
// EC2 instance is its `unused` one).
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../../../test/support/moto';
import { jsonError, queryError, startAwsProxy, type AwsProxy, weightsSent } from '../../../test/support/aws-proxy';
import {
  REGION,
  createAlbWorld,
  createEcsWorld,
  createIamUser,
  motoIam,
  runInstance,
  stopInstance,
  type AlbWorld,
  type EcsWorld,
} from '../../../test/support/aws-fixtures';
import { AlbDeployer, awsFailure, ecsReadiness, weightsFor, type AlbDeployerOptions } from './alb';
import { failureOf } from '../../../test/support/failure-of';

useFakeAwsCredentials();

describe('AlbDeployer against moto', () => {
  let moto: LocalMoto;
  let proxy: AwsProxy;
  let elb: ElasticLoadBalancingV2Client;
  let ecs: ECSClient;
  const opened: AlbDeployer[] = [];

  beforeAll(async () => {
    moto = await startMoto(30_000, { env: { MOTO_ECS_SERVICE_RUNNING: '2' } });
    proxy = await startAwsProxy(moto.endpoint);
    elb = new ElasticLoadBalancingV2Client({ region: REGION, endpoint: moto.endpoint });
    ecs = new ECSClient({ region: REGION, endpoint: moto.endpoint });
  });
  afterAll(async () => {
    opened.forEach((d) => d.close());
    elb?.destroy();
    ecs?.destroy();
    await proxy?.close();
    await moto?.stop();
  });
  beforeEach(() => proxy.reset());

  const deployer = (world: AlbWorld, extra: Partial<AlbDeployerOptions> = {}): AlbDeployer => {
    const d = new AlbDeployer({
      service: 'checkout',
      endpoint: proxy.endpoint,
      listenerArn: world.listenerArn,
      stableTargetGroupArn: world.stableTargetGroupArn,
      canaryTargetGroupArn: world.canaryTargetGroupArn,
      pollMs: 20,
      readyTimeoutSeconds: 5,
      ...extra,
    });
    opened.push(d);
    return d;
  };
  const ecsOptions = (w: EcsWorld) => ({ cluster: w.cluster, stableService: w.stableService, canaryService: w.canaryService, taskDefinitionFamily: w.family });

  /** The listener's (or rule's) weights as moto reads them back: [stable, canary]. */
  const weightsOf = (actions: Action[] | undefined, world: AlbWorld): [number | undefined, number | undefined] => {
    const fwd = (actions ?? []).find((a) => a.Type === 'forward');
    const tuples = fwd?.ForwardConfig?.TargetGroups ?? (fwd?.TargetGroupArn ? [{ TargetGroupArn: fwd.TargetGroupArn, Weight: 1 }] : []);
    const w = (arn: string) => tuples.find((t) => t.TargetGroupArn === arn)?.Weight;
    return [w(world.stableTargetGroupArn), w(world.canaryTargetGroupArn)];
  };
  const listenerWeights = async (world: AlbWorld) =>
    weightsOf((await elb.send(new DescribeListenersCommand({ ListenerArns: [world.listenerArn] }))).Listeners?.[0]?.DefaultActions, world);
  const ruleWeights = async (world: AlbWorld) =>
    weightsOf((await elb.send(new DescribeRulesCommand({ RuleArns: [world.ruleArn] }))).Rules?.[0]?.Actions, world);
  const svc = async (w: EcsWorld, name: string) => (await ecs.send(new DescribeServicesCommand({ cluster: w.cluster, services: [name] }))).services![0];

  const target = { service: 'checkout', version: 'v2', previousVersion: 'v1' };

  test('a listener without ECS: prepare adds the canary group at 0 %, shifts 5 → 25 → 100 read back exactly, promote ends at 100 / 0', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const d = deployer(world);
    // before: the listener forwards to the stable group alone
    expect(await listenerWeights(world)).toEqual([1, undefined]);
    const prepared = await d.prepare(target);
    expect(prepared.detail).toMatch(/2 of 2 target\(s\) healthy/);
    expect(await listenerWeights(world)).toEqual([100, 0]);
    for (const p of [5, 25, 100]) {
      const state = await d.shift(target, p);
      expect(state).toEqual({ percent: p, version: 'v2', previousVersion: 'v1' });
      expect(await listenerWeights(world)).toEqual([100 - p, p]);
      expect(await d.currentTraffic(target)).toEqual({ percent: p, version: 'v2', previousVersion: 'v1' });
    }
    expect(await d.promote(target)).toEqual({ percent: 100, version: 'v2', previousVersion: 'v1' });
    expect(await listenerWeights(world)).toEqual([100, 0]);
    // one write per change: prepare, three shifts, promote
    expect(proxy.callsOf('ModifyListener').map(weightsSent)).toEqual(
      [
        [100, 0],
        [95, 5],
        [75, 25],
        [0, 100],
        [100, 0],
      ].map(([s, c]) => ({ [world.stableTargetGroupArn]: s, [world.canaryTargetGroupArn]: c })),
    );
    expect(await d.retire(target)).toEqual({
      detail: 'nothing to release: without services.checkout.deployer.ecs QUAD does not manage what runs behind the target groups',
    });
  });

  test('a listener rule: shift 25 then revert in one ModifyRule call; its conditions and the listener default action stay as they were', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const d = deployer(world, { listenerArn: undefined, ruleArn: world.ruleArn });
    await d.prepare(target);
    expect(proxy.count('ModifyRule')).toBe(0); // the rule already forwards stable 100 / canary 0
    await d.shift(target, 25);
    expect(await ruleWeights(world)).toEqual([75, 25]);
    const before = proxy.count('ModifyRule');
    expect(await d.revert(target)).toEqual({ percent: 0, version: 'v2', previousVersion: 'v1' });
    expect(proxy.count('ModifyRule') - before).toBe(1);
    expect(await ruleWeights(world)).toEqual([100, 0]);
    const rule = (await elb.send(new DescribeRulesCommand({ RuleArns: [world.ruleArn] }))).Rules![0];
    expect(rule.Conditions).toEqual([{ Field: 'path-pattern', Values: ['/api/*'] }]);
    expect(rule.Priority).toBe('10');
    expect(await listenerWeights(world)).toEqual([1, undefined]);
    expect(proxy.count('ModifyListener')).toBe(0);
  });

  test('a fraction of a percent goes out in tenths (975 / 25) and reads back as 2.5 %', async () => {
    expect(weightsFor(2.5)).toEqual({ stable: 975, canary: 25 });
    expect(weightsFor(0)).toEqual({ stable: 100, canary: 0 });
    const world = await createAlbWorld(moto.endpoint);
    const d = deployer(world);
    await d.prepare(target);
    expect((await d.shift(target, 2.5)).percent).toBe(2.5);
    expect(await listenerWeights(world)).toEqual([975, 25]);
    expect((await d.currentTraffic(target))?.percent).toBe(2.5);
  });

  test('crash mid-shift: the ModifyListener reached moto but its answer was lost; the retried shift reads 75 / 25 and sends nothing, so the split is applied once', async () => {
    const world = await createAlbWorld(moto.endpoint);
    // one SDK attempt: a worker killed mid-call does not retry inside the SDK; the activity retry does
    const d = deployer(world, { maxAttempts: 1 });
    await d.prepare(target);
    proxy.reset();
    proxy.dropAnswerNext('ModifyListener');
    const lost = await failureOf(d.shift(target, 25));
    expect(lost).toMatchObject({ type: 'TransientError', nonRetryable: false });
    expect(await listenerWeights(world)).toEqual([75, 25]); // applied, though the caller never heard
    // the activity's retry, then a second identical shift: the same state, no second write
    expect(await d.shift(target, 25)).toEqual({ percent: 25, version: 'v2', previousVersion: 'v1' });
    expect(await d.shift(target, 25)).toEqual({ percent: 25, version: 'v2', previousVersion: 'v1' });
    expect(proxy.count('ModifyListener')).toBe(1);
    expect(proxy.count('DescribeListeners')).toBeGreaterThanOrEqual(3);
    expect(await listenerWeights(world)).toEqual([75, 25]);
  });

  test('ECS: prepare puts the canary service on v2 at the stable desired count, ready before any traffic moves; 5 → 25 → 100; promote puts the stable service on v2 and empties the canary', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const d = deployer(world, { ecs: ecsOptions(e) });
    const prepared = await d.prepare(target);
    expect(prepared.detail).toMatch(/service checkout-canary: 2 of 2 task\(s\) running; target group \S+: 2 of 2 target\(s\) healthy/);
    const canary = await svc(e, e.canaryService);
    expect([canary.taskDefinition, canary.desiredCount, canary.runningCount]).toEqual([e.taskDefinitions.v2, 2, 2]);
    // the canary got no traffic during prepare: every write had it at 0, and the update came first
    const ops = proxy.calls.map((c) => c.op).filter((op) => op === 'UpdateService' || op === 'ModifyListener');
    expect(ops).toEqual(['ModifyListener', 'UpdateService']);
    expect(weightsSent(proxy.callsOf('ModifyListener')[0])[world.canaryTargetGroupArn]).toBe(0);
    expect(proxy.callsOf('UpdateService')[0].body).toMatchObject({ service: e.canaryService, taskDefinition: e.taskDefinitions.v2, desiredCount: 2 });

    for (const p of [5, 25, 100]) {
      await d.shift(target, p);
      expect(await listenerWeights(world)).toEqual([100 - p, p]);
    }
    expect(await d.currentTraffic(target)).toEqual({ percent: 100, version: 'v2', previousVersion: 'v1' });

    await d.promote(target);
    const [stable, emptied] = [await svc(e, e.stableService), await svc(e, e.canaryService)];
    expect([stable.taskDefinition, stable.desiredCount]).toEqual([e.taskDefinitions.v2, 2]);
    expect(emptied.desiredCount).toBe(0);
    expect(await listenerWeights(world)).toEqual([100, 0]);
    // the stable side runs v2 at 100 %: the previous version no longer serves
    expect(await d.currentTraffic(target)).toEqual({ percent: 100, version: 'v2', previousVersion: 'v1' });
    const updates = proxy.count('UpdateService');
    expect((await d.retire(target)).detail).toBe('ECS service checkout-canary scaled to 0 (was 0)');
    expect(proxy.count('UpdateService')).toBe(updates); // already at 0: nothing sent
  });

  test('ECS: a bad release at 25 % is reverted in one ModifyListener call, the stable service untouched; retire then scales the canary to 0', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const d = deployer(world, { ecs: ecsOptions(e) });
    await d.prepare(target);
    await d.shift(target, 25);
    expect(await d.currentTraffic(target)).toEqual({ percent: 25, version: 'v2', previousVersion: 'v1' });
    await expect(d.retire(target)).rejects.toThrow(/the canary group still gets 25 % .*: revert or promote before retiring it/);
    const [modifies, updates] = [proxy.count('ModifyListener'), proxy.count('UpdateService')];
    await d.revert(target);
    expect(proxy.count('ModifyListener') - modifies).toBe(1);
    expect(proxy.count('UpdateService')).toBe(updates);
    expect(await listenerWeights(world)).toEqual([100, 0]);
    expect((await svc(e, e.stableService)).taskDefinition).toBe(e.taskDefinitions.v1);
    expect(await d.currentTraffic(target)).toEqual({ percent: 0, version: 'v2', previousVersion: 'v1' });
    await d.retire(target);
    expect((await svc(e, e.canaryService)).desiredCount).toBe(0);
    // revert again (a retry): nothing left to change
    const calls = proxy.count('ModifyListener') + proxy.count('UpdateService');
    await d.revert(target);
    expect(proxy.count('ModifyListener') + proxy.count('UpdateService')).toBe(calls);
  });

  test('ECS: a revert after promote puts the stable service back on v1 before the weights', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const d = deployer(world, { ecs: ecsOptions(e) });
    await d.prepare(target);
    await d.shift(target, 100);
    await d.promote(target);
    expect((await svc(e, e.stableService)).taskDefinition).toBe(e.taskDefinitions.v2);
    await d.revert(target);
    expect((await svc(e, e.stableService)).taskDefinition).toBe(e.taskDefinitions.v1);
    expect(await listenerWeights(world)).toEqual([100, 0]);
    expect(await d.currentTraffic(target)).toEqual({ percent: 0, version: 'v2', previousVersion: 'v1' });
  });

  test('ECS: a canary whose tasks never all run fails prepare with a non-retryable DeployNotReady saying why, and no traffic moved', async () => {
    const world = await createAlbWorld(moto.endpoint);
    // moto runs 2 tasks per service (MOTO_ECS_SERVICE_RUNNING) and changes that only when the desired
    // count changes: a canary already at 3 stays at 2 of 3, like tasks that keep failing to start
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 3, canaryDesired: 3 });
    const d = deployer(world, { ecs: ecsOptions(e), readyTimeoutSeconds: 0.3 });
    const f = await failureOf(d.prepare(target));
    expect(f).toMatchObject({ type: 'DeployNotReady', nonRetryable: true, details: { system: 'ALB', step: 'prepare', version: 'v2', reason: 'Timeout' } });
    expect(f.message).toMatch(
      /^ALB: prepare of checkout v2: not ready after 0\.3 s \(services\.checkout\.deployer\.ready_timeout_seconds\): service checkout-canary: 2 of 3 task\(s\) running, 1 pending$/,
    );
    expect((await svc(e, e.canaryService)).taskDefinition).toBe(e.taskDefinitions.v2);
    expect(await listenerWeights(world)).toEqual([100, 0]);
    expect(proxy.callsOf('ModifyListener').every((c) => weightsSent(c)[world.canaryTargetGroupArn] === 0)).toBe(true);
  });

  test('no ECS: a canary group whose target moto reports unused (a stopped instance) fails prepare with DeployNotReady naming the reason', async () => {
    const world = await createAlbWorld(moto.endpoint, { targetType: 'instance', targets: 0 });
    const instance = await runInstance(moto.endpoint, world.subnetIds[0]);
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: world.canaryTargetGroupArn, Targets: [{ Id: instance }] }));
    await stopInstance(moto.endpoint, instance);
    const d = deployer(world, { readyTimeoutSeconds: 0.2 });
    const f = await failureOf(d.prepare(target));
    expect(f).toMatchObject({ type: 'DeployNotReady', nonRetryable: true });
    expect(f.message).toMatch(/target group shop\d+-canary: 0 of 1 target\(s\) healthy; 1 unused \(Target\.InvalidState: Target is in the stopped state\)$/);
    expect(await listenerWeights(world)).toEqual([100, 0]);
    // nor will a shift route to it
    const refused = await failureOf(d.shift(target, 5));
    expect(refused).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
    expect(refused.message).toMatch(/not routing to the canary of checkout v2: .*: prepare it before shifting traffic$/);
    expect(await listenerWeights(world)).toEqual([100, 0]);
  });

  test('ECS: a version with no task definition revision fails prepare before anything is written', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const d = deployer(world, { ecs: ecsOptions(e) });
    const f = await failureOf(d.prepare({ ...target, version: 'v9' }));
    expect(f).toMatchObject({ type: 'DeployNotReady', nonRetryable: true, details: { reason: 'NoTaskDefinition', version: 'v9' } });
    expect(f.message).toBe(
      `ECS: no ACTIVE revision of task definition family ${e.family} (2 looked at) runs an image tagged v9: register one before releasing checkout v9`,
    );
    expect(proxy.count('ModifyListener') + proxy.count('UpdateService')).toBe(0);
  });

  test('ECS: versions found by a task definition tag (version_tag) instead of the image tag', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const d = deployer(world, { ecs: { ...ecsOptions(e), versionTag: 'quad:version' } });
    await d.prepare(target);
    expect((await svc(e, e.canaryService)).taskDefinition).toBe(e.taskDefinitions.v2);
    expect(proxy.callsOf('DescribeTaskDefinition').every((c) => JSON.stringify((c.body as { include?: string[] }).include) === '["TAGS"]')).toBe(true);
  });

  test('a shift before prepare is refused: the canary service still runs v1', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const d = deployer(world, { ecs: ecsOptions(e) });
    const f = await failureOf(d.shift(target, 5));
    expect(f).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
    expect(f.message).toMatch(/ECS service checkout-canary is on shop\d+-checkout:1, not shop\d+-checkout:2/);
    expect(proxy.count('ModifyListener')).toBe(0);
  });

  test('check: reaches ELBv2, finds the listener, both groups and the ECS services, and says what it could not verify', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const checks = await deployer(world, { ecs: ecsOptions(e) }).check('checkout');
    expect(checks.map((c) => [c.ok, c.name])).toEqual([
      [true, `reach ELBv2 in us-east-1 and read listener ${world.listenerArn}`],
      [true, expect.stringMatching(/^stable target group shop\d+-stable exists$/)],
      [true, expect.stringMatching(/^canary target group shop\d+-canary exists$/)],
      [true, expect.stringMatching(/^ECS stable service shop\d+\/checkout exists and serves shop\d+-stable$/)],
      [true, expect.stringMatching(/^ECS canary service shop\d+\/checkout-canary exists and serves shop\d+-canary$/)],
      [true, expect.stringMatching(/^task definition family shop\d+-checkout has active revisions$/)],
      [true, expect.stringMatching(/^may change listener .* and the ECS services \(not verified\)$/)],
    ]);
    expect(checks[0].detail).toBe('forwards stable 1 / canary 0 (the canary group is added at weight 0 by prepare)');
    expect(checks[1].detail).toBe('HTTP:8080 ip targets; 2 of 2 target(s) healthy');
    expect(checks[3].detail).toMatch(/^2 of 2 task\(s\) running on shop\d+-checkout:1 \(version v1\)$/);
    expect(checks[6].detail).toMatch(/needs elasticloadbalancing:ModifyListener on arn:.*, ecs:UpdateService on checkout and checkout-canary/);
  });

  test('check: a missing listener, a service serving the wrong group, a missing service are reported, not thrown', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const missing = await deployer(world, { listenerArn: `${world.listenerArn.slice(0, -4)}0000` }).check('checkout');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ ok: false });
    expect(missing[0].detail).toMatch(/ListenerNotFound.*: listener arn:\S+ does not exist: fix services\.checkout\.deployer\.listener_arn$/);

    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    // stable and canary swapped: each service serves the other group
    const checks = await deployer(world, { ecs: { ...ecsOptions(e), stableService: e.canaryService, canaryService: 'nope' } }).check('checkout');
    const byName = (re: RegExp) => checks.find((c) => re.test(c.name))!;
    expect(byName(/ECS stable service/)).toMatchObject({ ok: false });
    expect(byName(/ECS stable service/).detail).toMatch(/^service checkout-canary registers its tasks in shop\d+-canary, not shop\d+-stable: attach it/);
    expect(byName(/ECS canary service/).detail).toMatch(
      /^ECS: service nope in cluster shop\d+ does not exist \(MISSING\): create it or fix services\.checkout\.deployer\.ecs\.canary_service$/,
    );
  });

  test("moto's IAM on: a user who may only describe passes check's reads, then ModifyListener is AccessDenied: a non-retryable ConfigurationError naming the action; an unknown key is a credential error", async () => {
    const world = await createAlbWorld(moto.endpoint);
    const user = await createIamUser(moto.endpoint, `reader${Date.now()}`, ['elasticloadbalancing:Describe*']);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    await motoIam(moto.endpoint, true);
    try {
      process.env.AWS_ACCESS_KEY_ID = user.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = user.secretAccessKey;
      const d = deployer(world, { maxAttempts: 1 });
      const checks = await d.check('checkout');
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      const f = await failureOf(d.prepare(target));
      expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { system: 'ELBv2', status: 403, code: 'AccessDenied' } });
      expect(f.message).toMatch(
        /^ELBv2 ModifyListener arn:\S+: AccessDenied: .*: the worker's AWS identity lacks the permission: allow it elasticloadbalancing:ModifyListener on arn:\S+$/,
      );
      expect(f.message).not.toContain(user.secretAccessKey);

      process.env.AWS_ACCESS_KEY_ID = 'AKIAUNKNOWNKEY000000';
      const unknown = await failureOf(deployer(world, { maxAttempts: 1 }).currentTraffic(target));
      expect(unknown).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { code: 'InvalidClientTokenId' } });
      expect(unknown.message).toMatch(/the worker's AWS credentials were not accepted: check its default credential chain/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      await motoIam(moto.endpoint, false);
    }
  });

  test('throttling and 5xx are retryable, a rejected action is not (answers the proxy gives in place of moto)', async () => {
    const world = await createAlbWorld(moto.endpoint);
    const e = await createEcsWorld(moto.endpoint, world, { versions: ['v1', 'v2'], stableVersion: 'v1', stableDesired: 2, canaryDesired: 0 });
    const d = deployer(world, { maxAttempts: 1, ecs: ecsOptions(e) });
    proxy.answerNext('DescribeListeners', queryError(400, 'Throttling', 'Rate exceeded'));
    expect(await failureOf(d.currentTraffic(target))).toMatchObject({
      type: 'TransientError',
      nonRetryable: false,
      details: { code: 'Throttling', status: 400 },
    });
    proxy.answerNext('DescribeServices', jsonError(500, 'ServerException', 'internal'));
    expect(await failureOf(d.currentTraffic(target))).toMatchObject({ type: 'TransientError', nonRetryable: false, details: { system: 'ECS', status: 500 } });
    proxy.answerNext('ModifyListener', queryError(400, 'InvalidConfigurationRequest', 'A listener cannot have two forward actions'));
    const rejected = await failureOf(d.prepare(target));
    expect(rejected).toMatchObject({ type: 'RequestRejected', nonRetryable: true, details: { code: 'InvalidConfigurationRequestException' } });
    // the network: nothing listens there
    const closed = new AlbDeployer({
      ...{ service: 'checkout', listenerArn: world.listenerArn },
      stableTargetGroupArn: world.stableTargetGroupArn,
      canaryTargetGroupArn: world.canaryTargetGroupArn,
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
    });
    opened.push(closed);
    expect(await failureOf(closed.currentTraffic(target))).toMatchObject({ type: 'TransientError', nonRetryable: false });
  });
});

describe('AlbDeployer without a server', () => {
  const arn = (kind: string) => `arn:aws:elasticloadbalancing:eu-west-1:123456789012:${kind}`;
  const base = { service: 'checkout', stableTargetGroupArn: arn('targetgroup/stable/1'), canaryTargetGroupArn: arn('targetgroup/canary/2') };

  test('settings it cannot work with are ConfigurationErrors naming the setting', () => {
    expect(() => new AlbDeployer({ ...base })).toThrow(
      'ALB: set exactly one of services.checkout.deployer.listener_arn and services.checkout.deployer.rule_arn',
    );
    expect(() => new AlbDeployer({ ...base, listenerArn: arn('listener/app/shop/1/2'), ruleArn: arn('listener-rule/app/shop/1/2/3') })).toThrow(
      /set exactly one/,
    );
    expect(() => new AlbDeployer({ ...base, listenerArn: arn('targetgroup/x/1') })).toThrow(
      'ALB: services.checkout.deployer.listener_arn must be an ELBv2 listener ARN',
    );
    expect(() => new AlbDeployer({ ...base, listenerArn: arn('listener/app/shop/1/2'), canaryTargetGroupArn: base.stableTargetGroupArn })).toThrow(
      /are the same group/,
    );
    expect(
      () =>
        new AlbDeployer({
          ...base,
          listenerArn: arn('listener/app/shop/1/2'),
          ecs: { cluster: 'c', stableService: 's', canaryService: '', taskDefinitionFamily: 'f' },
        }),
    ).toThrow('ALB: services.checkout.deployer.ecs.canary_service is missing');
  });

  test("the region defaults to the ARN's", async () => {
    // nothing listens at that endpoint: the check fails, and its name shows the region it would call
    const d = new AlbDeployer({ ...base, listenerArn: arn('listener/app/shop/1/2'), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const check = await d.check('checkout').finally(() => d.close());
    expect(check).toEqual([
      {
        name: `reach ELBv2 in eu-west-1 and read listener ${arn('listener/app/shop/1/2')}`,
        ok: false,
        detail: expect.stringMatching(/ECONNREFUSED.*\(retrying\)$/),
      },
    ]);
  });

  test('ECS readiness on the deployments real ECS reports: the new PRIMARY running all, a failed rollout, old tasks still running', () => {
    const td = 'arn:aws:ecs:us-east-1:1:task-definition/f:2';
    const base = { serviceName: 'c', taskDefinition: td, desiredCount: 2, runningCount: 4, pendingCount: 0 };
    const primary = { status: 'PRIMARY', taskDefinition: td, runningCount: 2, desiredCount: 2, rolloutState: 'COMPLETED' as const };
    expect(ecsReadiness({ ...base, deployments: [primary] }, td).ready).toBe(true);
    const old = { status: 'ACTIVE', taskDefinition: 'arn:aws:ecs:us-east-1:1:task-definition/f:1', runningCount: 2 };
    expect(ecsReadiness({ ...base, deployments: [{ ...primary, rolloutState: 'IN_PROGRESS' }, old] }, td)).toEqual({
      ready: false,
      why: `service c: 2 of 2 task(s) running on ${td}, 2 task(s) of an older deployment still running`,
    });
    expect(
      ecsReadiness(
        {
          ...base,
          deployments: [{ ...primary, rolloutState: 'FAILED', rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.', id: 'ecs-svc/1' }],
        },
        td,
      ),
    ).toMatchObject({
      ready: false,
      failed: 'its deployment ecs-svc/1 failed: ECS deployment circuit breaker: tasks failed to start.',
    });
    // no deployment for this task definition (moto, an EXTERNAL controller): the service's counts
    expect(ecsReadiness({ ...base, runningCount: 2, deployments: [{ ...old, status: 'PRIMARY' }] }, td).ready).toBe(true);
  });

  test('an error the SDK raises with no HTTP answer is retryable; a missing region is a ConfigurationError', () => {
    const ctx = { system: 'ELBv2', what: 'DescribeListeners x', permission: 'elasticloadbalancing:DescribeListeners' };
    expect(awsFailure(Object.assign(new Error('socket hang up'), { name: 'Error' }), ctx)).toMatchObject({ type: 'TransientError', nonRetryable: false });
    expect(awsFailure(new Error('Region is missing'), ctx)).toMatchObject({ type: 'ConfigurationError', nonRetryable: true });
  });
});
