// Who may steer a release from Slack: the approvers the config names for its service (or flag plan),
// the same list the workflow checks again. An empty list lets anyone, as the workflow does.
import type { QuadConfig } from '../../config/schema';

export const RELEASE_ID = /^(release|flag):[A-Za-z0-9_.-]{1,100}$/;

/** The approvers for `release:<service>` / `flag:<name>`, or null when config knows no such release. */
export function approversFor(cfg: QuadConfig, releaseId: string): string[] | null {
  if (!RELEASE_ID.test(releaseId)) return null;
  const [kind, name] = [releaseId.slice(0, releaseId.indexOf(':')), releaseId.slice(releaseId.indexOf(':') + 1)];
  if (kind === 'release') return cfg.services[name]?.approvers ?? null;
  const plan = cfg.feature_flag?.name === name ? cfg.feature_flag : cfg.flags[name];
  if (!plan) return null;
  if (plan.approvers) return plan.approvers;
  const service = plan.service ?? Object.keys(cfg.services)[0];
  return cfg.services[service]?.approvers ?? null;
}

export type Permission = { allowed: true } | { allowed: false; why: string };

export function mayCommand(cfg: QuadConfig, releaseId: string, userId: string): Permission {
  const list = approversFor(cfg, releaseId);
  if (list === null) return { allowed: false, why: `${releaseId} is not a release this app knows` };
  if (list.length === 0 || list.includes(userId)) return { allowed: true };
  return { allowed: false, why: `only the approvers of ${releaseId.replace(/^release:/, '')} may do that` };
}
