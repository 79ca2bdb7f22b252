// Runs the dashboard: `npx tsx client/dashboard/main.ts [--as <person>]` (npm run dashboard). Config from
// QUAD_CONFIG; Temporal from TEMPORAL_* (temporal/connection.ts); the key that signs commands from
// QUAD_DASHBOARD_SIGNING_KEY (listed as security.signers.dashboard with front_end: true). Listens on
// QUAD_DASHBOARD_HOST:QUAD_DASHBOARD_PORT (default 127.0.0.1:3002) and prints a one-time sign-in link for
// the person given by --as or QUAD_DASHBOARD_USER: who may act is then decided by config, as for Slack.
import { parseArgs } from 'node:util';
import { stopOnSignals, runMain } from '../entrypoint';
import { loadConfig } from '../../config/load';
import { InputError } from '../../config/errors';
import { connectClient } from '../../temporal/connection';
import { Releases } from '../releases';
import { createDashboard } from './server';
import { dashboardSigner } from './signer';

async function main(env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({ options: { as: { type: 'string' } }, strict: true });
  const person = values.as ?? env.QUAD_DASHBOARD_USER;
  if (!person) throw new InputError('who signs in? Give --as <person> or QUAD_DASHBOARD_USER (a name config lists as an approver or starter)');
  const config = loadConfig();
  const { client, settings, close } = await connectClient(config, env);
  const signer = dashboardSigner(env);
  if (!signer && config.security.require_signed_commands)
    console.error('quad dashboard: QUAD_DASHBOARD_SIGNING_KEY is not set, so its commands go unsigned and releases refuse them');
  const dashboard = createDashboard({ releases: new Releases(client, config, settings.taskQueue, signer) });
  const token = dashboard.sessions.issueToken(person);
  const { url } = await dashboard.start({ host: env.QUAD_DASHBOARD_HOST ?? '127.0.0.1', port: Number(env.QUAD_DASHBOARD_PORT ?? 3002) });
  console.log(`quad dashboard on ${url}/ (Temporal ${settings.address}, namespace ${settings.namespace}, queue ${settings.taskQueue})`);
  // the link works once: it is exchanged for a session cookie
  console.log(`sign in as ${person}: ${url}/login?token=${token}`);
  stopOnSignals(() => dashboard.stop(), close);
}

runMain(main);
