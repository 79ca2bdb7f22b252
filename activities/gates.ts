// Gates that ask the real systems. A gate with `args.source: github` is judged by the GitHub API:
//   tests_passed, benchmarks_ok  the version's commit has every check run / commit status green
//                                (`args.checks`: the names that must be there and green; absent: all
//                                reported ones, at least one)
//   migrations_tested            the CI job `args.job` passed on the version's commit
//   review_done                  every commit since the serving version came in through a merged pull
//                                request with `args.required_approvals` (default 1) approvals by someone
//                                other than its author, and no change requested
// `args.source: gitlab` asks the GitLab API about project `args.project` the same way: tests_passed and
// benchmarks_ok need the commit's latest pipeline succeeded and every job in `args.jobs` (when given)
// passed, migrations_tested the job `args.job`, review_done merged merge requests approved by others.
// `rollback_plan` is checked against the plan: every migration dependency declares its undo (the
// down-migration), or `args.runbook_url` answers 200. Any other gate runs its command or URL (./steps).
// Each result says what it saw (which checks, which pull requests, links), bounded for the timeline.
import type { Gate } from '../contract/plan';
import type { CheckResult, GateContext } from '../contract/activities';
import { configurationError } from './failures';
import { visible } from '../contract/visible';
import { checkGate as runGateCommand, renderCommand } from './steps';
import { checkRepo, type CheckRun, type CommitStatus, type GitHubApi, type PullRequest, type Review } from './providers/gates/github';
import { checkProject, type GitLabApi, type Job } from './providers/gates/gitlab';

const DETAIL_CHARS = 900;
/** commits of a compare whose pull requests are read; the compare API itself lists at most 250 */
const MAX_COMMITS = 250;
const FORGE_KINDS: ReadonlyArray<Gate['kind']> = ['tests_passed', 'benchmarks_ok', 'migrations_tested', 'review_done'];

export interface GateSources {
  github?: GitHubApi;
  gitlab?: GitLabApi;
  /** the version serving now, when the plan does not name it (the deployer knows) */
  servingVersion(service: string, version: string): Promise<string | null>;
}

const bounded = (s: string) => (s.length > DETAIL_CHARS ? `${s.slice(0, DETAIL_CHARS - 1)}…` : s);
const short = (sha: string) => sha.slice(0, 7);

interface Asked {
  src: GateSources;
  service: string;
  version: string;
  gate: Gate;
  where: string;
  ctx: GateContext | undefined;
}
type Judge = (a: Asked) => Promise<CheckResult>;

/** The provider a source needs, or the configuration error that names what is missing. */
function configured<T>(provider: T | undefined, source: string, where: string): T {
  if (!provider)
    throw configurationError(`${where}: args.source is ${source} but providers.${source} is not configured (token: \${${source.toUpperCase()}_TOKEN})`);
  return provider;
}

const JUDGES: Record<string, Judge> = {
  github: (a) => githubGate(a, configured(a.src.github, 'github', a.where)),
  gitlab: (a) => gitlabGate(a, configured(a.src.gitlab, 'gitlab', a.where)),
};

export async function evaluateGate(src: GateSources, service: string, version: string, gate: Gate, ctx?: GateContext): Promise<CheckResult> {
  if (gate.kind === 'rollback_plan') return rollbackPlan(gate, ctx);
  const source = gate.args?.source;
  if (source === undefined) return runGateCommand(service, version, gate);
  if (typeof source !== 'string' || !Object.hasOwn(JUDGES, source))
    throw configurationError(`gate ${gate.name}: args.source ${JSON.stringify(source)} is not known (${Object.keys(JUDGES).join(', ')})`);
  const r = await JUDGES[source]({ src, service, version, gate, where: `gate ${gate.name}`, ctx });
  // job, check and user names come from the forge: one line, nothing invisible, bounded
  return { ok: r.ok, detail: bounded(visible(r.detail.replace(/[\r\n\t]+/g, ' '))) };
}

/** `args.ref`: how a version names its commit on the forge, e.g. "release-${version}"; default the version itself. */
function refOf(gate: Gate, service: string, version: string, where: string): string {
  const template = gate.args?.ref ?? '${version}';
  if (typeof template !== 'string') throw configurationError(`${where}: args.ref must be a string like "v\${version}"`);
  return renderCommand([template], { service, version })[0];
}

function notForge(a: Asked, system: string): never {
  throw configurationError(`${a.where}: a ${a.gate.kind} gate cannot ask ${system} (${FORGE_KINDS.join(', ')} can)`);
}

function jobOf(a: Asked, system: string): string {
  const job = a.gate.args?.job;
  if (typeof job !== 'string' || !job) throw configurationError(`${a.where}: a migrations_tested gate on ${system} needs args.job, the CI job that tests them`);
  return job;
}

/** What review_done compares against (the serving version's ref, if any) and how many approvals it needs. */
async function reviewTerms(a: Asked): Promise<{ baseRef: string | null; min: number }> {
  const base = a.ctx?.previousVersion ?? (await a.src.servingVersion(a.service, a.version));
  const min = a.gate.args?.required_approvals ?? 1;
  if (typeof min !== 'number' || !Number.isInteger(min) || min < 1) throw configurationError(`${a.where}: args.required_approvals must be a whole number ≥ 1`);
  return { baseRef: base === null ? null : refOf(a.gate, a.service, base, a.where), min };
}

async function githubGate(a: Asked, gh: GitHubApi): Promise<CheckResult> {
  const repo = checkRepo(a.gate.args?.repo, a.where);
  const ref = refOf(a.gate, a.service, a.version, a.where);
  const commit = await gh.commitOf(repo, ref);
  if (!commit) return { ok: false, detail: `${repo} has no tag, branch or commit ${ref} (or the token cannot read it)` };
  switch (a.gate.kind) {
    case 'tests_passed':
    case 'benchmarks_ok':
      return checksGate(gh, repo, commit.sha, names(a.gate.args?.checks, `${a.where}: args.checks`, 'check'));
    case 'migrations_tested':
      return checksGate(gh, repo, commit.sha, [jobOf(a, 'GitHub')]);
    case 'review_done': {
      const { baseRef, min } = await reviewTerms(a);
      return reviewGate(gh, repo, commit.sha, ref, baseRef, min);
    }
    default:
      return notForge(a, 'GitHub');
  }
}

async function gitlabGate(a: Asked, gl: GitLabApi): Promise<CheckResult> {
  const project = checkProject(a.gate.args?.project, a.where);
  const ref = refOf(a.gate, a.service, a.version, a.where);
  const commit = await gl.commitOf(project, ref);
  if (!commit) return { ok: false, detail: `${project} has no tag, branch or commit ${ref} (no such ref or no access: the token cannot read it)` };
  switch (a.gate.kind) {
    case 'tests_passed':
    case 'benchmarks_ok':
      return pipelineGate(gl, project, commit.sha, names(a.gate.args?.jobs, `${a.where}: args.jobs`, 'job'), true);
    case 'migrations_tested':
      return pipelineGate(gl, project, commit.sha, [jobOf(a, 'GitLab')], false);
    case 'review_done': {
      const { baseRef, min } = await reviewTerms(a);
      return mergeRequestGate(gl, project, commit.sha, ref, baseRef, min);
    }
    default:
      return notForge(a, 'GitLab');
  }
}

function names(v: unknown, where: string, what: string): string[] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' || !x)) throw configurationError(`${where} must be a list of ${what} names`);
  return v as string[];
}

type Seen = { name: string; state: 'green' | 'red' | 'running' | 'skipped'; why: string; url?: string };

/** A re-run adds a run of the same name: the newest one (highest id) is the one that counts. */
function newestByName<T extends { name: string; id?: number }>(items: T[]): T[] {
  const latest = new Map<string, T>();
  for (const r of items) {
    const had = latest.get(r.name);
    if (!had || (r.id ?? 0) > (had.id ?? 0)) latest.set(r.name, r);
  }
  return [...latest.values()];
}

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

const JOB_WAITING = new Set(['created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'scheduled']);

/** A GitLab job: a failure it may have (allow_failure) is still not a pass of that job. */
function ofJob(j: Job): Seen {
  const at = { name: j.name, url: j.web_url };
  if (j.status === 'success') return { ...at, state: 'green', why: 'success' };
  if (j.status === 'skipped' || j.status === 'manual') return { ...at, state: 'skipped', why: j.status };
  if (JOB_WAITING.has(j.status)) return { ...at, state: 'running', why: j.status };
  return { ...at, state: 'red', why: j.status === 'failed' && j.allow_failure ? 'failed (allowed to fail)' : j.status };
}

const mark = (s: Seen) =>
  `${s.name} ${s.state === 'green' ? '✓' : s.state === 'running' ? `… ${s.why}` : `✗ ${s.why}`}${s.state === 'red' && s.url ? ` (${s.url})` : ''}`;

/** The required ones (absent: `absent`) or else every one that ran, the bad ones first: "n of m … green", listed. */
function tally(seen: Map<string, Seen>, required: string[] | null, noun: string, absent: string): { ok: boolean; total: number; count: string; list: string } {
  const results = required
    ? required.map((n) => seen.get(n) ?? { name: n, state: 'red' as const, why: absent })
    : [...seen.values()].filter((s) => s.state !== 'skipped');
  const bad = results.filter((s) => s.state !== 'green');
  const shown = required ? results : [...bad, ...results.filter((s) => s.state === 'green')];
  return {
    ok: bad.length === 0,
    total: results.length,
    count: `${results.length - bad.length} of ${results.length} ${required ? `required ${noun}` : noun} green`,
    list: shown.map(mark).join(', '),
  };
}

async function checksGate(gh: GitHubApi, repo: string, sha: string, required: string[] | null): Promise<CheckResult> {
  const [runs, statuses] = await Promise.all([gh.checkRuns(repo, sha), gh.statuses(repo, sha)]);
  const seen = new Map<string, Seen>();
  for (const r of newestByName(runs as Array<CheckRun & { id?: number }>)) seen.set(r.name, ofRun(r));
  for (const s of statuses) if (!seen.has(s.context)) seen.set(s.context, ofStatus(s));
  const on = `on ${repo}@${short(sha)}`;
  const t = tally(seen, required, 'checks', 'not reported');
  if (t.total === 0) return { ok: false, detail: `no check run or commit status reported ${on}: nothing says the tests passed` };
  return { ok: t.ok, detail: `${t.count} ${on}: ${t.list}` };
}

/** The commit's latest pipeline: it succeeded (when `pipelineMustPass`) and the required jobs passed in it. */
async function pipelineGate(gl: GitLabApi, project: string, sha: string, required: string[] | null, pipelineMustPass: boolean): Promise<CheckResult> {
  const on = `${project}@${short(sha)}`;
  const pipeline = await gl.latestPipeline(project, sha);
  if (!pipeline) return { ok: false, detail: `no pipeline ran on ${on}: nothing says the tests passed` };
  const seen = new Map(newestByName(await gl.jobs(project, pipeline.id)).map((j) => [j.name, ofJob(j)]));
  const t = tally(seen, required, 'jobs', 'not in the pipeline');
  const passed = pipeline.status === 'success';
  return {
    ok: t.ok && (passed || !pipelineMustPass),
    detail: `pipeline #${pipeline.id} ${pipeline.status} on ${on} (${pipeline.web_url}): ${t.count}${t.list ? `: ${t.list}` : ''}`,
  };
}

interface Reviewed {
  /** "#12" or "!12" */
  label: string;
  url: string;
  approvers: string[];
  blockers: string[];
}

/** One review_done verdict for either forge: each request's approvals, and the commits none brought. */
function reviewResult(
  f: { system: string; noun: string; at: string },
  scopeOf: { headRef: string; baseRef: string | null; between: string[] | null },
  commits: string[],
  items: Reviewed[],
  direct: string[],
  min: number,
): CheckResult {
  const { headRef, baseRef, between } = scopeOf;
  const scope = between ? `${baseRef}...${headRef}` : `${headRef} (${baseRef ? `${baseRef} is not on ${f.system}` : 'no serving version'}: its own ${f.noun})`;
  if (commits.length === 0) return { ok: false, detail: `${f.at} ${scope}: no commits between them, nothing to release` };
  let ok = direct.length === 0;
  const lines = items.map(({ label, url, approvers, blockers }) => {
    const good = approvers.length >= min && blockers.length === 0;
    ok &&= good;
    if (good) return `${label} ✓ ${approvers.join(', ')}`;
    return `${label} ✗ ${blockers.length ? `changes requested by ${blockers.join(', ')}` : `${approvers.length} of ${min} approvals`} (${url})`;
  });
  const head = `${items.length} ${f.noun}${items.length === 1 ? '' : 's'} in ${f.at} ${scope}`;
  const pushed = direct.length
    ? `; ${direct.length} commit${direct.length === 1 ? '' : 's'} without a reviewed ${f.noun}: ${direct.map(short).join(', ')}`
    : '';
  return { ok, detail: `${head}${lines.length ? `: ${lines.join(', ')}` : ''}${pushed}` };
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
  const items: Reviewed[] = [];
  for (const pr of pulls) items.push({ label: `#${pr.number}`, url: pr.html_url, ...verdictOf(pr, await gh.reviews(repo, pr.number)) });
  return reviewResult({ system: 'GitHub', noun: 'pull request', at: repo }, { headRef, baseRef, between }, commits, items, direct, min);
}

async function mergeRequestGate(gl: GitLabApi, project: string, headSha: string, headRef: string, baseRef: string | null, min: number): Promise<CheckResult> {
  const { between, commits, requests, direct } = await gl.mergedRequestsBetween(project, baseRef, headSha, MAX_COMMITS);
  const items: Reviewed[] = [];
  for (const mr of requests) items.push({ label: `!${mr.iid}`, url: mr.web_url, approvers: await gl.approvers(project, mr), blockers: [] });
  return reviewResult({ system: 'GitLab', noun: 'merge request', at: project }, { headRef, baseRef, between }, commits, items, direct, min);
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
