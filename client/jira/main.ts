// Runs the Jira webhook receiver: `npx tsx client/jira/main.ts`. Config from QUAD_CONFIG (triggers.jira);
// the shared secret from the env var triggers.jira.secret names; Temporal from TEMPORAL_* (temporal/connection.ts).
// Listens on QUAD_JIRA_HOST:QUAD_JIRA_PORT (default 0.0.0.0:3001), path /jira/webhook; put it behind HTTPS
// and give Jira that URL with the same secret.
import { stopOnSignals, runMain } from '../entrypoint';
import { loadConfig } from '../../config/load';
import { connectClient } from '../../temporal/connection';
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
  console.log(
    `quad jira webhook listening on http://${host}:${port}${JIRA_ENDPOINT} (Temporal ${settings.address}, namespace ${settings.namespace}, queue ${settings.taskQueue})`,
  );
  stopOnSignals(() => hook.stop(), close);
}

runMain(main);
