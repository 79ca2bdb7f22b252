// Runs the Slack app: `npx tsx client/slack/main.ts`. Config from QUAD_CONFIG
// (default .quad/production-agent.yml); the bot token and signing secret from the env vars that
// providers.slack names; Temporal from TEMPORAL_* (temporal/connection.ts); the key that signs commands
// from QUAD_SLACK_SIGNING_KEY (listed as security.signers.slack-app with front_end: true).
//   HTTP (default):  listens on QUAD_SLACK_HOST:QUAD_SLACK_PORT (default 0.0.0.0:3000), path /slack/events;
//                    put it behind HTTPS and give Slack that URL (slack-app-manifest.yml).
//   Socket Mode:     set SLACK_APP_TOKEN (xapp-..., scope connections:write) — no public URL needed.
import { stopOnSignals, runMain } from '../entrypoint';
import { loadConfig } from '../../config/load';
import { connectClient } from '../../temporal/connection';
import { Releases } from '../releases';
import { slackSigner } from '../signing';
import { createSlackApp, slackSecretsFromEnv, ENDPOINT } from './app';

async function main(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig();
  const secrets = slackSecretsFromEnv(config, env);
  const { client, settings, close } = await connectClient(config, env);
  // the app's own key (QUAD_SLACK_SIGNING_KEY) signs each command for the Slack user it verified
  const releases = new Releases(client, config, settings.taskQueue, slackSigner(env));
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
