// Runs the flag-change webhook receiver: `npm run trigger:flags`. Config from QUAD_CONFIG (triggers.flags,
// providers.unleash / providers.launchdarkly); the webhook secrets and the tools' API tokens from the env
// vars they name; Temporal from TEMPORAL_* (temporal/connection.ts). Listens on
// QUAD_FLAGS_HOST:QUAD_FLAGS_PORT (default 0.0.0.0:3002) at /flags/unleash and /flags/launchdarkly; put it
// behind HTTPS and point Unleash's webhook addon (Authorization: the same secret) or a signed
// LaunchDarkly webhook at it.
import { stopOnSignals, runMain } from '../entrypoint';
import { loadConfig } from '../../config/load';
import { connectClient } from '../../temporal/connection';
import { Releases } from '../releases';
import { createFlagWebhook, flagSecretsFromEnv, holdOffThroughApi, UNLEASH_ENDPOINT, LAUNCHDARKLY_ENDPOINT } from './webhook';

async function main(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig();
  const secrets = flagSecretsFromEnv(config, env);
  const { client, settings, close } = await connectClient(config, env);
  const releases = new Releases(client, config, settings.taskQueue);
  const hook = createFlagWebhook({ releases, config, secrets, holdOff: holdOffThroughApi(config, env) });
  const host = env.QUAD_FLAGS_HOST ?? '0.0.0.0';
  const { port } = await hook.start({ port: Number(env.QUAD_FLAGS_PORT ?? 3002), host });
  const paths = [secrets.unleash ? UNLEASH_ENDPOINT : '', secrets.launchdarkly ? LAUNCHDARKLY_ENDPOINT : ''].filter(Boolean).join(' and ');
  console.log(`quad flag webhooks listening on http://${host}:${port} at ${paths} (Temporal ${settings.address}, queue ${settings.taskQueue})`);
  stopOnSignals(() => hook.stop(), close);
}

runMain(main);
