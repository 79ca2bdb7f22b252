// The lifecycle through a deploy command (`${phase}` in its arguments) and a webhook (`phases: true`),
// and the old configs (no phase) that keep working: only traffic moves reach them, a revert is 0 %.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandDeployer } from './command';
import { WebhookDeployer } from './webhook';

const target = { service: 'checkout', version: 'v1.2.4', previousVersion: 'v1.2.3' };

async function lifecycle(d: CommandDeployer | WebhookDeployer) {
  await d.prepare(target);
  await d.shift(target, 25);
  await d.promote(target);
  await d.retire(target);
  await d.revert(target);
}

describe('command deployer', () => {
  let dir: string;
  let log: string;
  let script: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'quad-cmd-'));
    log = join(dir, 'calls');
    script = join(dir, 'deploy.sh');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> '${log}'\n`);
    chmodSync(script, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const calls = () => readFileSync(log, 'utf8').trim().split('\n');

  test('with ${phase}, every step runs the command with its phase', async () => {
    writeFileSync(log, '');
    await lifecycle(new CommandDeployer({ command: [script, '${phase}', '${version}', '${percent}'] }));
    expect(calls()).toEqual(['prepare v1.2.4 0', 'shift v1.2.4 25', 'promote v1.2.4 100', 'retire v1.2.4 ', 'revert v1.2.4 0']);
  });

  test('without ${phase}, only traffic moves run: a revert is the command at 0 %', async () => {
    writeFileSync(log, '');
    const d = new CommandDeployer({ command: [script, '${version}', '${percent}'] });
    await lifecycle(d);
    expect(calls()).toEqual(['v1.2.4 25', 'v1.2.4 0']);
    expect((await d.prepare(target)).detail).toContain('no ${phase}');
  });

  test('check: the program must exist and be executable on the worker', async () => {
    expect(await new CommandDeployer({ command: [script, '${percent}'] }).check('checkout')).toEqual([
      { name: `run ${script} for checkout`, ok: true, detail: 'executable' },
    ]);
    expect((await new CommandDeployer({ command: [join(dir, 'missing.sh')] }).check('checkout'))[0]).toMatchObject({ ok: false });
    writeFileSync(log, '');
    const withPhase = await new CommandDeployer({ command: [script, '${phase}'] }).check('checkout');
    expect(withPhase.map((c) => c.ok)).toEqual([true, true]);
    expect(calls()).toEqual(['check']);
  });
});

describe('webhook deployer', () => {
  let server: Server;
  let url: string;
  const bodies: Record<string, unknown>[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let b = '';
      req
        .on('data', (c) => (b += c))
        .on('end', () => {
          bodies.push(JSON.parse(b) as Record<string, unknown>);
          res.writeHead(204).end();
        });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/deploy`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  test('phases: every step is POSTed with its phase', async () => {
    bodies.length = 0;
    await lifecycle(new WebhookDeployer({ url, phases: true }));
    expect(bodies.map((b) => `${b.phase} ${b.percent}`)).toEqual(['prepare 0', 'shift 25', 'promote 100', 'retire null', 'revert 0']);
  });

  test('without phases, the receiver sees traffic moves only, as before', async () => {
    bodies.length = 0;
    await lifecycle(new WebhookDeployer({ url }));
    expect(bodies).toEqual([
      { service: 'checkout', version: 'v1.2.4', previousVersion: 'v1.2.3', percent: 25 },
      { service: 'checkout', version: 'v1.2.4', previousVersion: 'v1.2.3', percent: 0 },
    ]);
  });
});
