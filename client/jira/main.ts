// Runs the Jira webhook receiver: `npx tsx client/jira/main.ts`. Config from QUAD_CONFIG (triggers.jira);
// the shared secret from the env var triggers.jira.secret names; Temporal from TEMPORAL_* (client/connection.ts).
// Listens on QUAD_JIRA_HOST:QUAD_JIRA_PORT (default 0.0.0.0:3001), path /jira/webhook; put it behind HTTPS
// and give Jira that URL with the same secret.
import { loadConfig } from '../../config/load';
import { ConfigError, InputError } from '../../config/errors';
import { connectClient } from '../connection';
import { Releases } from '../releases';
import { createJiraWebhook, jiraSecretFromEnv, JIRA_ENDPOINT } from './webhook';

async function main(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig();
  const secret = jiraSecretFromEnv(config, env);
  const { client, settings, close } = await connectClient(config, env);
  const releases = new Releases(client, config, settings.taskQueue);
  const hook = createJiraWebhook({ releases, config, secret });
  const host = env.QUAD_JIRA_HOST ?? '0.0.0.0';
  const { port } = await hook.start({ port: Number(env.QUAD_JIRA_PORT ?? 3001), host });
  console.log(`quad jira webhook listening on http://${host}:${port}${JIRA_ENDPOINT} (Temporal ${settings.address}, namespace ${settings.namespace}, queue ${settings.taskQueue})`);
  const stop = async () => {
    await hook.stop().catch(() => undefined);
    await close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof InputError ? err.message : err);
  process.exit(1);
});
