// Gates that ask the real systems. A gate with `args.source: github` is judged by the GitHub API:
//   tests_passed, benchmarks_ok  the version's commit has every check run / commit status green
//                                (`args.checks`: the names that must be there and green; absent: all
//                                reported ones, at least one)
//   migrations_tested            the CI job `args.job` passed on the version's commit
//   review_done                  every commit since the serving version came in through a merged pull
//                                request with `args.required_approvals` (default 1) approvals by someone
//                                other than its author, and no change requested
// `rollback_plan` is checked against the plan: every migration dependency declares its undo (the
// down-migration), or `args.runbook_url` answers 200. Any other gate runs its command or URL (./steps).
// Each result says what it saw (which checks, which pull requests, links), bounded for the timeline.
import type { Gate } from '../contract/plan';
import type { CheckResult, GateContext } from '../contract/activities';
import { configurationError } from './failures';
import { checkGate as runGateCommand, renderCommand } from './steps';
import { checkRepo, type CheckRun, type CommitStatus, type GitHubApi, type PullRequest, type Review } from './providers/gates/github';

const DETAIL_CHARS = 900;
/** commits of a compare whose pull requests are read; the compare API itself lists at most 250 */
const MAX_COMMITS = 250;

export interface GateSources {
  github?: GitHubApi;
  /** the version serving now, when the plan does not name it (the deployer knows) */
  servingVersion(service: string, version: string): Promise<string | null>;
}

const bounded = (s: string) => (s.length > DETAIL_CHARS ? `${s.slice(0, DETAIL_CHARS - 1)}…` : s);
const short = (sha: string) => sha.slice(0, 7);

export async function evaluateGate(src: GateSources, service: string, version: string, gate: Gate, ctx?: GateContext): Promise<CheckResult> {
  if (gate.kind === 'rollback_plan') return rollbackPlan(gate, ctx);
  if (gate.args?.source === 'github') {
    const where = `gate ${gate.name}`;
    if (!src.github) throw configurationError(`${where}: args.source is github but providers.github is not configured (token: \${GITHUB_TOKEN})`);
    const r = await githubGate(src, src.github, service, version, gate, where, ctx);
    return { ok: r.ok, detail: bounded(r.detail) };
  }
  if (gate.args?.source !== undefined) throw configurationError(`gate ${gate.name}: args.source ${JSON.stringify(gate.args.source)} is not known (github)`);
  return runGateCommand(service, version, gate);
}

/** `args.ref`: how a version names its commit on GitHub, e.g. "release-${version}"; default the version itself. */
function refOf(gate: Gate, service: string, version: string, where: string): string {
  const template = gate.args?.ref ?? '${version}';
  if (typeof template !== 'string') throw configurationError(`${where}: args.ref must be a string like "v\${version}"`);
  return renderCommand([template], { service, version })[0];
}

async function githubGate(
  src: GateSources,
  gh: GitHubApi,
  service: string,
  version: string,
  gate: Gate,
  where: string,
  ctx: GateContext | undefined,
): Promise<CheckResult> {
  const repo = checkRepo(gate.args?.repo, where);
  const ref = refOf(gate, service, version, where);
  const commit = await gh.commitOf(repo, ref);
  if (!commit) return { ok: false, detail: `${repo} has no tag, branch or commit ${ref} (or the token cannot read it)` };
  switch (gate.kind) {
    case 'tests_passed':
    case 'benchmarks_ok':
      return checksGate(gh, repo, commit.sha, names(gate.args?.checks, `${where}: args.checks`));
    case 'migrations_tested': {
      const job = gate.args?.job;
      if (typeof job !== 'string' || !job) throw configurationError(`${where}: a migrations_tested gate on GitHub needs args.job, the CI job that tests them`);
      return checksGate(gh, repo, commit.sha, [job]);
    }
    case 'review_done': {
      const base = ctx?.previousVersion ?? (await src.servingVersion(service, version));
      const min = gate.args?.required_approvals ?? 1;
      if (typeof min !== 'number' || !Number.isInteger(min) || min < 1)
        throw configurationError(`${where}: args.required_approvals must be a whole number ≥ 1`);
      return reviewGate(gh, repo, commit.sha, ref, base === null ? null : refOf(gate, service, base, where), min);
    }
    default:
      throw configurationError(`${where}: a ${gate.kind} gate cannot ask GitHub (tests_passed, benchmarks_ok, migrations_tested, review_done can)`);
  }
}

function names(v: unknown, where: string): string[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || !x)) throw configurationError(`${where} must be a list of check names`);
  return v as string[];
}

type Seen = { name: string; state: 'green' | 'red' | 'running' | 'skipped'; why: string; url?: string };

function ofRun(r: CheckRun): Seen {
  if (r.status !== 'completed') return { name: r.name, state: 'running', why: r.status, url: r.html_url };
  if (r.conclusion === 'success' || r.conclusion === 'neutral') return { name: r.name, state: 'green', why: r.conclusion, url: r.html_url };
  if (r.conclusion === 'skipped') return { name: r.name, state: 'skipped', why: 'skipped', url: r.html_url };
  return { name: r.name, state: 'red', why: r.conclusion ?? 'no conclusion', url: r.html_url };
}

function ofStatus(s: CommitStatus): Seen {
  const state = s.state === 'success' ? 'green' : s.state === 'pending' ? 'running' : 'red';
  return { name: s.context, state, why: s.state, url: s.target_url ?? undefined };
}

const mark = (s: Seen) =>
  `${s.name} ${s.state === 'green' ? '✓' : s.state === 'running' ? `… ${s.why}` : `✗ ${s.why}`}${s.state === 'red' && s.url ? ` (${s.url})` : ''}`;

async function checksGate(gh: GitHubApi, repo: string, sha: string, required: string[] | null): Promise<CheckResult> {
  const [runs, statuses] = await Promise.all([gh.checkRuns(repo, sha), gh.statuses(repo, sha)]);
  // a re-run adds a run of the same name: the newest one (highest id) is the one that counts
  const latest = new Map<string, CheckRun & { id?: number }>();
  for (const r of runs as Array<CheckRun & { id?: number }>) {
    const had = latest.get(r.name);
    if (!had || (r.id ?? 0) > (had.id ?? 0)) latest.set(r.name, r);
  }
  const seen = new Map<string, Seen>();
  for (const r of latest.values()) seen.set(r.name, ofRun(r));
  for (const s of statuses) if (!seen.has(s.context)) seen.set(s.context, ofStatus(s));
  const on = `on ${repo}@${short(sha)}`;
  if (required) {
    const results = required.map((n) => seen.get(n) ?? { name: n, state: 'red' as const, why: 'not reported' });
    const bad = results.filter((s) => s.state !== 'green');
    return {
      ok: bad.length === 0,
      detail: `${required.length - bad.length} of ${required.length} required checks green ${on}: ${results.map(mark).join(', ')}`,
    };
  }
  const all = [...seen.values()].filter((s) => s.state !== 'skipped');
  if (all.length === 0) return { ok: false, detail: `no check run or commit status reported ${on}: nothing says the tests passed` };
  const bad = all.filter((s) => s.state !== 'green');
  return {
    ok: bad.length === 0,
    detail: `${all.length - bad.length} of ${all.length} checks green ${on}: ${[...bad, ...all.filter((s) => s.state === 'green')].map(mark).join(', ')}`,
  };
}

/** Latest review state per reviewer (DISMISSED clears, COMMENTED does not change it), the author left out. */
function verdictOf(pr: PullRequest, reviews: Review[]): { approvers: string[]; blockers: string[] } {
  const last = new Map<string, Review['state']>();
  for (const r of reviews) {
    const who = r.user?.login;
    if (!who || who === pr.user?.login) continue;
    if (r.state === 'APPROVED' || r.state === 'CHANGES_REQUESTED') last.set(who, r.state);
    else if (r.state === 'DISMISSED') last.delete(who);
  }
  const by = (s: Review['state']) => [...last].filter(([, st]) => st === s).map(([w]) => w);
  return { approvers: by('APPROVED'), blockers: by('CHANGES_REQUESTED') };
}

async function reviewGate(gh: GitHubApi, repo: string, headSha: string, headRef: string, baseRef: string | null, min: number): Promise<CheckResult> {
  const { between, commits, pulls, direct } = await gh.mergedPullsBetween(repo, baseRef, headSha, MAX_COMMITS);
  const scope = between ? `${baseRef}...${headRef}` : `${headRef} (${baseRef ? `${baseRef} is not on GitHub` : 'no serving version'}: its own pull request)`;
  if (commits.length === 0) return { ok: false, detail: `${repo} ${scope}: no commits between them, nothing to release` };
  const lines: string[] = [];
  let ok = direct.length === 0;
  for (const pr of pulls) {
    const { approvers, blockers } = verdictOf(pr, await gh.reviews(repo, pr.number));
    const good = approvers.length >= min && blockers.length === 0;
    ok &&= good;
    lines.push(
      good
        ? `#${pr.number} ✓ ${approvers.join(', ')}`
        : `#${pr.number} ✗ ${blockers.length ? `changes requested by ${blockers.join(', ')}` : `${approvers.length} of ${min} approvals`} (${pr.html_url})`,
    );
  }
  const head = `${pulls.length} pull request${pulls.length === 1 ? '' : 's'} in ${repo} ${scope}`;
  const pushed = direct.length
    ? `; ${direct.length} commit${direct.length === 1 ? '' : 's'} without a reviewed pull request: ${direct.map(short).join(', ')}`
    : '';
  return { ok, detail: `${head}${lines.length ? `: ${lines.join(', ')}` : ''}${pushed}` };
}

/** A dependency that migrates data: named so, or marked `args.migration: true`. */
export function isMigration(d: GateContext['dependencies'][number]): boolean {
  if (d.args?.migration === true) return true;
  if (d.args?.migration === false) return false;
  const command = Array.isArray(d.args?.command) ? d.args.command.join(' ') : '';
  return /migrat/i.test(`${d.name} ${command}`);
}

async function rollbackPlan(gate: Gate, ctx: GateContext | undefined): Promise<CheckResult> {
  const runbook = gate.args?.runbook_url;
  if (runbook !== undefined && typeof runbook !== 'string') throw configurationError(`gate ${gate.name}: args.runbook_url must be a URL`);
  // a release started before the workflow passed its plan here: judged as it was then
  if (!ctx) return { ok: true, detail: 'every traffic and flag change registers its undo (the plan was not passed to this check)' };
  const migrations = ctx.dependencies.filter(isMigration);
  const without = migrations.filter((d) => !d.undo);
  const traffic = 'traffic and flags return to the previous version by themselves';
  if (runbook) {
    // a documented rollback that does not answer is no rollback plan, whatever else is declared
    const answer = await runbookAnswer(runbook);
    if (answer !== 200) return { ok: false, detail: `the runbook ${runbook} answers ${answer}, not 200` };
    return {
      ok: true,
      detail: `runbook ${runbook} answers 200${without.length ? ` (it covers ${nameList(without)}, which declare no undo)` : ''}; ${traffic}`,
    };
  }
  if (without.length > 0) {
    return {
      ok: false,
      detail: `no way back for ${nameList(without)}: declare an undo (the down-migration) on ${without.length === 1 ? 'it' : 'each'}, or args.runbook_url for a documented rollback`,
    };
  }
  return {
    ok: true,
    detail: migrations.length ? `down-migrations declared for ${nameList(migrations)}; ${traffic}` : `no migrations in the plan; ${traffic}`,
  };
}

const nameList = (ds: Array<{ name: string }>) => ds.map((d) => d.name).join(', ');

async function runbookAnswer(url: string): Promise<number | string> {
  try {
    const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(10_000), redirect: 'follow' });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    return `no answer (${(err as Error).message})`;
  }
}
