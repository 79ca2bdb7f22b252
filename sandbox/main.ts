// Runs the sandbox as a process: tsx sandbox/main.ts --port 8080 [--admin-port 8081]
//   [--serve checkout=v1.2.3 ...] [--flags-file .data/flags.json] [--load-rps 20 [--load-max-s 3600] [--load-users 1000]]
// Prints one JSON line with the URLs when it is up; stops cleanly on SIGINT / SIGTERM.
import { parseArgs } from 'node:util';
import { startLoad, type Load } from './load';
import { startSandbox } from './sandbox';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      'admin-port': { type: 'string' },
      'default-service': { type: 'string', default: 'checkout' },
      serve: { type: 'string', multiple: true, default: [] },
      'load-rps': { type: 'string' },
      'load-max-s': { type: 'string', default: '3600' },
      'load-users': { type: 'string', default: '1000' },
      'flags-file': { type: 'string' },
    },
  });
  const initial: Record<string, string> = {};
  for (const pair of values.serve) {
    const [service, version] = pair.split('=');
    if (!service || !version) throw new Error(`--serve wants service=version, got ${pair}`);
    initial[service] = version;
  }
  const sandbox = await startSandbox({
    port: Number(values.port),
    adminPort: values['admin-port'] === undefined ? undefined : Number(values['admin-port']),
    defaultService: values['default-service'],
    initial,
    flagsFile: values['flags-file'],
  });
  let load: Load | null = null;
  if (values['load-rps']) {
    load = startLoad({
      url: sandbox.url,
      rps: Number(values['load-rps']),
      maxDurationS: Number(values['load-max-s']),
      users: Number(values['load-users']),
    });
  }
  console.log(JSON.stringify({ sandbox: 'up', url: sandbox.url, adminUrl: sandbox.adminUrl, pid: process.pid }));

  const shutdown = async () => {
    await load?.stop();
    await sandbox.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error(`sandbox: ${(err as Error).message}`);
  process.exit(2);
});
