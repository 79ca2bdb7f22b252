// Runs the email trigger: `npm run trigger:email`. Config from QUAD_CONFIG (triggers.email); the shared
// secret (verify: secret) from the env var it names; Temporal from TEMPORAL_* (temporal/connection.ts).
// Listens for SMTP on QUAD_EMAIL_HOST:QUAD_EMAIL_PORT (default 0.0.0.0:2525): point an MX (or your mail
// server's forwarding rule for a release address) at it. Replies go out through triggers.email.smtp.
import { stopOnSignals, runMain } from '../entrypoint';
import { loadConfig } from '../../config/load';
import { connectClient } from '../../temporal/connection';
import { Releases } from '../releases';
import { createInboundEmail, emailSecretFromEnv, replyTransport } from './inbound';

async function main(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig();
  const secret = emailSecretFromEnv(config, env);
  const transport = replyTransport(config, env);
  const { client, settings, close } = await connectClient(config, env);
  const releases = new Releases(client, config, settings.taskQueue);
  const inbound = createInboundEmail({ releases, config, secret, transport: transport ?? undefined });
  const host = env.QUAD_EMAIL_HOST ?? '0.0.0.0';
  const { port } = await inbound.start({ port: Number(env.QUAD_EMAIL_PORT ?? 2525), host });
  console.log(
    `quad email trigger listening on smtp://${host}:${port} (${config.triggers!.email!.verify}; replies ${transport ? 'by SMTP' : 'logged only'}; Temporal ${settings.address}, queue ${settings.taskQueue})`,
  );
  stopOnSignals(() => inbound.stop(), close);
}

runMain(main);
