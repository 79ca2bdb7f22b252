// The command deployer runs real programs: small scripts that record the argv they got, fail, hang,
// or print a status. A hostile version must be refused before anything runs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { CommandDeployer } from './command';

describe('CommandDeployer', () => {
  let dir: string;
  let argvFile: string;
  let pwned: string;
  const script = (name: string, body: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return file;
  };
  const recordedArgv = () => fs.readFileSync(argvFile, 'utf8').split('\n').slice(0, -1);
  const target = { service: 'checkout', version: 'v1.2.4', previousVersion: 'v1.2.3' };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quad-command-'));
    argvFile = path.join(dir, 'argv.txt');
    pwned = path.join(dir, 'pwned');
    // one argument per line, exactly as received; plus the env the deployer adds
    script('record.sh', `for a in "$@"; do printf '%s\\n' "$a"; done > "${argvFile}"\necho "$QUAD_SERVICE $QUAD_VERSION $QUAD_PERCENT" > "${argvFile}.env"`);
    script('fail.sh', `for i in $(seq 1 200); do echo "noise line $i" >&2; done\necho "fatal: cluster checkout is read-only token=$DEPLOY_TOKEN" >&2\nexit 3`);
    script('hang.sh', 'exec sleep 10');
    script('status.sh', `echo '{"percent": 25, "version": "'"$2"'", "previousVersion": "v1.2.3"}'`);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => fs.rmSync(argvFile, { force: true }));

  it('passes each templated element as one argument, no shell splitting', async () => {
    const deployer = new CommandDeployer({
      command: [
        path.join(dir, 'record.sh'),
        '--service',
        '${service}',
        '--version',
        '${version}',
        '--percent',
        '${percent}',
        '--note=moving ${service} to ${version}',
        '--previous',
        '${previousVersion}',
        '$HOME',
        '*',
      ],
    });
    expect(await deployer.setTraffic(target, 25)).toEqual({ percent: 25, version: 'v1.2.4', previousVersion: 'v1.2.3' });
    expect(recordedArgv()).toEqual([
      '--service',
      'checkout',
      '--version',
      'v1.2.4',
      '--percent',
      '25',
      '--note=moving checkout to v1.2.4',
      '--previous',
      'v1.2.3',
      '$HOME',
      '*',
    ]);
    expect(fs.readFileSync(`${argvFile}.env`, 'utf8').trim()).toBe('checkout v1.2.4 25');
  });

  it('refuses a hostile version before running anything', async () => {
    const deployer = new CommandDeployer({ command: [path.join(dir, 'record.sh'), '--version', '${version}'] });
    for (const version of [`v1.2.3; rm -rf /`, `v1.2.3; touch ${pwned}`, '$(touch /tmp/x)', '--exec=evil', 'v1 2', 'v1\nv2', '']) {
      const err = await deployer.setTraffic({ ...target, version }, 10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).message).toMatch(/^refused version/);
      expect(err).toMatchObject({ type: 'RequestRejected', nonRetryable: true });
    }
    await expect(deployer.setTraffic({ ...target, service: 'a b' }, 10)).rejects.toThrow(/refused service/);
    await expect(deployer.setTraffic({ ...target, previousVersion: 'x;y' }, 10)).rejects.toThrow(/refused previous version/);
    await expect(deployer.setTraffic(target, 101)).rejects.toThrow(/refused percent/);
    expect(fs.existsSync(argvFile)).toBe(false); // the script never ran
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('reports a non-zero exit with the tail of stderr, secrets cut out', async () => {
    process.env.DEPLOY_TOKEN = 'tok-4f9a1c2e77';
    try {
      const deployer = new CommandDeployer({ command: [path.join(dir, 'fail.sh')] });
      const err = (await deployer.setTraffic(target, 50).catch((e: unknown) => e)) as ApplicationFailure;
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err.message).toMatch(/fail\.sh exited with code 3; stderr: .*fatal: cluster checkout is read-only token=\[redacted\]$/s);
      expect(err.message).toContain('noise line 200');
      expect(err.message).not.toContain('noise line 100\n'); // only the tail
      expect(err.message).not.toContain('tok-4f9a1c2e77');
      expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false, details: [{ system: 'command deployer', exitCode: 3 }] });
    } finally {
      delete process.env.DEPLOY_TOKEN;
    }
  });

  it('stops a program that runs past its timeout', async () => {
    const deployer = new CommandDeployer({ command: [path.join(dir, 'hang.sh')], timeoutMs: 300 });
    const started = Date.now();
    const err = await deployer.setTraffic(target, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'TransientError', nonRetryable: false, message: expect.stringMatching(/hang\.sh timed out after 0\.3 s/) });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a program that cannot be run is a non-retryable ConfigurationError that says so', async () => {
    const deployer = new CommandDeployer({ command: [path.join(dir, 'missing.sh')] });
    const err = await deployer.setTraffic(target, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({
      type: 'ConfigurationError',
      nonRetryable: true,
      message: expect.stringMatching(/cannot run .*missing\.sh: ENOENT: check the deployer's command/),
    });
  });

  it('rejects bad templates when built', () => {
    expect(() => new CommandDeployer({ command: [] })).toThrow(
      expect.objectContaining({ type: 'ConfigurationError', nonRetryable: true, message: 'deploy command needs a program' }),
    );
    expect(() => new CommandDeployer({ command: ['${version}'] })).toThrow(/program itself/);
    expect(() => new CommandDeployer({ command: ['./deploy.sh', '${token}'] })).toThrow(/unknown placeholder \$\{token\}/);
    expect(() => new CommandDeployer({ command: ['./deploy.sh'], statusCommand: ['./status.sh', '${percent}'] })).toThrow(/unknown placeholder/);
  });

  it('reads the current split from a status command, or answers null without one', async () => {
    const withStatus = new CommandDeployer({ command: ['true'], statusCommand: [path.join(dir, 'status.sh'), '--version', '${version}'] });
    expect(await withStatus.currentTraffic(target)).toEqual({ percent: 25, version: 'v1.2.4', previousVersion: 'v1.2.3' });
    expect(await new CommandDeployer({ command: ['true'] }).currentTraffic(target)).toBeNull();
  });
});
