// Smoke checks: a gate run against the new version's own endpoint (`{endpoint}` in its url or command),
// once the version is ready and before any user is routed to it. The endpoint comes from the deployer.
import type { Gate } from '../contract/plan';
import type { CheckResult } from '../contract/activities';
import type { TrafficTarget } from '../contract/world';
import type { Deployer } from './providers/types';
import { checkGate } from './steps';

/** The gate with `{endpoint}` filled in wherever its args hold text. */
export function withEndpoint(gate: Gate, endpoint: string): Gate {
  if (!gate.args) return gate;
  const fill = (v: unknown) => (typeof v === 'string' ? v.split('{endpoint}').join(endpoint) : v);
  const args = Object.fromEntries(Object.entries(gate.args).map(([k, v]) => [k, Array.isArray(v) ? v.map(fill) : fill(v)]));
  return { ...gate, args: args as Gate['args'] };
}

export async function smokeCheck(deployer: Deployer, target: TrafficTarget, gate: Gate): Promise<CheckResult> {
  const endpoint = deployer.endpoint ? await deployer.endpoint(target) : null;
  if (!endpoint || !/^https?:\/\//.test(endpoint))
    return { ok: false, detail: `the ${deployer.name} deployer gives no endpoint of ${target.version} alone, so ${gate.name} cannot reach it before users do` };
  return checkGate(target.service, target.version, withEndpoint(gate, endpoint));
}
