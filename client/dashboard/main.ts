// Runs the dashboard: `npx tsx client/dashboard/main.ts [--as <person>]` (npm run dashboard). Config from
// QUAD_CONFIG; Temporal from TEMPORAL_* (temporal/connection.ts); the key that signs commands from
// QUAD_DASHBOARD_SIGNING_KEY (listed as security.signers.dashboard with front_end: true). Listens on
// QUAD_DASHBOARD_HOST:QUAD_DASHBOARD_PORT (default 127.0.0.1:3002) and prints a one-time sign-in link for
// the person given by --as or QUAD_DASHBOARD_USER, and with dashboard.oidc in config a sign-in by OpenID
// Connect at /oidc/login: who may act is then decided by config, as for Slack.
import { parseArgs } from 'node:util';
import { stopOnSignals, runMain } from '../entrypoint';
import { loadConfig } from '../../config/load';
import { InputError } from '../../config/errors';
import { connectClient } from '../../temporal/connection';
import { Releases } from '../releases';
import { createDashboard } from './server';
import { dashboardSigner } from './signer';
import { oidcSignIn } from './oidc';

async function main(env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({ options: { as: { type: 'string' } }, strict: true });
  const person = values.as ?? env.QUAD_DASHBOARD_USER;
  const config = loadConfig();
  const oidcSettings = config.dashboard?.oidc;
  if (!person && !oidcSettings)
    throw new InputError(
      'who signs in? Give --as <person> or QUAD_DASHBOARD_USER (a name config lists as an approver or starter), or configure dashboard.oidc',
    );
  const { client, settings, close } = await connectClient(config, env);
  const signer = dashboardSigner(env);
  if (!signer && config.security.require_signed_commands)
    console.error('quad dashboard: QUAD_DASHBOARD_SIGNING_KEY is not set, so its commands go unsigned and releases refuse them');
  const oidc = oidcSettings ? await oidcSignIn(oidcSettings, env) : undefined;
  const dashboard = createDashboard({ releases: new Releases(client, config, settings.taskQueue, signer), ...(oidc ? { oidc } : {}) });
  const { url } = await dashboard.start({ host: env.QUAD_DASHBOARD_HOST ?? '127.0.0.1', port: Number(env.QUAD_DASHBOARD_PORT ?? 3002) });
  console.log(`quad dashboard on ${url}/ (Temporal ${settings.address}, namespace ${settings.namespace}, queue ${settings.taskQueue})`);
  if (oidc) console.log(`sign in with ${oidc.issuer}: ${url}/oidc/login`);
  // the link works once: it is exchanged for a session cookie
  if (person) console.log(`sign in as ${person}: ${url}/login?token=${dashboard.sessions.issueToken(person)}`);
  stopOnSignals(() => dashboard.stop(), close);
}

runMain(main);
