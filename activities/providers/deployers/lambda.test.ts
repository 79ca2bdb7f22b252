// The Lambda alias deployer against a real moto server over HTTP, through the counting proxy
// (test/support/aws-proxy) that counts UpdateAlias calls and can cut an answer. moto reports every
// version Active at once; the Pending and Failed paths are shown by the proxy editing moto's
// GetFunctionConfiguration answer (the only state moto cannot reach).
import { GetAliasCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { startMoto, useFakeAwsCredentials, type LocalMoto } from '../../../test/support/moto';
import { restError, startAwsProxy, type AwsProxy } from '../../../test/support/aws-proxy';
import { REGION, createIamUser, createLambdaWorld, motoIam, type LambdaWorld } from '../../../test/support/aws-fixtures';
import { LambdaDeployer, type LambdaDeployerOptions } from './lambda';
import { failureOf } from '../../../test/support/failure-of';

useFakeAwsCredentials();

describe('LambdaDeployer against moto', () => {
  let moto: LocalMoto;
  let proxy: AwsProxy;
  let lambda: LambdaClient;
  const opened: LambdaDeployer[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    proxy = await startAwsProxy(moto.endpoint);
    lambda = new LambdaClient({ region: REGION, endpoint: moto.endpoint });
  });
  afterAll(async () => {
    opened.forEach((d) => d.close());
    lambda?.destroy();
    await proxy?.close();
    await moto?.stop();
  });
  beforeEach(() => proxy.reset());

  const deployer = (w: LambdaWorld, extra: Partial<LambdaDeployerOptions> = {}) => {
    const d = new LambdaDeployer({
      service: 'checkout',
      region: REGION,
      endpoint: proxy.endpoint,
      functionName: w.functionName,
      alias: w.alias,
      pollMs: 20,
      ...extra,
    });
    opened.push(d);
    return d;
  };
  /** The alias as moto reads it back: [FunctionVersion, AdditionalVersionWeights]. */
  const alias = async (w: LambdaWorld) => {
    const a = await lambda.send(new GetAliasCommand({ FunctionName: w.functionName, Name: w.alias }));
    return [a.FunctionVersion, a.RoutingConfig?.AdditionalVersionWeights ?? {}];
  };
  const target = { service: 'checkout', version: 'v2', previousVersion: 'v1' };

  test('prepare finds v2 Active; shifts 5 → 25 → 100 are read back exactly; promote leaves v2 alone on the alias', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    const d = deployer(w);
    expect((await d.prepare(target)).detail).toBe(`function ${w.functionName} version ${w.versions.v2} (v2) is Active; alias live on version ${w.versions.v1}`);
    expect(await alias(w)).toEqual([w.versions.v1, {}]);
    for (const p of [5, 25]) {
      expect(await d.shift(target, p)).toEqual({ percent: p, version: 'v2', previousVersion: 'v1' });
      expect(await alias(w)).toEqual([w.versions.v1, { [w.versions.v2]: p / 100 }]);
      expect(await d.currentTraffic(target)).toEqual({ percent: p, version: 'v2', previousVersion: 'v1' });
    }
    expect(await d.shift(target, 100)).toEqual({ percent: 100, version: 'v2', previousVersion: 'v1' });
    expect(await alias(w)).toEqual([w.versions.v2, {}]);
    expect(await d.promote(target)).toEqual({ percent: 100, version: 'v2', previousVersion: 'v1' });
    expect(await alias(w)).toEqual([w.versions.v2, {}]);
    // the shifts wrote three times; promote found the alias as it wants it
    expect(proxy.callsOf('UpdateAlias').map((c) => c.body)).toEqual([
      { FunctionVersion: w.versions.v1, RoutingConfig: { AdditionalVersionWeights: { [w.versions.v2]: 0.05 } }, RevisionId: expect.any(String) },
      { FunctionVersion: w.versions.v1, RoutingConfig: { AdditionalVersionWeights: { [w.versions.v2]: 0.25 } }, RevisionId: expect.any(String) },
      { FunctionVersion: w.versions.v2, RoutingConfig: { AdditionalVersionWeights: {} }, RevisionId: expect.any(String) },
    ]);
    expect((await d.retire(target)).detail).toMatch(/^nothing to release: a published Lambda version holds no capacity of its own/);
  });

  test('a bad release at 25 % is reverted in one UpdateAlias call: v1 alone, no weights; a second revert sends nothing', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    const d = deployer(w);
    await d.prepare(target);
    await d.shift(target, 25);
    proxy.reset();
    expect(await d.revert(target)).toEqual({ percent: 0, version: 'v2', previousVersion: 'v1' });
    expect(await alias(w)).toEqual([w.versions.v1, {}]);
    expect(await d.currentTraffic(target)).toEqual({ percent: 0, version: 'v2', previousVersion: 'v1' });
    await d.revert(target);
    expect(proxy.count('UpdateAlias')).toBe(1);
  });

  test('a revert after promote points the alias back at v1', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    const d = deployer(w);
    await d.shift(target, 100);
    await d.promote(target);
    await d.revert(target);
    expect(await alias(w)).toEqual([w.versions.v1, {}]);
  });

  test('crash mid-shift: UpdateAlias reached moto but its answer was lost; the retried shift reads 25 % and sends nothing', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    const d = deployer(w, { maxAttempts: 1 });
    proxy.dropAnswerNext('UpdateAlias');
    expect(await failureOf(d.shift(target, 25))).toMatchObject({ type: 'TransientError', nonRetryable: false });
    expect(await alias(w)).toEqual([w.versions.v1, { [w.versions.v2]: 0.25 }]);
    expect((await d.shift(target, 25)).percent).toBe(25);
    expect((await d.shift(target, 25)).percent).toBe(25);
    expect(proxy.count('UpdateAlias')).toBe(1);
    expect(await alias(w)).toEqual([w.versions.v1, { [w.versions.v2]: 0.25 }]);
  });

  test('a first release (no previous version) splits with what the alias served before, and cannot be reverted once the alias is on it alone', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    const d = deployer(w);
    const first = { service: 'checkout', version: 'v2', previousVersion: null };
    expect(await d.shift(first, 10)).toEqual({ percent: 10, version: 'v2', previousVersion: null });
    expect(await alias(w)).toEqual([w.versions.v1, { [w.versions.v2]: 0.1 }]);
    // what serves beside it is read from the alias
    expect(await d.currentTraffic(first)).toEqual({ percent: 10, version: 'v2', previousVersion: 'v1' });
    await d.shift(first, 100);
    const f = await failureOf(d.revert(first));
    expect(f).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
    expect(f.message).toBe(`Lambda: cannot revert checkout v2: it has no previous version and alias live already points at its version ${w.versions.v2}`);
  });

  test('version_from number: the release version is the Lambda version number', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    const d = deployer(w, { versionFrom: 'number' });
    const t = { service: 'checkout', version: w.versions.v2, previousVersion: w.versions.v1 };
    await d.prepare(t);
    await d.shift(t, 50);
    expect(await alias(w)).toEqual([w.versions.v1, { [w.versions.v2]: 0.5 }]);
    expect(await d.currentTraffic(t)).toEqual({ percent: 50, version: w.versions.v2, previousVersion: w.versions.v1 });
    expect(await failureOf(d.shift({ ...t, version: 'v2' }, 5))).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
  });

  test('prepare: no published version with that description is a DeployNotReady saying how to publish one, before any write', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1'] });
    const f = await failureOf(deployer(w).prepare(target));
    expect(f).toMatchObject({ type: 'DeployNotReady', nonRetryable: true, details: { reason: 'NoPublishedVersion', version: 'v2' } });
    expect(f.message).toMatch(
      new RegExp(
        `^Lambda: no published version of ${w.functionName} has the description "v2": publish one \\(aws lambda publish-version --function-name ${w.functionName} --description v2\\)`,
      ),
    );
    expect(proxy.count('UpdateAlias')).toBe(0);
  });

  test('prepare waits while the version is Pending, and fails at once with the reason when it is Failed (states the proxy writes into moto’s answer)', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    let polls = 0;
    proxy.editAnswers('GetFunctionConfiguration', (c) => (++polls <= 3 ? { ...c, State: 'Pending', LastUpdateStatus: 'InProgress' } : c));
    expect((await deployer(w).prepare(target)).detail).toMatch(/is Active/);
    expect(polls).toBe(4);

    proxy.reset();
    proxy.editAnswers('GetFunctionConfiguration', (c) => ({ ...c, State: 'Pending' }));
    const slow = await failureOf(deployer(w, { readyTimeoutSeconds: 0.2 }).prepare(target));
    expect(slow).toMatchObject({ type: 'DeployNotReady', nonRetryable: true, details: { reason: 'Timeout', state: 'Pending' } });
    expect(slow.message).toMatch(/version \d+: still Pending \/ last update Successful after 0\.2 s \(services\.checkout\.deployer\.ready_timeout_seconds\)$/);

    proxy.reset();
    proxy.editAnswers('GetFunctionConfiguration', (c) => ({
      ...c,
      State: 'Failed',
      StateReasonCode: 'SubnetOutOfIPAddresses',
      StateReason: 'All subnets are out of IP addresses',
    }));
    const failed = await failureOf(deployer(w).prepare(target));
    expect(failed).toMatchObject({ type: 'DeployNotReady', nonRetryable: true, details: { reason: 'Failed', state: 'Failed' } });
    expect(failed.message).toMatch(/: it failed: SubnetOutOfIPAddresses: All subnets are out of IP addresses$/);
    expect(proxy.count('GetFunctionConfiguration')).toBe(1);
  });

  test('check: the function and the alias exist; a missing alias or function is reported, not thrown', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    const checks = await deployer(w).check('checkout');
    expect(checks.map((c) => [c.ok, c.name])).toEqual([
      [true, `reach Lambda in us-east-1 and find function ${w.functionName}`],
      [true, 'alias live exists on a published version'],
      [true, 'may update alias live (not verified)'],
    ]);
    expect(checks[1].detail).toBe(`version ${w.versions.v1}`);
    const noAlias = await deployer(w, { alias: 'prod' }).check('checkout');
    expect(noAlias[1]).toMatchObject({ ok: false });
    expect(noAlias[1].detail).toMatch(/ResourceNotFoundException: .*: alias prod of function \S+ does not exist: fix services\.checkout\.deployer\.alias$/);
    const noFunction = await deployer(w, { functionName: 'nope' }).check('checkout');
    expect(noFunction).toEqual([
      { name: 'reach Lambda in us-east-1 and find function nope', ok: false, detail: expect.stringMatching(/ResourceNotFoundException/) },
    ]);
  });

  test('throttling is retryable; AccessDenied (moto with its IAM on) is a non-retryable ConfigurationError naming lambda:UpdateAlias', async () => {
    const w = await createLambdaWorld(moto.endpoint, { versions: ['v1', 'v2'] });
    proxy.answerNext('GetAlias', restError(429, 'TooManyRequestsException', 'Rate exceeded'));
    expect(await failureOf(deployer(w, { maxAttempts: 1 }).currentTraffic(target))).toMatchObject({
      type: 'TransientError',
      nonRetryable: false,
      details: { status: 429, code: 'TooManyRequestsException' },
    });

    const user = await createIamUser(moto.endpoint, `lambda-reader${Date.now()}`, ['lambda:Get*', 'lambda:List*']);
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    await motoIam(moto.endpoint, true);
    try {
      process.env.AWS_ACCESS_KEY_ID = user.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = user.secretAccessKey;
      const d = deployer(w, { maxAttempts: 1 });
      expect((await d.check('checkout')).filter((c) => !c.ok)).toEqual([]);
      const f = await failureOf(d.shift(target, 5));
      expect(f).toMatchObject({ type: 'ConfigurationError', nonRetryable: true, details: { status: 403 } });
      expect(f.message).toMatch(/^Lambda UpdateAlias \S+: .*: the worker's AWS identity lacks the permission: allow it lambda:UpdateAlias on \S+$/);
      expect(f.message).not.toContain(user.secretAccessKey);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      await motoIam(moto.endpoint, false);
    }
    expect(await alias(w)).toEqual([w.versions.v1, {}]);
  });
});

describe('LambdaDeployer settings', () => {
  test('a qualified function name or a version as the alias is a ConfigurationError naming the setting', () => {
    expect(() => new LambdaDeployer({ service: 'checkout', functionName: 'checkout:live', alias: 'live' })).toThrow(
      'Lambda: services.checkout.deployer.function_name must be the function\'s name or unqualified ARN (no version or alias), got "checkout:live"',
    );
    expect(() => new LambdaDeployer({ service: 'checkout', functionName: 'arn:aws:lambda:eu-west-1:123456789012:function:checkout:7', alias: 'live' })).toThrow(
      /must be the function's name or unqualified ARN/,
    );
    expect(() => new LambdaDeployer({ service: 'checkout', functionName: 'checkout', alias: '7' })).toThrow(
      'Lambda: services.checkout.deployer.alias must be an alias name (not a version), got "7"',
    );
  });
});
