// The dashboard's own signing key: like the Slack app's, a front end's key, listed in security.signers
// under `dashboard` with front_end: true, that signs each command for the person the dashboard signed in.
import { CommandSigner, loadPrivateKey } from '../signing';

export const DASHBOARD_SIGNER = 'dashboard';

/** From $QUAD_DASHBOARD_SIGNING_KEY (a path, or the PEM itself); null when none is set. */
export function dashboardSigner(env: NodeJS.ProcessEnv = process.env, name = DASHBOARD_SIGNER): CommandSigner | null {
  const ref = env.QUAD_DASHBOARD_SIGNING_KEY;
  return ref ? new CommandSigner(loadPrivateKey(ref, 'QUAD_DASHBOARD_SIGNING_KEY'), name) : null;
}
