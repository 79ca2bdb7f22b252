// Who may steer a release from Slack: the approvers the config names for its service (or flag plan),
// the same list the workflow checks again. An empty list admits only the release managers. An entry
// `group:S0614TZR7` or `group:@release-managers` admits the members of that Slack user group; Slack is
// asked (usergroups.users.list), and its answer kept for a minute so a burst of clicks costs one call.
import type { WebClient } from '@slack/web-api';
import type { QuadConfig } from '../../config/schema';
import { ownEntry } from '../../config/lookup';
import { flagPlan } from '../../config/resolve';
import { admitted, type MemberOf, type Starter } from '../../config/starters';

export const RELEASE_ID = /^(release|flag):[A-Za-z0-9_.-]{1,100}$/;

/** The approvers for `release:<service>` / `flag:<name>`, or null when config knows no such release. */
export function approversFor(cfg: QuadConfig, releaseId: string): string[] | null {
  if (!RELEASE_ID.test(releaseId)) return null;
  const [kind, name] = [releaseId.slice(0, releaseId.indexOf(':')), releaseId.slice(releaseId.indexOf(':') + 1)];
  if (kind === 'release') return ownEntry(cfg.services, name)?.approvers ?? null;
  const plan = flagPlan(cfg, name);
  if (!plan) return null;
  if (plan.approvers) return plan.approvers;
  const service = plan.service ?? Object.keys(cfg.services)[0];
  return service === undefined ? null : (ownEntry(cfg.services, service)?.approvers ?? null);
}

/** `via`: the group entry that admitted the user (the workflow accepts it because its plan names it) */
export type Permission = { allowed: true; via?: string } | { allowed: false; why: string };

/** Members of a Slack user group, by the part after `group:` (an ID like S0614TZR7, or @handle). */
export interface GroupDirectory {
  members(group: string): Promise<ReadonlySet<string>>;
}

/** The directory behind Slack's usergroups API (scope usergroups:read), answers cached for `ttlMs`. */
export function slackGroupDirectory(client: WebClient, ttlMs = 60_000, now: () => number = Date.now): GroupDirectory {
  const cache = new Map<string, { at: number; members: Promise<ReadonlySet<string>> }>();
  const idOf = async (group: string): Promise<string> => {
    if (!group.startsWith('@')) return group;
    const res = await client.usergroups.list({});
    const hit = res.usergroups?.find((g) => g.handle === group.slice(1));
    if (!hit?.id) throw new Error(`Slack has no user group with the handle ${group}`);
    return hit.id;
  };
  return {
    members(group) {
      const cached = cache.get(group);
      if (cached && now() - cached.at < ttlMs) return cached.members;
      const members = (async () => {
        const res = await client.usergroups.users.list({ usergroup: await idOf(group) });
        return new Set(res.users ?? []) as ReadonlySet<string>;
      })();
      cache.set(group, { at: now(), members });
      // a failed answer is not kept: the next click asks again
      members.catch(() => cache.delete(group));
      return members;
    },
  };
}

/** Group membership as config/starters asks it, answered by the directory. */
export const memberOfGroups = (groups?: GroupDirectory): MemberOf | undefined =>
  groups ? async (group, userId) => (await groups.members(group)).has(userId) : undefined;

/**
 * May `userId` steer `releaseId`? The service's approvers; when it lists none, only the release managers
 * (fail closed: an empty list is nobody, never everybody). Named users first (no call to Slack), then each
 * group entry. When Slack cannot say whether the user is in a group, the answer is no, with the reason.
 */
export function mayCommand(cfg: QuadConfig, releaseId: string, userId: string, groups?: GroupDirectory): Promise<Permission> {
  return maySteer(cfg, releaseId, { slack: userId }, { memberOf: memberOfGroups(groups), door: 'this app', nobodyFrom: ' from Slack' });
}

/**
 * The rule behind every door that steers a release for a person it verified (Slack by user ID, the
 * dashboard by the name its sign-in gave): the service's approvers, else the release managers, else nobody.
 */
export async function maySteer(
  cfg: QuadConfig,
  releaseId: string,
  who: Starter,
  o: { memberOf?: MemberOf; door: string; nobodyFrom?: string },
): Promise<Permission> {
  const list = approversFor(cfg, releaseId);
  const name = releaseId.replace(/^release:/, '');
  if (list === null) return { allowed: false, why: `${releaseId} is not a release ${o.door} knows` };
  const entries = list.length > 0 ? list : cfg.release_managers;
  const verdict = await admitted(entries, who, o.memberOf);
  if (verdict.allowed) return verdict;
  const base =
    list.length > 0
      ? `only the approvers of ${name} may do that`
      : entries.length > 0
        ? `${name} lists no approvers, so only the release managers may do that`
        : `${name} lists no approvers and config names no release_managers, so nobody may do that${o.nobodyFrom ?? ''}`;
  return { allowed: false, why: verdict.why ? `${base}, and ${verdict.why}` : base };
}
