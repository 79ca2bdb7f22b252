// Runs the Slack app: `npx tsx client/slack/main.ts`. Config from QUAD_CONFIG
// (default .quad/production-agent.yml); the bot token and signing secret from the env vars that
// providers.slack names; Temporal from TEMPORAL_* (temporal/connection.ts).
//   HTTP (default):  listens on QUAD_SLACK_HOST:QUAD_SLACK_PORT (default 0.0.0.0:3000), path /slack/events;
//                    put it behind HTTPS and give Slack that URL (slack-app-manifest.yml).
//   Socket Mode:     set SLACK_APP_TOKEN (xapp-..., scope connections:write) — no public URL needed.
import { stopOnSignals, runMain } from '../entrypoint';
import { loadConfig } from '../../config/load';
import { connectClient } from '../../temporal/connection';
import { Releases } from '../releases';
import { createSlackApp, slackSecretsFromEnv, ENDPOINT } from './app';

async function main(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig();
  const secrets = slackSecretsFromEnv(config, env);
  const { client, settings, close } = await connectClient(config, env);
  const releases = new Releases(client, config, settings.taskQueue);
  const socketMode = Boolean(secrets.appToken) && env.QUAD_SLACK_SOCKET_MODE !== '0';
  const slack = createSlackApp({ releases, config, secrets, socketMode });
  const host = env.QUAD_SLACK_HOST ?? '0.0.0.0';
  const { port } = await slack.start({ port: Number(env.QUAD_SLACK_PORT ?? env.PORT ?? 3000), host });
  console.log(
    socketMode
      ? `quad slack app connected over Socket Mode (Temporal ${settings.address}, namespace ${settings.namespace}, queue ${settings.taskQueue})`
      : `quad slack app listening on http://${host}:${port}${ENDPOINT} (Temporal ${settings.address}, namespace ${settings.namespace}, queue ${settings.taskQueue})`,
  );
  stopOnSignals(() => slack.stop(), close);
}

runMain(main);
