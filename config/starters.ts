// Who may start a release, and who steers a release whose service names no approvers. Fail closed: a
// service lists its `starters`; the top-level `release_managers` may start anything; an empty list
// admits nobody else. Entries are exact person IDs (a Slack user ID, a name), `group:<Slack group>`
// (checked through `memberOf`, which only the Slack app can answer), `jira:<accountId>` or `jira:*`,
// `email:<address>` (the email trigger), `unleash:<user>` / `launchdarkly:<member>` (flag webhooks, or `:*`).
import type { QuadConfig } from './schema';
import { ownEntry } from './lookup';
import { flagPlan } from './resolve';

/** Who is asking, as the door that verified them knows them (an email sender, a flag tool's user, ...). */
export type Starter = { slack: string } | { jira: string } | { name: string } | { email: string } | { unleash: string } | { launchdarkly: string };

/** The doors whose people are named `<door>:<id>` in entries; `<door>:*` admits anyone that door verified, but not for email. */
const PREFIXED = ['jira', 'email', 'unleash', 'launchdarkly'] as const;

/** Is a Slack user in the group an entry names (the part after `group:`)? Throws when it cannot tell. */
export type MemberOf = (group: string, userId: string) => Promise<boolean>;

export type StartPermission = { allowed: true; via?: string } | { allowed: false; why: string };

/** The entries that admit someone to start `service`: its starters, then the release managers. */
export function startersOf(cfg: QuadConfig, service: string): string[] {
  return [...(ownEntry(cfg.services, service)?.starters ?? []), ...cfg.release_managers];
}

/** The service a flag ramp is judged by: its starters start the ramp. */
export function flagService(cfg: QuadConfig, flag: string): string | undefined {
  return flagPlan(cfg, flag)?.service ?? Object.keys(cfg.services)[0];
}

function directMatch(entry: string, who: Starter): boolean {
  for (const door of PREFIXED) {
    if (!(door in who)) continue;
    const id = (who as Record<string, string>)[door];
    // addresses compare case-insensitively; a From header anyone can write never matches a wildcard
    if (door === 'email') return entry.toLowerCase() === `email:${id.toLowerCase()}`;
    return entry === `${door}:*` || entry === `${door}:${id}`;
  }
  if (PREFIXED.some((door) => entry.startsWith(`${door}:`)) || entry.startsWith('group:')) return false;
  return entry === ('slack' in who ? who.slack : (who as { name: string }).name);
}

/** May `who` act where `entries` decides? Named entries first, then each Slack group (asked of Slack). */
export async function admitted(entries: readonly string[], who: Starter, memberOf?: MemberOf): Promise<StartPermission> {
  if (entries.some((e) => directMatch(e, who))) return { allowed: true };
  const problems: string[] = [];
  if ('slack' in who) {
    for (const entry of entries.filter((e) => e.startsWith('group:'))) {
      if (!memberOf) {
        problems.push(`${entry} cannot be checked here`);
        continue;
      }
      try {
        if (await memberOf(entry.slice('group:'.length), who.slack)) return { allowed: true, via: entry };
      } catch (err) {
        problems.push(`could not check ${entry} with Slack (${(err as Error).message})`);
      }
    }
  }
  return { allowed: false, why: problems.join('; ') };
}

/** May `who` start a release of `service`? The reason in words when not. */
export async function mayStart(cfg: QuadConfig, service: string, who: Starter, memberOf?: MemberOf): Promise<StartPermission> {
  const entries = startersOf(cfg, service);
  const verdict = await admitted(entries, who, memberOf);
  if (verdict.allowed) return verdict;
  const base =
    entries.length === 0
      ? `nobody may start a release of ${service}: config lists no starters for it and no release_managers`
      : `only the starters of ${service} and the release managers may start a release of it`;
  return { allowed: false, why: verdict.why ? `${base}, and ${verdict.why}` : base };
}
