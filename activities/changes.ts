// What a release brings: the merged pull requests between the serving version and this one (GitHub's
// compare API, then each commit's pull requests), sorted by label into features, bug fixes and the rest.
// Shown in the start notice, the Slack message, `quad status` and the incident.
import type { ChangesSource } from '../contract/plan';
import type { ReleaseChanges } from '../contract/activities';
import { checkRepo, type GitHubApi, type PullRequest } from './providers/gates/github';
import { configurationError } from './failures';
import { renderCommand } from './steps';

/** Pull requests read at most; a release bigger than this is summarised from its first ones. */
const MAX_COMMITS = 250;
const MAX_ITEMS = 20;
const MAX_TITLE = 200;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

export function summarize(c: Pick<ReleaseChanges, 'features' | 'fixes' | 'other' | 'direct'>): string {
  const parts = [
    c.features ? plural(c.features, 'feature', 'features') : null,
    c.fixes ? plural(c.fixes, 'bug fix', 'bug fixes') : null,
    c.other ? plural(c.other, 'other change', 'other changes') : null,
    c.direct ? plural(c.direct, 'commit without a pull request', 'commits without a pull request') : null,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no changes';
}

export async function releaseChanges(
  gh: GitHubApi | undefined,
  src: ChangesSource,
  service: string,
  version: string,
  previousVersion: string | null,
): Promise<ReleaseChanges> {
  if (!gh) throw configurationError(`${service}: changes are read from GitHub, but providers.github is not configured`);
  const repo = checkRepo(src.repo, `${service}: changes.repo`);
  const refOf = (v: string) => renderCommand([src.ref ?? '${version}'], { service, version: v })[0];
  const head = await gh.commitOf(repo, refOf(version));
  if (!head) return { summary: `${repo} has no ${refOf(version)}`, features: 0, fixes: 0, other: 0, direct: 0, items: [], url: null };
  const baseRef = previousVersion ? refOf(previousVersion) : null;
  const { between, pulls, direct } = await gh.mergedPullsBetween(repo, baseRef, head.sha, MAX_COMMITS);
  const labelled = (p: PullRequest, names: string[]) => p.labels.some((l) => names.includes(l.name.toLowerCase()));
  const kindOf = (p: PullRequest) => (labelled(p, src.featureLabels) ? 'feature' : labelled(p, src.fixLabels) ? 'fix' : 'other') as 'feature' | 'fix' | 'other';
  const all = pulls.map((p) => ({ kind: kindOf(p), number: p.number, title: p.title.slice(0, MAX_TITLE), url: p.html_url }));
  const count = (k: string) => all.filter((i) => i.kind === k).length;
  const c = { features: count('feature'), fixes: count('fix'), other: count('other'), direct: direct.length };
  const url = between && baseRef ? `https://github.com/${repo}/compare/${encodeURIComponent(baseRef)}...${encodeURIComponent(refOf(version))}` : null;
  return { summary: summarize(c), ...c, items: all.slice(0, MAX_ITEMS), url };
}
