// Detection and rollback time of a bad release: `npm run bench:release`. Figures are printed, never asserted.
//
// The whole stack for real: the Temporal CLI dev server, the worker as a child process (tsx worker/main.ts),
// the sandbox as a child process under open-loop load. Each run releases a fresh bad version (v1.3.N-bad:
// the sandbox makes it fail 8 % of its requests) to a canary stage and waits for the automatic rollback.
//   detection = the bad version's first error served (sandbox GET /versions firstErrorAt)
//               → the workflow decides to roll back (the timeline's 'breach' entry, workflow task time)
//   rollback  = that decision → the router serves 100 % of the previous version (the change log's
//               entry that sets the bad version to 0 %)
// Per run it also shows how many guard polls it took and what each poll saw on the canary, read back
// from the sandbox's stats over the guard's own intervals (aligned at the watch start).
//
// BENCH_FLAG=1: the same for a bad feature flag instead of a bad version (`checkout_redesign_bad`: the
// sandbox fails 8 % of the requests of users who have it on), ramped to BENCH_CANARY_PCT % of users and
// judged by variant (users with the flag on against those with it off):
//   detection = the flag is on for its users (the timeline's 'shifted') → the workflow decides
//   rollback  = that decision → the flag is back as it was (the timeline's 'undone' flag entry, i.e. the
//               file provider has renamed the restored file into place)
//
// BENCH_DEPLOYER=kubernetes | alb: the same bad releases through the kubernetes deployer (an HTTPRoute on
// the local control plane) or the alb deployer (an ALB listener with ECS, in moto); rollback then ends
// when the platform's own state, read back, has the canary at 0 % (see bench/release-targets.ts).
//
// BENCH_STRATEGY=blue-green: revert time instead. Each run releases a good version (v2.0.N) blue-green:
// green prepared and smoke-checked beside blue, one switch to 100 %, then a bake of BENCH_BAKE_MIN
// minutes with blue kept warm; a second into the bake it is reverted by hand (a signed `revert` command).
//   revert = the command sent → the router serves 100 % of blue again (the sandbox change log's entry that
//            sets green to 0 %, after the command)
//   undoMs = the release result's own figure: from the stop to the last undo step done
// Sandbox deployer only; last line `summary strategy=blue-green runs=N revert_s_median=X revert_s_max=Y undo_ms_median=Z`.
//
// Settings (env): BENCH_RUNS (10), BENCH_POLL_S (2), BENCH_RPS (400), BENCH_CANARY_PCT (25), BENCH_FLAG,
// BENCH_DEPLOYER (sandbox), BENCH_STRATEGY (canary | blue-green), BENCH_BAKE_MIN (0.5, blue-green only).
// Why these: detection within one poll needs enough canary requests per poll for the guard (false-alarm
// bound 3 %) to tell 8 % errors from the 1 % limit. 200 requests a poll (16 errors expected) is caught on
// the first poll; at 1 s and 300 rps (83 a poll, 6.6 errors expected) a poll with 3–4 errors is not
// conclusive: 1 or 2 runs in 10 take a second or third poll (4 in 10 with the earlier bound of 1 %).
import '../test/support/quiet-runtime';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { localEnv } from '../test/support/temporal-env';
import { startSandboxProcess, startWorkerProcess, writeStackConfig, tempDir, bundleFile, type SandboxProcess, type Child } from '../test/support/stack';
import { loadConfig } from '../config/load';
import { Releases } from '../client/releases';
import type { ReleaseStatus, ReleaseResult } from '../contract/messages';
import { withDeployer } from '../test/support/e2e-deploy';
import { deployerKind, startTarget, type BenchTarget } from './release-targets';
import { trustNewSigner } from '../test/support/config-signer';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const POLL_S = Number(process.env.BENCH_POLL_S ?? 2);
const RPS = Number(process.env.BENCH_RPS ?? 400);
const CANARY_PCT = Number(process.env.BENCH_CANARY_PCT ?? 25);
const FLAG_MODE = process.env.BENCH_FLAG === '1';
const DEPLOYER = deployerKind(process.env.BENCH_DEPLOYER);
const STRATEGY = process.env.BENCH_STRATEGY ?? 'canary';
const BAKE_MIN = Number(process.env.BENCH_BAKE_MIN ?? 0.5);
const BASE = 'v1.2.2';
const SERVICE = 'checkout';
const FLAG = 'checkout_redesign_bad';

interface Run {
  version: string;
  status: string;
  detectionS: number;
  rollbackS: number;
  polls: number;
  perPoll: { requests: number; errors: number }[];
  breach: string;
}

interface StatsResponse {
  intervals: { from: number; to: number; versions: Record<string, { requests: number; errors: number }> }[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f2 = (x: number) => x.toFixed(2);

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** What the guard saw on the canary side (`key` in the sandbox's stats), poll by poll: the same intervals, read back. */
async function seenPerPoll(sandbox: SandboxProcess, key: string, from: number, polls: number): Promise<Run['perPoll']> {
  const params = new URLSearchParams({ from: String(from), to: String(from + Math.max(polls, 1) * POLL_S * 1000), interval_s: String(POLL_S) });
  const stats = await getJson<StatsResponse>(`${sandbox.url}/admin/services/${SERVICE}/stats?${params}`);
  return stats.intervals.map((i) => ({ requests: i.versions[key]?.requests ?? 0, errors: i.versions[key]?.errors ?? 0 }));
}

async function oneRun(rel: Releases, sandbox: SandboxProcess, target: BenchTarget, version: string): Promise<Run> {
  await rel.release({ service: SERVICE, version, requestedBy: 'bench', source: 'cli' });
  const result: ReleaseResult = await rel.result(SERVICE);
  const status: ReleaseStatus = await rel.status(SERVICE);
  const at = (event: string) => status.timeline.find((e) => e.event === event)?.at ?? null;
  const shiftedAt = at('shifted');
  // the moment it decided: the guard's breach, or (if the guard never fired) the window judge's FAIL
  const decidedAt = at('breach') ?? at('verdict FAIL');
  const v = (await sandbox.versions(SERVICE)).find((x) => x.version === version);
  const restoredAt = shiftedAt ? await target.restoredAt(version, shiftedAt) : null;
  if (!decidedAt || !shiftedAt || !v?.firstErrorAt || !restoredAt) {
    throw new Error(
      `${version}: ${result.status}, incomplete evidence (decided ${decidedAt}, first error ${v?.firstErrorAt}, restored ${restoredAt}): ${result.reason}`,
    );
  }
  const polls = status.lastVerdict?.intervals ?? 0;
  const perPoll = await seenPerPoll(sandbox, version, shiftedAt, polls);
  return {
    version,
    status: result.status,
    detectionS: (decidedAt - v.firstErrorAt) / 1000,
    rollbackS: (restoredAt - decidedAt) / 1000,
    polls,
    perPoll,
    breach: at('breach') ? 'guard' : 'window judge',
  };
}

/** One ramp of the bad flag; it did not exist before, so undo deletes it again and the next run starts clean. */
async function oneFlagRun(rel: Releases, sandbox: SandboxProcess, n: number): Promise<Run> {
  const id = `flag:${FLAG}`;
  await rel.flagRamp({ flag: FLAG, requestedBy: 'bench', source: 'cli' });
  const result: ReleaseResult = await rel.result(id);
  const status: ReleaseStatus = await rel.status(id);
  const at = (event: string, detail?: string) => status.timeline.find((e) => e.event === event && (detail === undefined || e.detail === detail))?.at ?? null;
  const shiftedAt = at('shifted');
  const decidedAt = at('breach') ?? at('verdict FAIL');
  const restoredAt = at('undone', 'flag');
  if (!decidedAt || !shiftedAt || !restoredAt) {
    throw new Error(
      `${FLAG} run ${n}: ${result.status}, incomplete evidence (on ${shiftedAt}, decided ${decidedAt}, restored ${restoredAt}): ${result.reason}`,
    );
  }
  const polls = status.lastVerdict?.intervals ?? 0;
  const perPoll = await seenPerPoll(sandbox, `flag:${FLAG}=on`, shiftedAt, polls);
  return {
    version: `${FLAG} #${n}`,
    status: result.status,
    detectionS: (decidedAt - shiftedAt) / 1000,
    rollbackS: (restoredAt - decidedAt) / 1000,
    polls,
    perPoll,
    breach: at('breach') ? 'guard' : 'window judge',
  };
}

interface RevertRun {
  version: string;
  status: string;
  revertS: number;
  undoMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function statusUntil(rel: Releases, ok: (s: ReleaseStatus) => boolean, what: string, timeoutMs = 120_000): Promise<ReleaseStatus> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await rel.status(SERVICE).catch(() => null);
    if (s && ok(s)) return s;
    if (s && s.status !== 'running') throw new Error(`${s.version} ended ${s.status} before ${what}`);
    if (Date.now() > end) throw new Error(`no ${what} in ${timeoutMs} ms (phase ${s?.phase})`);
    await sleep(50);
  }
}

/** One good blue-green release, reverted by hand a second into its bake. */
async function oneRevertRun(rel: Releases, sandbox: SandboxProcess, version: string): Promise<RevertRun> {
  await rel.release({ service: SERVICE, version, requestedBy: 'bench', source: 'cli' });
  const baking = await statusUntil(rel, (s) => s.phase === 'baking', 'bake');
  const blue = baking.previousVersion;
  const switched = await sandbox.traffic(SERVICE);
  if (switched.version !== version || switched.percent !== 100 || switched.previousVersion !== blue)
    throw new Error(`${version}: baking but the router has ${JSON.stringify(switched)}`);
  await sleep(1000);
  const sentAt = Date.now();
  const answer = await rel.command(SERVICE, 'revert', 'bench', 'bench: revert time');
  if (!answer.accepted) throw new Error(`${version}: revert refused: ${answer.message}`);
  const result: ReleaseResult = await rel.result(SERVICE);
  const back = (await sandbox.changes(SERVICE)).find((c) => c.version === version && c.percent === 0 && c.at >= sentAt);
  const now = await sandbox.traffic(SERVICE);
  if (!back || now.percent !== 0 || now.previousVersion !== blue || typeof result.undoMs !== 'number')
    throw new Error(
      `${version}: ${result.status}, incomplete evidence (back on blue ${back?.at}, router ${JSON.stringify(now)}, undoMs ${result.undoMs}): ${result.reason}`,
    );
  return { version, status: result.status, revertS: (back.at - sentAt) / 1000, undoMs: result.undoMs };
}

async function blueGreen(env: TestWorkflowEnvironment, dir: ReturnType<typeof tempDir>): Promise<void> {
  if (FLAG_MODE || DEPLOYER !== 'sandbox') throw new Error('BENCH_STRATEGY=blue-green reads the sandbox change log: no BENCH_FLAG, no BENCH_DEPLOYER');
  if (!(BAKE_MIN > 0)) throw new Error('BENCH_BAKE_MIN must be > 0: the revert is during the bake');
  let sandbox: SandboxProcess | undefined;
  let worker: Child | undefined;
  try {
    let bundle: string;
    [sandbox, bundle] = await Promise.all([startSandboxProcess({ serve: { [SERVICE]: BASE }, loadRps: RPS, loadMaxS: 3600 }), bundleFile(dir.path)]);
    const taskQueue = `bench-release-bg-${process.pid}`;
    const configFile = writeStackConfig(dir.path, {
      sandboxUrl: sandbox.url,
      address: env.address,
      taskQueue,
      pollIntervalS: POLL_S,
      minRequests: 100,
      dataDir: dir.path,
      stages: [{ traffic_percent: 100 }],
      strategy: 'blue-green',
      bakeMinutes: BAKE_MIN,
      smokeChecks: [{ name: 'health', kind: 'http', args: { url: '{endpoint}/health' } }],
    });
    // blue-green's own plan (one switch), not a rollout_plan
    const doc = JSON.parse(readFileSync(configFile, 'utf8'));
    delete doc.services[SERVICE].rollout_plan;
    doc.services[SERVICE].approvers = ['bench'];
    writeFileSync(configFile, JSON.stringify(doc));
    // commands are signed: the bench's key, trusted in the config the plan is made from
    const signer = trustNewSigner(configFile, 'bench');
    worker = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle });
    const rel = new Releases(env.client, loadConfig(configFile), taskQueue, signer);
    console.log(`bench:release (strategy blue-green, deployer sandbox)  dev server ${env.address}, sandbox ${sandbox.url}`);
    console.log(`  load ${RPS} rps, poll interval ${POLL_S} s, bake ${BAKE_MIN} min; each good release reverted by hand 1 s into its bake`);
    await sleep(2000);
    const runs: RevertRun[] = [];
    for (let n = 1; n <= RUNS; n++) {
      const r = await oneRevertRun(rel, sandbox, `v2.0.${n}`);
      runs.push(r);
      console.log(
        `  run ${String(n).padStart(2)} ${r.version.padEnd(8)} ${r.status}: revert ${f2(r.revertS)} s (command → router back on blue), undoMs ${r.undoMs}`,
      );
    }
    const rv = runs.map((r) => r.revertS);
    const undo = runs.map((r) => r.undoMs);
    console.log(`  ${runs.filter((r) => r.status === 'rolled_back').length}/${runs.length} rolled back by the revert`);
    console.log(`  revert: median ${f2(median(rv))} s, max ${f2(Math.max(...rv))} s; undoMs median ${median(undo)}, max ${Math.max(...undo)}`);
    console.log(
      `summary strategy=blue-green runs=${runs.length} revert_s_median=${f2(median(rv))} revert_s_max=${f2(Math.max(...rv))} undo_ms_median=${Math.round(median(undo))}`,
    );
  } finally {
    await worker?.stop();
    await sandbox?.stop();
  }
}

async function main() {
  if (STRATEGY !== 'canary' && STRATEGY !== 'blue-green') throw new Error(`BENCH_STRATEGY is canary or blue-green, not ${STRATEGY}`);
  const dir = tempDir('quad-bench-release-');
  let sandbox: SandboxProcess | undefined;
  let worker: Child | undefined;
  let target: BenchTarget | undefined;
  const env = await localEnv();
  if (STRATEGY === 'blue-green') {
    try {
      await blueGreen(env, dir);
    } finally {
      await env.teardown();
      dir.remove();
    }
    return;
  }
  try {
    let bundle: string;
    const flagsFile = join(dir.path, 'flags.json');
    [sandbox, bundle] = await Promise.all([
      startSandboxProcess({ serve: { [SERVICE]: BASE }, loadRps: RPS, loadMaxS: 3600, ...(FLAG_MODE ? { flagsFile } : {}) }),
      bundleFile(dir.path),
    ]);
    if (FLAG_MODE && DEPLOYER !== 'sandbox') throw new Error('BENCH_FLAG=1 ramps a flag: it takes no BENCH_DEPLOYER');
    const versions = [BASE, ...Array.from({ length: RUNS }, (_, i) => `v1.3.${i + 1}-bad`)];
    target = await startTarget(DEPLOYER, sandbox, { service: SERVICE, base: BASE, versions });
    const taskQueue = `bench-release-${process.pid}`;
    // a canary window far longer than detection: the guard, not the window's end, must catch it
    const configFile = writeStackConfig(dir.path, {
      sandboxUrl: sandbox.url,
      address: env.address,
      taskQueue,
      pollIntervalS: POLL_S,
      minRequests: 100,
      dataDir: dir.path,
      stages: [{ traffic_percent: CANARY_PCT, duration_minutes: 2 }, { traffic_percent: 100 }],
    });
    if (FLAG_MODE) {
      // writeStackConfig puts the file flag provider at <dataDir>/flags.json, the file the sandbox reads
      const doc = JSON.parse(readFileSync(configFile, 'utf8'));
      doc.flags = {
        [FLAG]: { service: SERVICE, watch: 'variants', rollout_plan: [{ users_percent: CANARY_PCT, duration_minutes: 2 }, { users_percent: 100 }] },
      };
      writeFileSync(configFile, JSON.stringify(doc));
    }
    if (target.deployer) withDeployer(configFile, target.deployer, { version_pattern: 'image-tag' });
    worker = await startWorkerProcess({ configFile, address: env.address, taskQueue, bundle, env: target.workerEnv });
    const rel = new Releases(env.client, loadConfig(configFile), taskQueue);
    const perPollCanary = (RPS * CANARY_PCT * POLL_S) / 100;
    console.log(
      `bench:release${FLAG_MODE ? ` (flag ${FLAG}, judged by variant)` : ` (deployer ${DEPLOYER})`}  dev server ${env.address}, sandbox ${sandbox.url}`,
    );
    console.log(
      `  load ${RPS} rps, ${FLAG_MODE ? 'flag on for' : 'canary'} ${CANARY_PCT} %, poll interval ${POLL_S} s → about ${perPollCanary} canary requests per poll (8 % errors ≈ ${f2(perPollCanary * 0.08)} per poll)`,
    );
    // settle: the baseline has a few intervals of history before the first release
    await new Promise((r) => setTimeout(r, 2000));
    const runs: Run[] = [];
    for (let n = 1; n <= RUNS; n++) {
      const r = FLAG_MODE ? await oneFlagRun(rel, sandbox, n) : await oneRun(rel, sandbox, target, versions[n]);
      runs.push(r);
      const seen = r.perPoll.map((p, i) => `#${i + 1} ${p.errors}/${p.requests}`).join(', ');
      console.log(
        `  run ${String(n).padStart(2)} ${r.version.padEnd(12)} ${r.status}: detection ${f2(r.detectionS)} s (${r.breach}, ${r.polls} poll${r.polls === 1 ? '' : 's'}: canary errors/requests ${seen}), rollback ${f2(r.rollbackS)} s`,
      );
    }
    const d = runs.map((r) => r.detectionS);
    const rb = runs.map((r) => r.rollbackS);
    const rolledBack = runs.filter((r) => r.status === 'rolled_back').length;
    console.log(
      `  ${rolledBack}/${runs.length} rolled back; polls to detect: median ${median(runs.map((r) => r.polls))}, max ${Math.max(...runs.map((r) => r.polls))}`,
    );
    console.log(`  detection: median ${f2(median(d))} s, max ${f2(Math.max(...d))} s (target ≤ poll + 1 s = ${POLL_S + 1} s)`);
    console.log(`  rollback:  median ${f2(median(rb))} s, max ${f2(Math.max(...rb))} s (target ≤ 1 s)`);
    console.log(
      `summary ${FLAG_MODE ? 'flag=1 ' : DEPLOYER !== 'sandbox' ? `deployer=${DEPLOYER} ` : ''}poll_s=${POLL_S} detection_s_median=${f2(median(d))} detection_s_max=${f2(Math.max(...d))} rollback_s_median=${f2(median(rb))} rollback_s_max=${f2(Math.max(...rb))}`,
    );
  } finally {
    await worker?.stop();
    await target?.stop();
    await sandbox?.stop();
    await env.teardown();
    dir.remove();
  }
}

main().catch((err) => {
  console.error(`bench:release failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
