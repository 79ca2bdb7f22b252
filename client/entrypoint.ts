// What every long-running client process (Slack app, Jira webhook) does around its work: stop cleanly on
// SIGINT/SIGTERM, and print config or input problems in plain words (anything else with its stack).
import { ConfigError, InputError } from '../config/errors';

export function stopOnSignals(...steps: (() => Promise<unknown>)[]): void {
  const stop = async () => {
    for (const step of steps) await step().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

export function runMain(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err instanceof ConfigError || err instanceof InputError ? err.message : err);
    process.exit(1);
  });
}
